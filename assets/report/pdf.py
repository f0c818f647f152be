"""The whole site as one PDF: ``print.html`` (every page's content after a cover, built by
:func:`assets.report.site.build_site`) printed by headless Chromium with the site's print stylesheet
(page numbers and the synthetic-data banner on every page, charts kept whole).

Offline like the site: every request that leaves the site folder is refused. Needs Playwright (the
``pdf`` extra) and a Chromium (Debian package ``chromium``); without them the error says how to get them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.errors import HtnaError

PRINT_PAGE = "print.html"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def find_chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        raise HtnaError("cannot write the PDF: no Chromium found\n  fix: install the Debian package chromium "
                        "(`make setup-browser`), or run without --pdf")
    return found


def write_site_pdf(site: Path, out: Path | None = None, timeout_ms: int = 120_000) -> Path:
    """Print ``site/print.html`` to ``out`` (default ``site/<folder name>-report.pdf``); return its path."""
    source = site / PRINT_PAGE
    if not source.is_file():
        raise HtnaError(f"cannot write the PDF: {source} not found\n  fix: build the site first (htna run)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise HtnaError("cannot write the PDF: Playwright is not installed\n  fix: install htna with its `pdf` "
                        "extra (or `make setup`), or run without --pdf") from None
    out = out or site / f"needs-assessment-{site.name}.pdf"
    prefix = site.resolve().as_uri() + "/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(prefix) else r.abort())
            page.goto(source.resolve().as_uri(), timeout=timeout_ms)
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
            page.wait_for_function("Array.from(document.querySelectorAll('.plotly-graph-div'))"
                                   ".every(d => d.querySelector('svg.main-svg'))", timeout=timeout_ms)
            page.emulate_media(media="print")
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(pdf)
    tmp.replace(out)
    return out
