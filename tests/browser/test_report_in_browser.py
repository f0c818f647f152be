"""The published report in a real headless Chromium, opened from disk with the network cut off."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, run_cli

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["index.html", "law-enforcement.html", "voices.html", "services.html", "prevalence.html", "trends.html",
         "recommendations.html", "data-quality.html", "methods.html", "glossary.html", "downloads.html"]
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


def open_offline(browser, path, width=None):
    """Open a page from file://, aborting and recording every request that leaves the site folder."""
    site = path.parent.resolve().as_uri()
    page = browser.new_page(viewport={"width": width, "height": 800}) if width else browser.new_page()
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
            # the 2015 assessment's published figures beside the recomputed ones, from the config
            from pipelines.config import load_assessment

            ctx = load_assessment().context
            published = page.locator("#cases-per-list tr.published-counts").inner_text()
            assert all(str(c.cases) in published for c in ctx.case_counts), published
            assert ctx.not_estimated.split(":")[0] in page.locator("#not-estimated").inner_text()
            assert page.locator("#counting-hard + ul li").count() == len(ctx.counting_is_hard)
            assert "child_welfare" not in page.locator("main").inner_text()
        if name == "index.html":
            # findings, prevalence beside the published range, recommendations: before any methods text
            from pipelines.config import load_assessment

            ctx = load_assessment().context
            assert 5 <= page.locator("ol.findings li").count() <= 8
            order = page.locator("main > section").evaluate_all("els => els.map(e => e.id)")
            assert order[:4] == ["findings", "prevalence-summary", "recommendations-glance", "headline"], order
            boxes = page.locator("#prevalence-summary").inner_text()
            assert f"{ctx.prevalence.likely_low}–{ctx.prevalence.likely_high}" in boxes
            assert str(ctx.prevalence.range_low) in boxes and str(ctx.prevalence.range_high) in boxes
            assert page.locator("#recommendations-glance li").count() == 7
            before = page.locator("#findings").inner_text() + boxes
            assert "Wilson" not in before and "design-based" not in before
        if name == "data-quality.html":
            # the officer and stakeholder surveys, the stakeholder and survivor interviews
            assert page.locator("#dq-status tbody tr").count() == 4
            for instrument in ("officer_survey", "stakeholder_survey"):  # a section of checks per instrument
                assert page.locator(f"#dq-checks-{instrument} tbody tr").count() > 0
                assert page.locator(f"#dq-completeness-{instrument} tbody tr").count() > 0
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


WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.mark.parametrize("width", [320, 390])
def test_no_page_scrolls_sideways_on_a_phone(browser, demo_run, width):
    """WCAG 1.4.10 reflow: at phone widths no page is wider than the screen (tables scroll in their own
    region, which says so)."""
    for name in PAGES:
        page, outside, errors = open_offline(browser, demo_run.index.parent / name, width=width)
        page.wait_for_timeout(300)  # let the charts lay out
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, (name, width, scroll)
        assert outside == [] and errors == [], (name, outside, errors)
        wide = page.locator(".table-scroll").evaluate_all(
            "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => getComputedStyle(e, '::before').content)")
        assert all("sideways" in hint for hint in wide), (name, wide)
        page.close()


def test_mode_bar_offers_png_only_and_no_button_leaves_the_machine(browser, demo_run):
    """Every mode-bar button of every chart clicked: nothing is requested outside the site folder, and
    the only button is the PNG download (no cloud, no logo)."""
    clicked = 0
    for name in PAGES:
        page, outside, errors = open_offline(browser, demo_run.index.parent / name)
        plots = page.locator("div.js-plotly-plot")
        for i in range(plots.count()):
            plot = plots.nth(i)
            plot.scroll_into_view_if_needed()
            plot.hover()
            buttons = plot.locator(".modebar-btn")
            titles = buttons.evaluate_all("els => els.map(e => e.getAttribute('data-title').toLowerCase())")
            assert titles == ["download plot as a png"], (name, i, titles)
            assert plot.locator("a.modebar-btn[href*='plot.ly'], a[href*='plotly.com']").count() == 0
            with page.expect_download() as download:
                buttons.first.click()
            assert download.value.suggested_filename.endswith(".png")
            clicked += 1
        page.wait_for_timeout(300)
        assert outside == [] and errors == [], (name, outside, errors)
        page.close()
    assert clicked >= 6


def test_every_chart_has_an_accessible_name_and_description(browser, demo_run):
    """Each drawn chart is an image named for screen readers and described by a sentence on the page;
    its other layers (tick labels, hover text) are hidden from them."""
    named = 0
    for name in PAGES:
        page, outside, errors = open_offline(browser, demo_run.index.parent / name)
        plots = page.locator("div.js-plotly-plot")
        for i in range(plots.count()):
            svgs = plots.nth(i).locator("svg.main-svg")
            first = svgs.first
            assert first.get_attribute("role") == "img", (name, i)
            label = first.get_attribute("aria-label") or ""
            assert len(label) > 10 and label != "chart", (name, i, label)
            desc = page.locator("#" + first.get_attribute("aria-describedby"))
            assert desc.count() == 1 and len(desc.inner_text()) > 30, (name, i)
            assert page.get_by_role("img", name=label).count() >= 1
            for k in range(1, svgs.count()):
                assert svgs.nth(k).get_attribute("aria-hidden") == "true", (name, i, k)
            named += 1
        page.close()
    assert named >= 6


def test_skip_link_and_map_selector_are_reached_by_keyboard(browser, demo_run):
    page, outside, errors = open_offline(browser, demo_run.index.parent / "law-enforcement.html")
    page.wait_for_selector("#county-map svg.main-svg")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "county-map-measure":
            break
    else:
        pytest.fail("the map's measure selector is not reached by Tab")
    assert page.evaluate("document.activeElement.tagName") == "SELECT"
    options = page.locator("#county-map-measure option").all_inner_texts()
    assert len(options) >= 2
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert options[1] in page.locator("#county-map-value").inner_text()
    # a tap (click) on a county writes its figures under the map, no hover needed
    shape = page.locator("#county-map .choroplethlocation").nth(3).bounding_box()
    page.mouse.click(shape["x"] + shape["width"] / 2, shape["y"] + shape["height"] / 2)
    page.wait_for_timeout(300)
    assert re.search(r"\d+% \(95% range \d+%–\d+%\)", page.locator("#county-map-value").inner_text())
    assert outside == [] and errors == []
    page.close()


def test_axe_finds_no_wcag_22_aa_violation_on_any_page(browser, demo_run):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for width in (None, 390):
        for name in PAGES:
            page, outside, errors = open_offline(browser, demo_run.index.parent / name, width=width)
            page.wait_for_timeout(300)
            assert outside == [] and errors == [], (name, outside, errors)
            result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
            violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"]]
            assert violations == [], (name, width, violations)
            page.close()


def test_run_pdf_writes_the_whole_report_with_no_near_empty_page(demo_run, tmp_path):
    """`htna run --pdf`: one PDF of every page after a cover; page numbers and the synthetic banner on
    every page; hidden table rows printed as one line per table; no page left nearly blank."""
    from pypdf import PdfReader

    for suffix in ("", ".wal"):
        if Path(f"{demo_run.warehouse}{suffix}").exists():
            shutil.copy2(f"{demo_run.warehouse}{suffix}", tmp_path / f"htna.duckdb{suffix}")
    code, out, err = run_cli(["run", "--wave", "2015", "--data", str(demo_run.data), "--warehouse",
                              str(tmp_path / "htna.duckdb"), "--output", str(tmp_path / "site"), "--pdf"])
    assert code == 0, err
    pdf = Path(re.search(r"PDF written: (.+)", out).group(1).strip())
    assert pdf.parent == tmp_path / "site" / "2015" and pdf.suffix == ".pdf"
    pages = [p.extract_text() or "" for p in PdfReader(pdf).pages]
    assert len(pages) >= 10
    banner = "Synthetic demonstration data: not findings, do not cite"
    for i, text in enumerate(pages, start=1):
        flat = text.replace("\ufb01", "fi").replace("\ufb03", "ffi")
        assert banner in flat, i
        assert f"Page {i} of {len(pages)}" in flat, i
        body = flat.replace(banner, "").replace(f"Page {i} of {len(pages)}", "")
        body = body.replace("Human Trafficking Needs Assessment", "").strip()
        assert len(body) >= 200, (i, body)  # not a near-empty page
    assert "Survey wave 2015" in pages[0] and "Contents" in pages[0]
    every = "\n".join(pages)
    for _, title in [("index.html", "Executive summary"), ("prevalence.html", "Prevalence"),
                     ("recommendations.html", "Recommendations"), ("methods.html", "Methods")]:
        assert title in every, title
    assert "of this table not printed" in every  # hidden rows: one line per table
