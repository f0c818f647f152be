"""End to end (issue #18): a wave whose export lacks one question publishes everything else.

The demo wave is synthesised, the labor-trafficking training question is removed from its
SurveyMonkey export (as a questionnaire change would), and the whole pipeline runs through the CLI:
the run succeeds and says which question is missing and how to alias it; the site and indicators.csv
mark the indicator "not collected in this wave"; every other indicator, the models of the other
outcomes and the quality checks are published as usual."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest

from tests.conftest import run_cli

QUESTION = "Please rate your agreement: My organization is adequately trained to handle labor trafficking cases."


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("partial")
    folder = root / "data" / "incoming" / "2015"
    code, _out, err = run_cli(["synth", "--wave", "2015", "--out", str(folder)])
    assert code == 0, err
    path = folder / "officer_survey.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    drop = rows[0].index(QUESTION)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([r[:drop] + r[drop + 1:] for r in rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    wh, site = root / "htna.duckdb", root / "site"
    code, out, err = run_cli(["run", "--wave", "2015", "--data", str(root / "data"), "--warehouse", str(wh),
                              "--output", str(site)])
    return code, out, err, wh, site


def test_the_wave_runs_and_says_what_is_missing(partial_run):
    code, out, err, _wh, site = partial_run
    assert code == 0, err
    assert f"Report written: {site / '2015' / 'index.html'}" in out
    assert "officer_survey.csv: not collected in this wave: trained_labor" in err and "aliases" in err


def test_only_the_indicator_needing_it_is_not_collected(partial_run):
    _code, _out, _err, wh, site = partial_run
    with duckdb.connect(str(wh), read_only=True) as con:
        table = con.execute("SELECT * FROM assessment.headline_indicators WHERE wave = '2015'").df()
        published = con.execute("SELECT * FROM assessment.published_indicators WHERE wave = '2015'").df()
        questions = con.execute("SELECT * FROM assessment.officer_survey_questions").df()
        checks = con.execute("SELECT * FROM assessment.quality_check_results WHERE wave = '2015'").df()
        cards = con.execute("SELECT * FROM assessment.model_cards WHERE wave = '2015'").df()
    assert set(questions.loc[~questions["collected"], "variable"]) == {"trained_labor"}
    gone = table[table["indicator"] == "trained_labor"]
    assert len(gone) == 2 and (~gone["collected"]).all() and gone["estimate"].isna().all()
    shown = published[published["indicator"] == "trained_labor"]
    assert len(shown) == 2 and shown["suppressed"].all()
    assert (shown["suppression_reason"] == "not collected in this wave").all()
    others = published[(published["indicator"] != "trained_labor") & published["featured"] & ~published["weighted"]]
    assert others["estimate"].notna().sum() >= 12  # the other figures publish
    assert table.loc[table["indicator"] != "trained_labor", "collected"].all()
    completeness = checks.set_index("check").loc["completeness__trained_labor"]
    assert bool(completeness["passed"]) and "not collected" in completeness["message"]
    assert not checks.loc[checks["severity"] == "blocking", "passed"].eq(False).any()  # nothing blocks the wave
    labor = cards[cards["model"].str.contains("trained_labor")]
    assert len(labor) == 2 and (~labor["reliable"]).all()
    assert cards[cards["model"] == "training_gap_model: trained_sex"]["reliable"].all()

    csv_text = (site / "2015" / "indicators.csv").read_text(encoding="utf-8")
    lines = [line for line in csv_text.splitlines() if line.startswith("2015,trained_labor,")]
    assert lines and all(line.endswith("not collected in this wave") for line in lines)
    html = (site / "2015" / "index.html").read_text(encoding="utf-8")
    assert "not collected in this wave" in html
