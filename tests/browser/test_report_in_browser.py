"""The published report in a real headless Chromium, opened from disk with the network cut off."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run `make setup-browser` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_offline(browser, path):
    """Open a page from file://, aborting and recording every request that leaves the site folder."""
    site = path.parent.resolve().as_uri()
    page = browser.new_page()
    outside, errors = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith(site + "/"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("networkidle")
    return page, outside, errors


def test_report_renders_offline_with_banner_and_chart(browser, demo_run):
    page, outside, errors = open_offline(browser, demo_run.index)
    assert outside == []
    assert errors == []
    assert page.locator("#synthetic-banner").is_visible()
    assert "Synthetic demonstration data" in page.locator("#synthetic-banner").inner_text()
    page.wait_for_selector("#headline-chart svg.main-svg")
    assert page.locator("#headline-chart .scatterlayer .point").count() > 10
    rows = page.locator("#headline-table tbody tr").count()
    assert rows >= 14
    page.close()
