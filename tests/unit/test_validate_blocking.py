"""`htna validate` runs the run's blocking quality checks (the same suites and rules) and fails on them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pipelines.config import REPO_ROOT
from tests.conftest import run_cli

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "officer_survey.csv"
QUESTION = "Do you believe human trafficking is an issue in your jurisdiction?"


def _with_blank_answers(path: Path, share: float) -> Path:
    """The demo export with the given share of respondents' answers to one question left blank."""
    rows = list(csv.reader(io.StringIO(DEMO.read_text(encoding="utf-8"), newline="")))
    col = rows[0].index(QUESTION)
    data = rows[2:]
    for r in data[: int(len(data) * share)]:
        r[col] = ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_validate_exits_non_zero_naming_a_blocking_completeness_check(tmp_path):
    bad = _with_blank_answers(tmp_path / "officer_survey.csv", 0.6)
    code, out, err = run_cli(["validate", str(bad), "--wave", "2015"])
    assert code == 1, out + err
    assert "BLOCKS: completeness" in out
    assert "Result: WOULD BE HELD BACK" in out and "completeness" in out.splitlines()[-1]
    code, out, _ = run_cli(["validate", str(bad), "--wave", "2015", "--json"])
    result = json.loads(out)
    assert code == 1 and [b["check"] for b in result["blocking"]] and \
        all(b["check"].startswith("completeness") for b in result["blocking"])


def test_validate_passes_a_file_the_run_accepts(tmp_path):
    ok = _with_blank_answers(tmp_path / "officer_survey.csv", 0.1)  # 90% answered: above the check's 50%
    code, out, err = run_cli(["validate", str(ok), "--wave", "2015"])
    assert code == 0, out + err
    assert "0 blocking check(s) would fail" in out


def test_the_run_blocks_on_the_check_validate_names(assessment, tmp_path):
    """The same file through the run's ingestion and quality stage: the same check blocks."""
    from assets.ingest.officer_responses import not_collected_in, survey_questions, to_officer_responses
    from assets.ingest.readers import read_export
    from assets.quality.stage import quality_stage

    import pandas as pd

    bad = _with_blank_answers(tmp_path / "officer_survey.csv", 0.6)
    raw = read_export(bad)
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")
    screening, _ = quality_stage(
        assessment, "2015", {"officer_responses": accepted},
        exports=pd.DataFrame({"dataset": ["officer_survey"], "rows": [raw.n_rows]}), ingest_quarantine=quarantine,
        not_collected=not_collected_in(survey_questions(report, assessment, "2015")))
    blocked = [r.check for r in screening.datasets["officer_responses"].blocking_failures()]
    code, out, _ = run_cli(["validate", str(bad), "--wave", "2015", "--json"])
    assert blocked and sorted(b["check"] for b in json.loads(out)["blocking"]) == sorted(blocked)
