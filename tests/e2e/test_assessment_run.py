"""End to end: synthetic exports → Dagster assets → DuckDB → published site, through the CLI."""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tests.conftest import run_cli


def pct(x: float) -> int:
    return math.floor(100 * x + 0.5)


def headline(demo_run, table: str = "headline_indicators"):
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        return con.execute(f"SELECT * FROM assessment.{table} WHERE wave = '2015'").df()


def test_pipeline_reproduces_every_published_2015_figure(demo_run):
    table = headline(demo_run, "published_indicators")
    unweighted = table[~table["weighted"]]
    published = unweighted[unweighted["published_2015"].notna()]
    assert len(published) == 13  # every figure the seed reports, including both county groups
    for row in published.itertuples():
        assert not row.suppressed and row.featured  # all of them through the publication gate
        assert pct(row.estimate) == pct(row.published_2015), (row.indicator, row.level, row.estimate)
        assert row.ci_low < row.estimate < row.ci_high and row.ci_method == "wilson"
    featured = unweighted[unweighted["featured"]]
    unfamiliar = featured[featured["indicator"] == "not_familiar_by_experience"].set_index("level")["estimate"]
    assert unfamiliar["10 years or less"] > unfamiliar["More than 10 years"]  # less experienced, less familiar
    wants = featured[featured["indicator"] == "wants_clear_definitions"].set_index("level")["estimate"]
    assert wants["10 years or less"] > wants["More than 10 years"]  # and want clear definitions


def test_weighted_figures_sit_beside_the_unweighted_ones(demo_run):
    internal = headline(demo_run).set_index(["indicator", "domain", "level", "weighted"])
    table = headline(demo_run, "published_indicators")
    key = ["indicator", "domain", "level"]
    w = table[table["weighted"]].set_index(key)
    u = table[~table["weighted"]].set_index(key)
    hidden_cell = w["suppression_reason"].isin(["primary", "complementary"])
    assert w.index.equals(u.index) and (hidden_cell == u["suppressed"]).all()  # a cell is hidden whole
    shown = w[~w["suppressed"]]
    assert len(shown) >= 13 and (shown["ci_method"] == "logit").all()
    assert ((shown["ci_low"] <= shown["estimate"]) & (shown["estimate"] <= shown["ci_high"])).all()
    se = internal.xs(True, level="weighted").loc[shown.index]
    assert (se["se"] > 0).all() and se["deff"].notna().all()  # computed, kept in the warehouse
    # the demo sample is close to proportional to the county headcounts: weighting moves little
    both = shown.join(u[["estimate"]], rsuffix="_unweighted")
    assert ((both["estimate"] - both["estimate_unweighted"]).abs() < 0.03).all()


def test_officer_weights_add_up_to_the_headcounts(demo_run, assessment):
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        w = con.execute("SELECT * FROM assessment.officer_weights WHERE wave = '2015'").df()
        accepted = con.execute("SELECT count(*) FROM assessment.officer_responses").fetchone()[0]
    assert len(w) == accepted and w["respondent_id"].is_unique
    assert w["weight"].sum() == pytest.approx(sum(assessment.config.officer_headcounts.by_county.values()))
    assert (w["weight"] > 0).all() and w["in_weighting"].all()
    cells = w.groupby("poststratum").agg(total=("weight", "sum"), officers=("cell_officers", "first"))
    assert np.allclose(cells["total"], cells["officers"])


def test_tables_are_in_one_duckdb_file_and_reconcile(demo_run):
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'assessment'").fetchall()}
        assert {"survey_exports", "officer_responses", "officer_responses_quarantine", "stakeholder_interviews",
                "survivor_interviews", "officer_weights", "headline_indicators", "interview_theme_counts"} <= tables
        exports = con.execute("SELECT dataset, rows, sha256 FROM assessment.survey_exports").df().set_index("dataset")
        accepted = con.execute("SELECT count(*) FROM assessment.officer_responses").fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM assessment.officer_responses_quarantine").fetchone()[0]
        n_stake = con.execute("SELECT count(*) FROM assessment.stakeholder_interviews").fetchone()[0]
        n_surv = con.execute("SELECT count(*) FROM assessment.survivor_interviews").fetchone()[0]
    assert exports.loc["officer_survey", "rows"] == 182 == accepted + quarantined
    assert re.fullmatch(r"[0-9a-f]{64}", exports.loc["officer_survey", "sha256"])
    assert (n_stake, n_surv) == (46, 18)


def test_every_instruments_checks_reconcile_and_reach_the_data_quality_page(demo_run, assessment):
    """Each survey instrument of the config (the officer and the stakeholder survey) has its checks, rows held
    back and completeness on the data-quality page, published by the gate; rows read = accepted +
    quarantined for each, and no respondent of the stakeholder export appears on the site."""
    import csv

    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        exports = con.execute("SELECT dataset, rows FROM assessment.survey_exports").df().set_index("dataset")
        summary = con.execute("SELECT * FROM assessment.stakeholder_survey_quality_summary").df()
        accepted = con.execute("SELECT count(*) FROM assessment.accepted_stakeholder_survey_responses").fetchone()[0]
        results = con.execute("SELECT * FROM assessment.stakeholder_survey_check_results").df().set_index("check")
        published = con.execute("SELECT * FROM assessment.published_quality_checks").df()
        status = con.execute("SELECT * FROM assessment.published_quality_status").df().set_index("dataset")
    stake = summary[summary["section"] == "status"].iloc[0]
    assert exports.loc["stakeholder_survey", "rows"] == stake["rows_read"] == accepted + stake["quarantined"]
    assert results.loc["reconciliation", "passed"] and stake["dataset"] == "stakeholder_survey_responses"
    assert status.loc["stakeholder_survey_responses", "accepted"] == accepted
    page = (demo_run.output / "2015" / "data-quality.html").read_text(encoding="utf-8")
    for inst in assessment.instruments:  # a section per instrument, its rows those the gate published
        table = page.split(f'id="dq-checks-{inst.id}"', 1)[1].split("</table>", 1)[0]
        assert f"Checks: {inst.label}" in page
        assert table.count("<tr>") - 1 == (published["dataset"] == inst.expectations).sum() > 0
        assert f'id="dq-completeness-{inst.id}"' in page
    with open(demo_run.data / "incoming" / "2015" / "stakeholder_survey.csv", encoding="utf-8-sig") as f:
        ids = [r[0] for r in list(csv.reader(f))[2:]]
    site = published_text(demo_run.output)
    assert ids and not [i for i in ids if i in site]


def test_rerunning_a_wave_replaces_it_without_duplicates(demo_run):
    before = headline(demo_run)
    # --full: every asset again (unchanged ones would be skipped: tests/e2e/test_incremental_runs.py)
    code, out, err = run_cli(["run", "--wave", "2015", "--full", "--data", str(demo_run.data), "--warehouse",
                              str(demo_run.warehouse), "--output", str(demo_run.output)])
    assert code == 0, err
    after = headline(demo_run)
    assert len(after) == len(before)
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM assessment.officer_responses").fetchone()[0] == 182


def published_text(site: Path) -> str:
    """Every text of the published site: pages, CSV, scripts, and every part of every XLSX workbook."""
    import zipfile

    parts = []
    for p in sorted(site.rglob("*")):
        if not p.is_file() or p.name == "plotly.min.js":
            continue
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        else:
            parts.append(p.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def test_report_has_banner_provenance_and_no_respondent_data(demo_run):
    from assets.ingest.surveymonkey import read_surveymonkey_csv

    html = demo_run.index.read_text(encoding="utf-8")
    assert "Synthetic demonstration data." in html
    raw = read_surveymonkey_csv(demo_run.data / "incoming" / "2015" / "officer_survey.csv")
    sha = next(r for r in raw.rows)  # noqa: F841 - the export is readable
    site_text = published_text(demo_run.output)
    ids = [r[raw.ids["respondent_id"]] for r in raw.rows]
    assert not [i for i in ids if i in site_text]
    comment_q = next(c for c in raw.columns if c.subheader == "Open-Ended Response")
    comments = {r[comment_q.position] for r in raw.rows if r[comment_q.position].strip()}
    assert comments and not [c for c in comments if c in site_text]
    # the comments are shown as coded themes (law enforcement), with the coding's quality (data quality)
    pages = demo_run.output / "2015"
    law = (pages / "law-enforcement.html").read_text(encoding="utf-8")
    assert 'id="open-ended"' in law and "Officers raising it" in law and "coded by" not in law
    quality = (pages / "data-quality.html").read_text(encoding="utf-8")
    assert 'id="rule-precision"' in quality and "Agreement between two coders: stakeholder interviews" in quality
    assert "Cohen&#39;s kappa" in quality or "Cohen's kappa" in quality
    ips = {r[raw.ids["ip_address"]] for r in raw.rows}
    assert not [ip for ip in ips if ip in site_text]
    # the provider inventory's organisation names stay in the warehouse: the site shows counts only
    import csv

    with open(demo_run.data / "incoming" / "2015" / "provider_inventory.csv", encoding="utf-8") as f:
        providers = {r["provider"] for r in csv.DictReader(f) if r["provider"].strip()}
    assert providers and not [p for p in providers if p in site_text]
    # provenance: the exact export hash and a code version
    import hashlib

    digest = hashlib.sha256((demo_run.data / "incoming" / "2015" / "officer_survey.csv").read_bytes()).hexdigest()
    assert digest in html
    assert re.search(r"Code version</dt><dd>(git [0-9a-f]{12}|htna )", html)


def test_report_loads_nothing_from_other_hosts(demo_run):
    pages = sorted((demo_run.output / "2015").glob("*.html"))
    assert {p.name for p in pages} == {"index.html", "law-enforcement.html", "voices.html", "services.html",
                                       "prevalence.html", "trends.html", "recommendations.html",
                                       "data-quality.html", "methods.html", "glossary.html", "downloads.html",
                                       "print.html"}
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for attr in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", attr), (page.name, attr)
        assert "Synthetic demonstration data." in html, page.name  # the banner on every page
    assert (demo_run.output / "2015" / "static" / "plotly.min.js").stat().st_size > 1_000_000


def test_report_site_under_8_mb(demo_run):
    total = sum(p.stat().st_size for p in (demo_run.output / "2015").rglob("*") if p.is_file())
    assert total < 8 * 1024 * 1024, total


def test_report_prints_no_small_counts_on_the_new_pages(demo_run):
    """Counts on the prevalence page come from the gate's tables: any below the minimum shows as hidden."""
    import duckdb

    from pipelines.config import REPO_ROOT, load_assessment

    minimum = load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml").min_cell_count
    html = (demo_run.output / "2015" / "prevalence.html").read_text(encoding="utf-8")
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        overlap = con.execute("SELECT count, publishable FROM assessment.case_list_overlap").df()
    cells = re.findall(r'<td>(\d+|hidden)</td></tr>', html.split('id="overlap-table"')[1].split("</table>")[0])
    assert len(cells) == len(overlap)
    for shown, (count, ok) in zip(cells, overlap.itertuples(index=False)):
        if 0 < count < minimum:
            assert shown == "hidden"
        else:  # a count of none or of enough people is shown, or hidden as a complement of a small one
            assert shown in (str(count), "hidden")
    assert any(c != "hidden" for c in cells)


def test_indicators_csv_schema(demo_run):
    import pandas as pd

    from assets.publication.indicators import PUBLISHED_INDICATOR_COLUMNS
    from pipelines.config import REPO_ROOT

    csv = pd.read_csv(demo_run.output / "2015" / "indicators.csv")
    assert {"indicator", "domain", "level", "n", "estimate", "ci_low", "ci_high", "suppressed"} <= set(csv.columns)
    assert list(csv.columns) == PUBLISHED_INDICATOR_COLUMNS
    assert len(csv) == len(headline(demo_run))
    # every documented column is in the schema document, and nothing below the minimum is shown
    doc = (REPO_ROOT / "reports" / "indicators_schema.md").read_text(encoding="utf-8")
    assert all(f"`{c}`" in doc for c in csv.columns)
    shown = csv[~csv["suppressed"]]
    assert (shown["n"] >= 6).all() and (shown["successes"] >= 6).all() and ((shown["n"] - shown["successes"]) >= 6).all()
    assert csv.loc[csv["suppressed"], ["n", "successes", "estimate", "ci_low", "ci_high"]].isna().all().all()


def test_bad_data_folder_is_a_clear_error_not_a_traceback(tmp_path):
    code, out, err = run_cli(["run", "--wave", "2015", "--data", str(tmp_path / "nowhere"),
                              "--warehouse", str(tmp_path / "w.duckdb"), "--output", str(tmp_path / "o")])
    assert code == 1
    assert "no folder of exports for wave 2015" in err and "fix:" in err
    assert "Traceback" not in err + out


def test_a_warehouse_that_cannot_be_opened_is_a_clear_error_not_a_traceback(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the warehouse's folder should be")
    code, out, err = run_cli(["run", "--wave", "2015", "--warehouse", str(blocker / "htna.duckdb"),
                              "--output", str(tmp_path / "site")])
    assert code == 1
    assert "Traceback" not in err
    assert f"{blocker / 'htna.duckdb'}: cannot be opened" in err and "fix:" in err


def test_malformed_export_names_file_and_row(tmp_path, demo_run):
    folder = tmp_path / "data" / "incoming" / "2015"
    folder.mkdir(parents=True)
    good = (demo_run.data / "incoming" / "2015" / "officer_survey.csv").read_text(encoding="utf-8").splitlines()
    good[6] = good[6] + ",extra,cells"
    (folder / "officer_survey.csv").write_text("\n".join(good) + "\n", encoding="utf-8")
    for name in ("stakeholder_interviews.csv", "survivor_interviews.csv"):  # the wave's other required inputs
        (folder / name).write_bytes((demo_run.data / "incoming" / "2015" / name).read_bytes())
    code, out, err = run_cli(["run", "--wave", "2015", "--data", str(tmp_path / "data"),
                              "--warehouse", str(tmp_path / "w.duckdb"), "--output", str(tmp_path / "o")])
    assert code == 1
    assert "officer_survey.csv (row 7)" in err
    assert "Traceback" not in err + out


def test_unknown_wave_is_refused(tmp_path):
    code, out, err = run_cli(["run", "--wave", "1999", "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 1 and "wave 1999 is not in" in err


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["synth", "--help"]])
def test_help(args):
    code, out, _ = run_cli(args)
    assert code == 0 and "usage: htna" in out
