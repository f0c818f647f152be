"""The published report in a real headless Chromium, opened from disk with the network cut off."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import CHROMIUM, run_cli

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["index.html", "law-enforcement.html", "prevalence.html", "data-quality.html", "methods.html"]
PAYLOAD = "<script>window.__htnaPwned = 1</script><img src=x onerror=\"window.__htnaPwned = 2\">"


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


def test_every_page_offline_with_nav_banner_and_charts(browser, demo_run):
    """Every page: no request outside the site folder, no console error, the banner, the shared
    navigation to every page, and every Plotly chart drawn (its SVG present)."""
    site = demo_run.index.parent
    charts_seen = 0
    for name in PAGES:
        page, outside, errors = open_offline(browser, site / name)
        assert outside == [], (name, outside)
        assert errors == [], (name, errors)
        assert page.locator("#synthetic-banner").is_visible(), name
        hrefs = page.locator("nav.site-nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert hrefs == PAGES, name
        assert page.locator("nav.site-nav a[aria-current=page]").get_attribute("href") == name
        plots = page.locator("div.js-plotly-plot")
        for i in range(plots.count()):
            assert plots.nth(i).locator("svg.main-svg").count() > 0, (name, i)
        charts_seen += plots.count()
        if name == "law-enforcement.html":
            assert plots.count() >= 1
            assert page.locator("table.county-table").first.locator("tbody tr").count() == 16
        if name == "prevalence.html":
            assert page.locator("#prevalence-chart svg.main-svg").count() > 0
            assert page.locator("#sensitivity-table tbody tr").count() > 0
        if name == "data-quality.html":
            assert page.locator("#dq-status tbody tr").count() == 3
            assert page.locator("#dq-completeness tbody tr").count() > 0
        if name == "methods.html":
            assert page.locator("#synthetic-explained").count() == 1
        page.close()
    assert charts_seen >= 3
    # plotly.js is shipped once, referenced by every page, inlined in none
    assert len(list(site.rglob("plotly*.js"))) == 1
    for name in PAGES:
        html = (site / name).read_text(encoding="utf-8")
        assert '<script src="static/plotly.min.js"></script>' in html
        assert len(html) < 1_000_000, name


@pytest.fixture(scope="module")
def planted_site(demo_run, tmp_path_factory):
    """The demo wave rebuilt with a config whose theme label carries a script payload."""
    from pipelines.config import REPO_ROOT

    root = tmp_path_factory.mktemp("xss")
    config = root / "config"
    shutil.copytree(REPO_ROOT / "config" / "maine", config)
    frames = config / "interview_frames.yaml"
    text = frames.read_text(encoding="utf-8")
    planted = "'Housing " + PAYLOAD.replace("'", "''") + "'"
    text, n = re.subn(r"label: Housing,", f"label: {planted},", text, count=1)
    assert n == 1
    frames.write_text(text, encoding="utf-8")
    output = root / "site"
    code, out, err = run_cli(["run", "--wave", "2015", "--config", str(config / "assessment.yaml"),
                              "--data", str(demo_run.data), "--warehouse", str(root / "htna.duckdb"),
                              "--output", str(output)])
    assert code == 0, err
    return output / "2015"


def test_script_planted_in_theme_label_does_not_execute(browser, planted_site):
    page, outside, errors = open_offline(browser, planted_site / "index.html")
    assert page.evaluate("window.__htnaPwned") is None
    assert outside == []
    assert errors == []
    assert PAYLOAD in page.locator("#voices").inner_text()  # shown as text, escaped
    assert "&lt;script&gt;window.__htnaPwned" in (planted_site / "index.html").read_text(encoding="utf-8")
    page.close()
