"""Issue #18's equality test: every layout the platforms export, written as their documentation
describes (tests/fixtures/exports/platforms/, sources in its README), reads to exactly the same
answers of the same respondents (``expected.csv``), with the platforms' own answer codes — never
positions — declared by the export's metadata or, where the platform writes none, by the codebook."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from pipelines.errors import InputError
from tests.fixtures.exports.make_platform_fixtures import CODES_IN_CODEBOOK, PLATFORM_ONLY, declared_assessment

PLATFORMS = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "platforms"
LAYOUTS = {  # fixture folder -> (layout detected, container, what declares the codes)
    "surveymonkey_expanded_csv": ("surveymonkey", "csv", None),
    "surveymonkey_expanded_xlsx": ("surveymonkey", "xlsx", None),
    "surveymonkey_condensed_csv": ("surveymonkey", "csv", None),
    "surveymonkey_numeric_csv": ("surveymonkey", "csv", "the codebook"),
    "surveymonkey_respondentid_csv": ("surveymonkey_legacy", "csv", None),
    "qualtrics_choice_text_csv": ("qualtrics", "csv", None),
    "qualtrics_numeric_csv": ("qualtrics", "csv", "Qualtrics survey file officer_survey.qsf"),
    "qualtrics_matrix_tsv": ("qualtrics", "tsv", None),
    "qualtrics_2016_csv": ("qualtrics", "csv", None),
    "qualtrics_legacy_csv": ("qualtrics_legacy", "csv", None),
    "redcap_raw_csv": ("redcap", "csv", "REDCap data dictionary officer_survey_DataDictionary.csv"),
    "redcap_labels_csv": ("redcap_labels", "csv", None),
    "redcap_longitudinal_csv": ("redcap", "csv", "REDCap data dictionary officer_survey_DataDictionary.csv"),
    "spss_value_labels": ("spss", "sav", "SPSS value labels"),
    "spss_without_value_labels": ("spss", "sav", "the codebook"),
    "plain_csv": ("plain", "csv", None),
}


def _export(folder: str) -> Path:
    return next((PLATFORMS / folder).glob("officer_survey.*[!qf]")) if folder != "qualtrics_numeric_csv" \
        else PLATFORMS / folder / "officer_survey.csv"


def _read(folder: str, assessment):
    used = declared_assessment(assessment) if folder in CODES_IN_CODEBOOK else assessment
    return to_officer_responses(read_export(_export(folder)), used, "2016")


def test_every_documented_layout_has_a_fixture():
    assert sorted(p.name for p in PLATFORMS.iterdir() if p.is_dir()) == sorted(LAYOUTS)


@pytest.mark.parametrize("folder", sorted(LAYOUTS))
def test_layout_reads_to_the_same_answers_of_the_same_respondents(folder, assessment):
    layout, container, declared_by = LAYOUTS[folder]
    raw = read_export(_export(folder))
    assert (raw.format, raw.container) == (layout, container)
    accepted, quarantine, report = _read(folder, assessment)
    assert report.reconciles() and not report.missing_variables and not report.not_collected
    expected = pd.read_csv(PLATFORMS / "expected.csv", dtype=str, keep_default_na=False)
    got = accepted.drop(columns=list(PLATFORM_ONLY)).reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    got = got.astype(object).where(got.notna(), "").astype(str).replace({"NaT": ""})
    # every answer of every respondent, cell by cell (dates to the second, ticks as True/False)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    coded = [c for c in report.codes if c["declared"]]
    if declared_by is None:
        assert not any(c["codes_seen"] for c in report.codes), "answer labels, no codes"
    else:
        assert coded and all(declared_by in c["declared_by"] for c in coded)
    if folder == "redcap_longitudinal_csv":  # the intake event's and the contact log's rows: not responses
        assert set(quarantine["check"]) == {"survey_form_row"} and len(quarantine) == 3 * len(accepted)
    else:
        assert quarantine.empty


@pytest.mark.parametrize("folder", ["surveymonkey_numeric_csv", "spss_without_value_labels"])
def test_numbers_nothing_declares_are_refused(folder, assessment):
    """The same numeric exports read against a codebook that declares no codes: the wave stops, naming
    the column and the codes seen, instead of reading them by position."""
    with pytest.raises(InputError) as err:
        to_officer_responses(read_export(_export(folder)), assessment, "2016")
    assert "nothing declares" in err.value.problem and err.value.column and "codes:" in err.value.fix


def test_issue_18_yes_no_not_sure_coded_1_0_2(assessment):
    """The issue's example: 'Do you believe trafficking is an issue' coded 1 Yes, 0 No, 2 Not sure.
    Read by position it gave 0.723 instead of 0.511 and no error; now it reads exactly, and a codebook
    that declares the positions (1 Yes, 2 No, 3 Not sure) is refused by the data dictionary."""
    accepted, _q, _r = _read("redcap_raw_csv", assessment)
    truth, _q, _r = _read("surveymonkey_expanded_csv", assessment)
    assert list(accepted["trafficking_issue"]) == list(truth["trafficking_issue"])
    from assets.ingest.validate import with_codebook

    variables = [v.model_copy(update={"codes": "positional"}) if v.name == "trafficking_issue" else v
                 for v in assessment.codebook.variables]
    positional = with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))
    with pytest.raises(InputError) as err:
        to_officer_responses(read_export(_export("redcap_raw_csv")), positional, "2016")
    assert err.value.column == "trafficking_issue" and "data dictionary" in err.value.problem


def test_survey_exports_fingerprints_the_files_that_declare_the_codes(tmp_path):
    """The data dictionary decides what every number means: its SHA-256 is recorded with the export's."""
    import hashlib

    from assets.ingest.exports import find_exports

    folder = tmp_path / "incoming" / "2016"
    folder.mkdir(parents=True)
    for f in (PLATFORMS / "redcap_raw_csv").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    for name in ("stakeholder_interviews.csv", "survivor_interviews.csv"):
        (folder / name).write_text("interview_id\n")
    exports = find_exports(tmp_path, "2016").set_index("dataset")
    codes = exports.loc["officer_survey_codes"]
    dictionary = folder / "officer_survey_DataDictionary.csv"
    assert codes["file_name"] == dictionary.name
    assert codes["sha256"] == hashlib.sha256(dictionary.read_bytes()).hexdigest()
    assert exports.loc["officer_survey", "rows"] == 8
