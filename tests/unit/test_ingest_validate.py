"""`htna validate`: what an evaluator sees before loading, and the new-user story of a drifted questionnaire."""

from __future__ import annotations

import json

import pytest
import yaml

from assets.ingest.layouts import qualtrics_rows, write_layout
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from assets.ingest.validate import load_codebook, with_codebook
from pipelines.cli import main
from pipelines.config import REPO_ROOT
from tests.conftest import run_cli

REWORDED = "Which gender do you identify with?"
ADDED = "How many sworn officers work in your agency?"


@pytest.fixture(scope="module")
def answers(assessment):
    from assets.ingest.synthetic import generate_officer_answers

    # 120 officers: enough that the run's quality checks pass (40 left one multi-select question 94% blank,
    # which the run holds back and `htna validate` now says so)
    return generate_officer_answers(assessment, "2017", 4, 120)


@pytest.fixture()
def drifted_export(assessment, answers, tmp_path):
    """A Qualtrics export of this year's survey: the gender question reworded, one question added."""
    import csv

    rows = qualtrics_rows(assessment, answers)
    gender = assessment.codebook.variables.index(next(v for v in assessment.codebook.variables if v.name == "gender"))
    col = rows[0].index(f"Q{gender + 1}")
    rows[1][col] = REWORDED
    rows[0].append("Q99")
    rows[1].append(ADDED)
    rows[2].append('{"ImportId":"QID99"}')
    for r in rows[3:]:
        r.append("12")
    path = tmp_path / "officer_survey.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _json(capsys, *args):
    code = main(["validate", *map(str, args), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_new_user_drifted_questionnaire(drifted_export, capsys, tmp_path, assessment, answers):
    # 1. validate against the codebook as shipped: it loads, and says which question did not fit
    code, result = _json(capsys, drifted_export)
    assert code == 0 and result["ok"] and result["warnings"] and result["blocking"] == []
    assert result["format"] == "Qualtrics (3 header rows) CSV" and result["encoding"] == "UTF-8 with BOM"
    assert result["missing_variables"] == ["gender"]
    assert any(REWORDED in q for q in result["unmatched_questions"])
    assert any(ADDED in q for q in result["unmatched_questions"])
    assert result["respondents"] == 120 and result["would_accept"] == 120
    main(["validate", str(drifted_export)])
    text = capsys.readouterr().out
    assert "Codebook variables missing from the export (not collected in this wave) (1):" in text and "  - gender" in text
    assert REWORDED in text and ADDED in text and "aliases" in text  # the hint says what to do
    # --strict makes warnings fail
    assert main(["validate", str(drifted_export), "--strict"]) == 1
    capsys.readouterr()

    # 2. add the new wording as one alias in a copy of the codebook
    codebook = yaml.safe_load((REPO_ROOT / "config" / "maine" / "officer_codebook.yaml").read_text())
    gender = next(v for v in codebook["variables"] if v["name"] == "gender")
    gender.setdefault("aliases", []).append(REWORDED)
    copy = tmp_path / "officer_codebook.yaml"
    copy.write_text(yaml.safe_dump(codebook, sort_keys=False))
    code, result = _json(capsys, drifted_export, "--codebook", copy)
    assert code == 0
    assert result["missing_variables"] == []
    assert result["matched"]["gender"] == f"alias {REWORDED!r}"
    assert [q for q in result["unmatched_questions"]] == [f"Q99: {ADDED}"]

    # 3. and it loads, with the answers of the reworded question kept
    patched = with_codebook(assessment, load_codebook(copy))
    accepted, _q, report = to_officer_responses(read_export(drifted_export), patched, "2017")
    assert report.reconciles() and list(accepted["gender"]) == list(answers["gender"])


def test_validate_reports_quarantine_and_value_problems(assessment, answers, tmp_path, capsys):
    path = write_layout("qualtrics_csv", assessment, answers, tmp_path / "q.csv")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[4] = lines[4].replace("IP Address", "Survey Preview", 1)
    lines[5] = lines[5].replace(answers["county"][2], "Atlantis", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, result = _json(capsys, path)
    assert code == 0
    assert result["would_quarantine"] == {"preview response": 1} and result["would_accept"] == 119
    assert result["unplaced_counties"] == 1 and any("Atlantis" in p for p in result["value_problems"])


def test_validate_format_override_and_errors(assessment, answers, tmp_path, capsys):
    path = write_layout("surveymonkey_csv", assessment, answers, tmp_path / "sm.csv")
    code, result = _json(capsys, path, "--format", "surveymonkey")
    assert code == 0 and result["format"] == "SurveyMonkey CSV"
    code, result = _json(capsys, path, "--format", "spss")
    assert code == 1 and not result["ok"] and "spss" in result["error"]
    code, result = _json(capsys, tmp_path / "missing.csv")
    assert code == 1 and "file not found" in result["error"]
    bad = tmp_path / "bad_codebook.yaml"
    bad.write_text("survey: x\n")
    assert main(["validate", str(path), "--codebook", str(bad)]) == 1  # a ConfigError: message, exit 1
    assert "invalid configuration" in capsys.readouterr().err


def test_validate_as_a_user_runs_it(assessment, answers, tmp_path, capsys):
    good = write_layout("spss", assessment, answers, tmp_path / "wave.sav")
    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Format: SPSS SAV" in out and "Result: OK" in out
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x00\x01garbage")
    code, out, err = run_cli(["validate", str(bad), "--json"])
    assert code == 1 and json.loads(out)["ok"] is False and "Traceback" not in err


def test_validate_shows_layout_columns_and_codes_whatever_fails(assessment, answers, tmp_path, capsys):
    """Issue #18: with the county question not found, validate still names the layout, the platform,
    the matched and unmatched columns with their text and the codes seen; every message names the file."""
    import csv

    rows = qualtrics_rows(assessment, answers)
    col = rows[0].index("Q1")
    rows[1][col] = "Where is your department?"  # the county question reworded: not found
    path = tmp_path / "officer_survey.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    code, result = _json(capsys, path)
    assert code == 1 and not result["ok"] and str(path) in result["error"] and "county" in result["error"]
    assert result["format"] == "Qualtrics (3 header rows) CSV" and result["platform"] == "Qualtrics"
    assert "Q1: Where is your department?" in result["unmatched_questions"]
    assert result["matched_columns"]["gender"].startswith("Q3: What is your gender?")
    assert result["respondent_id_column"] == "column 'ResponseId'"
    main(["validate", str(path)])
    text = capsys.readouterr().out
    assert "platform: Qualtrics" in text and "Where is your department?" in text and "Result: CANNOT LOAD" in text

    # REDCap raw codes without the data dictionary: the codes seen per column, and the fix
    raw_path = tmp_path / "redcap" / "officer_survey.csv"
    write_layout("redcap_raw", assessment, answers, raw_path)
    (raw_path.parent / "officer_survey_DataDictionary.csv").unlink()
    code, result = _json(capsys, raw_path)
    assert code == 1 and "numeric codes" in result["error"] and result["layout"] == "redcap"
    gender = next(c for c in result["codes"] if c["variable"] == "gender")
    assert gender["codes_seen"] == ["1", "2", "3"][:len(gender["codes_seen"])] and gender["declared"] == []

    # SPSS: the format is named in JSON too
    sav = write_layout("spss", assessment, answers, tmp_path / "wave.sav")
    code, result = _json(capsys, sav)
    assert code == 0 and result["format"] == "SPSS SAV" and result["layout"] == "spss"
    assert all(c["declared_by"] == "SPSS value labels" for c in result["codes"])


# --------------------------------------------------------------------------- every instrument's export

STAKEHOLDERS = REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "stakeholder_survey.csv"
SECTOR_Q = "Which of the following best describes the sector you work in?"


def _stakeholder_rows() -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(STAKEHOLDERS.read_text(encoding="utf-8-sig"), newline="")))


def _write(rows, path):
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return path


def _respondent_values(rows) -> set[str]:
    """Every respondent id and every free-text answer of a SurveyMonkey export (what no message may hold)."""
    texts = [i for i, sub in enumerate(rows[1]) if sub == "Open-Ended Response"]
    return {r[0] for r in rows[2:]} | {r[i] for r in rows[2:] for i in texts if len(r[i]) > 12}


def test_a_stakeholder_export_is_checked_against_the_stakeholder_codebook_and_suite(assessment):
    from assets.ingest.validate import validate_export

    result = validate_export(STAKEHOLDERS, assessment, wave="2015")
    assert (result.instrument, result.ok, result.error, result.would_block) == ("stakeholder_survey", True, None, False)
    assert result.respondents == 120 and "sector" in result.matched and "rank" not in result.matched
    # the stakeholder suite was run (its own checks: the officer suite has no sector answers check)
    assert result.checks_run > 0 and "Instrument: Stakeholder survey (stakeholder_survey)" in result.render()


def test_a_stakeholder_export_missing_a_required_column_fails_with_its_position(assessment, tmp_path):
    from assets.ingest.validate import validate_export

    rows = _stakeholder_rows()
    at = rows[0].index(SECTOR_Q)
    path = _write([r[:at] + r[at + 1:] for r in rows], tmp_path / "stakeholder_survey.csv")
    result = validate_export(path, assessment, wave="2015")
    assert result.instrument == "stakeholder_survey" and not result.ok
    assert result.error.startswith(f"{path} (row 1): required question not found") and "(sector)" in result.error
    assert "fix: " in result.error and "Result: CANNOT LOAD" in result.render()
    text = result.render() + json.dumps(result.to_dict())
    assert not [v for v in _respondent_values(rows) if v in text]


def test_a_stakeholder_column_of_undeclared_codes_fails_naming_file_column_and_fix(assessment, tmp_path):
    from assets.ingest.validate import validate_export

    rows = _stakeholder_rows()
    at = rows[0].index(SECTOR_Q)
    cb = assessment.for_instrument("stakeholder_survey").codebook
    sectors = next(v for v in cb.variables if v.name == "sector").options
    coded = [r[:at] + [str(sectors.index(r[at]) + 1) if r[at] in sectors else r[at]] + r[at + 1:] for r in rows[2:]]
    path = _write(rows[:2] + coded, tmp_path / "stakeholder_survey.csv")
    result = validate_export(path, assessment, wave="2015")
    assert not result.ok and result.error.startswith(str(path))
    assert "sector" in result.error and "nothing declares what they mean" in result.error and "fix: " in result.error
    assert not [v for v in _respondent_values(rows) if v in result.render() + json.dumps(result.to_dict())]
    # one stray code: that row is quarantined, and the warning names its row and question
    one = [list(r) for r in rows]
    one[7][at] = "7"
    result = validate_export(_write(one, tmp_path / "stakeholder_survey.csv"), assessment, wave="2015")
    assert result.ok and result.would_accept == 119 and sum(result.would_quarantine.values()) == 1
    assert result.value_problems == ["sector: 1 answer(s) is a code with no declared meaning, quarantined (row 8)"]


def test_validate_checks_every_instruments_export_in_a_wave_folder(tmp_path):
    import shutil

    folder = tmp_path / "2015"
    folder.mkdir()
    shutil.copy(STAKEHOLDERS.parent / "officer_survey.csv", folder)
    rows = _stakeholder_rows()
    at = rows[0].index(SECTOR_Q)
    _write([r[:at] + r[at + 1:] for r in rows], folder / "stakeholder_survey.csv")
    code, out, err = run_cli(["validate", str(folder), "--json"])
    assert code == 1, err  # the stakeholder export cannot be loaded: the folder fails
    results = json.loads(out)
    assert [(r["instrument"], r["ok"], r["wave"]) for r in results] == [
        ("officer_survey", True, "2015"), ("stakeholder_survey", False, "2015")]
    assert results[1]["file"].endswith("stakeholder_survey.csv") and "(row 1)" in results[1]["error"]
    assert not [v for v in _respondent_values(rows) if v in out + err]
    # the good stakeholder export passes, read as the stakeholder survey's by its name or by --instrument
    shutil.copy(STAKEHOLDERS, folder / "stakeholder_survey.csv")
    code, out, err = run_cli(["validate", str(folder)])
    assert code == 0, out + err
    assert out.count("Result: OK") == 2 and "Instrument: Stakeholder survey (stakeholder_survey)" in out
    # another officer codebook (--codebook) leaves the stakeholder survey's own in place
    code, out, err = run_cli(["validate", str(folder), "--codebook",
                              str(REPO_ROOT / "config" / "maine" / "officer_codebook.yaml")])
    assert code == 0 and out.count("Result: OK") == 2, out + err
    shutil.copy(STAKEHOLDERS, tmp_path / "export.csv")
    code, out, _ = run_cli(["validate", str(tmp_path / "export.csv"), "--instrument", "stakeholder_survey",
                            "--wave", "2015"])
    assert code == 0 and "Instrument: Stakeholder survey" in out and "Result: OK" in out
