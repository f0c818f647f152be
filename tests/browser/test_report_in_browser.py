"""The published report in a real headless Chromium, opened from disk with the network cut off."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import CHROMIUM, run_cli

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["index.html", "law-enforcement.html", "voices.html", "services.html", "prevalence.html", "trends.html",
         "recommendations.html", "data-quality.html", "methods.html", "downloads.html"]
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
            rows = page.locator("table.county-table").first.locator("tbody tr th").all_text_contents()
            # counties whose own figure is published, then the others of each group combined (the gate)
            assert len(rows) >= 2 and any(r.startswith("Other counties of") for r in rows), rows
            assert page.locator("#county-map .choroplethlocation").count() == 16
        if name == "voices.html":
            assert page.locator("[data-chart^=voices-chart] svg.main-svg").count() >= 2
        if name == "services.html":
            assert page.locator("#services-chart svg.main-svg").count() > 0
            assert page.locator("#coverage-table tbody tr").count() == 16
        if name == "recommendations.html":
            assert page.locator("article.recommendation").count() == 7
        if name == "downloads.html":
            assert page.locator("a[href='needs-assessment-tables.xlsx']").count() == 1
            assert page.locator("a[href='indicators.csv']").count() == 1
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
    # plotly.js is shipped once, loaded (deferred) by the pages that draw a chart only, inlined in none
    assert len(list(site.rglob("plotly*.js"))) == 1
    for name in PAGES:
        html = (site / name).read_text(encoding="utf-8")
        has_chart = 'class="plotly-graph-div' in html
        assert ('<script defer src="static/plotly.min.js"></script>' in html) == has_chart, name
        assert "plotly.min.js" in html or not has_chart, name
        assert len(html) < 1_000_000, name
    assert "plotly.min.js" not in (site / "downloads.html").read_text(encoding="utf-8")


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
    page.close()
    for name in ("voices.html", "recommendations.html"):
        page, outside, errors = open_offline(browser, planted_site / name)
        page.wait_for_timeout(500)  # let every chart draw its labels
        assert page.evaluate("window.__htnaPwned") is None, name
        assert outside == [] and errors == [], (name, outside, errors)
        assert PAYLOAD in page.locator("main").inner_text(), name  # shown as text, escaped
        assert "&lt;script&gt;window.__htnaPwned" in (planted_site / name).read_text(encoding="utf-8")
        page.close()


def test_county_map_shows_16_counties_and_their_values_on_hover(browser, demo_run):
    """The map draws every county from the shipped geometry, offline, and hovering a county shows its
    name and its estimated share."""
    from pipelines.config import REPO_ROOT, load_assessment

    counties = load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml").county_names
    page, outside, errors = open_offline(browser, demo_run.index.parent / "law-enforcement.html")
    assert outside == [] and errors == []
    page.wait_for_selector("#county-map svg.main-svg")
    shapes = page.locator("#county-map .choroplethlocation")
    assert shapes.count() == 16
    page.locator("#county-map").scroll_into_view_if_needed()
    seen = {}
    for i in range(shapes.count()):
        shapes.nth(i).hover(force=True)
        page.wait_for_timeout(150)
        text = page.locator("#county-map .hoverlayer").text_content() or ""
        name = next((c for c in counties if text.startswith(c)), None)
        if name:
            assert re.search(r"share \d+% \(95% range \d+%–\d+%\)", text), text
            seen[name] = text
    assert len(seen) >= 10, seen  # the centre of a few counties' boxes lies in a neighbour
    # the menu (a <select> above the map) switches the mapped measure: the hover text follows
    first = next(iter(seen.values()))
    page.locator("#county-map-measure").select_option(index=1)
    page.wait_for_timeout(300)
    shapes.nth(0).hover(force=True)
    page.wait_for_timeout(150)
    assert (page.locator("#county-map .hoverlayer").text_content() or "").split("share")[0] != first.split("share")[0]
    assert outside == []
    page.close()


def test_two_wave_site_shows_trends_changes_and_recommendation_directions(browser, two_waves):
    site = two_waves.index.parent
    page, outside, errors = open_offline(browser, site / "trends.html")
    assert outside == [] and errors == []
    page.wait_for_selector("#trend-chart svg.main-svg")
    header = page.locator("#trend-table thead th").all_inner_texts()
    assert "2015" in header and "2016" in header
    assert page.locator("#trend-table tbody tr").count() >= 10
    assert page.locator("#trend-table .direction").count() >= 10
    page.close()
    page, outside, errors = open_offline(browser, site / "index.html")
    assert outside == [] and errors == []
    assert "Change since 2015" in page.locator("#headline-table thead").inner_text()
    assert page.locator("#headline-table td.change .direction").count() >= 10
    page.close()
    page, outside, errors = open_offline(browser, site / "recommendations.html")
    statuses = page.locator("article.recommendation .progress").all_inner_texts()
    assert statuses and set(statuses) <= {"improved", "worsened", "no clear change", "hidden this wave"}
    page.close()


def test_print_stylesheet_hides_navigation_and_keeps_the_banner(browser, demo_run):
    page, outside, errors = open_offline(browser, demo_run.index.parent / "recommendations.html")
    page.emulate_media(media="print")
    assert not page.locator("nav.site-nav").is_visible()
    assert page.locator("#synthetic-banner").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
    page.close()
