"""Real exports published by other open-source projects (tests/fixtures/exports/real/, sources in its
README): the readers detect their layout and header rows, group their multi-select and matrix columns,
take the codes their metadata declares (REDCap data dictionaries, a Qualtrics .qsf), and read them
into the answers their own documentation says they hold. Their questions are not the officer survey,
so each test maps them with a small codebook of its own."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from assets.ingest.validate import with_codebook
from pipelines.config import Codebook, Option, Variable
from pipelines.errors import InputError

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "real"
STATEMENTS = [f"Click to write Statement {i}" for i in (1, 2, 3)]


def _codebook(assessment, *variables: Variable, respondent_id=None):
    return with_codebook(assessment, Codebook(survey="test", title="test", respondent_id=respondent_id,
                                              variables=list(variables)))


def _as_responses(raw):
    """QualtricsTools' sample responses are Qualtrics' generated test responses (Status 2), which the
    pipeline quarantines as such (checked below); their answers are read with the status set aside."""
    assert raw.cells(raw.ids["status"]).tolist() == ["2"] * raw.n_rows
    raw.ids.pop("status")
    return raw


def _groups(raw) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in raw.columns:
        out.setdefault(c.group_key, []).append(c)
    return out


# --------------------------------------------------------------------------- Qualtrics


def test_qualtrics_2017_three_row_export(assessment):
    raw = read_export(REAL / "qualtRics" / "sample.csv")
    assert (raw.format, raw.platform, raw.first_data_line, raw.n_rows) == ("qualtrics", "Qualtrics", 4, 1)
    assert raw.headers[raw.ids["respondent_id"]] == "ResponseId"
    q1 = next(c for c in raw.columns if c.name == "Q1")
    assert (q1.import_id, q1.question) == ("QID1", "This is a multiple choice question.")
    choice = Variable(name="choice", type="single", question="This is a multiple choice question.",
                      options=["First", "Second"])
    free = Variable(name="free", type="text", question="This is a free text question.")
    # a numeric export of a question no metadata declares: its one answer ("2") is never read by position
    accepted, quarantine, report = to_officer_responses(raw, _codebook(assessment, choice, free), "x")
    assert accepted.empty and list(quarantine["check"]) == ["declared_code"]
    assert report.codes == [{"variable": "choice", "column": "Q1", "codes_seen": ["2"], "declared": [],
                             "declared_by": "nothing (no codes declared)"}]
    declared = choice.model_copy(update={"codes": {"1": "First", "2": "Second"}})
    accepted, _q, report = to_officer_responses(read_export(raw.path), _codebook(assessment, declared, free), "x")
    assert list(accepted["choice"]) == ["Second"] and list(accepted["free"]) == ["Hello World!"]
    assert list(accepted["respondent_id"]) == ["R_2YPOQ602ER1jkf1"]


def test_qualtrics_legacy_two_row_export(assessment):
    raw = read_export(REAL / "qualtRics" / "sample_legacy.csv")
    assert (raw.format, raw.first_data_line, raw.n_rows) == ("qualtrics_legacy", 3, 1)
    assert raw.headers[raw.ids["respondent_id"]] == "V1"  # V1..V10 over ResponseID ... Finished
    assert {"start_date", "end_date", "finished", "status"} <= set(raw.ids)
    assert all(c.question for c in raw.columns)  # the trailing empty column is no question
    free = Variable(name="free", type="text", question="This is a free text question.")
    declared = Variable(name="choice", type="single", question="This is a multiple choice question.",
                        options=["First", "Second"], codes={"1": "First", "2": "Second"})
    accepted, _q, _r = to_officer_responses(raw, _codebook(assessment, declared, free), "x")
    assert list(accepted["choice"]) == ["Second"] and list(accepted["respondent_id"]) == ["R_2YPOQ602ER1jkf1"]
    assert bool(accepted["finished"].iloc[0]) is True


RECODED = "Click to write the question text This question has custom RecodeValues"
GROUPED = "Click to write the question text This question has both choice groups and recoded values for the choices."


@pytest.mark.parametrize("name, layout", [("Single_Answer_MC_Questions.csv", "qualtrics_legacy"),
                                          ("Single_Answer_MC_Questions (Insights).csv", "qualtrics")])
def test_qualtrics_numeric_export_read_through_the_survey_files_recode_values(assessment, name, layout):
    """The numeric answers are recode values (10, 11, 12 / 10..16); the .qsf beside the export declares
    them, for the legacy export by export tag (Q4) and for the 2016-era one by ImportId (QID5)."""
    raw = read_export(REAL / "QualtricsTools" / "single" / name)
    assert raw.format == layout and raw.n_rows == 5
    _a, quarantine, _r = to_officer_responses(raw, _codebook(assessment, Variable(
        name="recoded", type="single", question=RECODED, options=STATEMENTS)), "x")
    assert set(quarantine["reason"]) == {"test response"} and len(quarantine) == 5
    raw = _as_responses(read_export(raw.path))
    recoded = Variable(name="recoded", type="single", question=RECODED, options=STATEMENTS)
    # the full wording (from the survey); the export cuts it at 100 characters and ends it with "..."
    grouped = Variable(name="grouped", type="single", question=GROUPED,
                       options=STATEMENTS + [f"Click to write Choice {i}" for i in (4, 5, 6, 7)])
    accepted, quarantine, report = to_officer_responses(raw, _codebook(assessment, recoded, grouped), "x")
    assert quarantine.empty and report.metadata_files == ["Single_Answer_MC_Questions.qsf"]
    assert report.matched_by["grouped"] == "question text (cut short in the export)"
    assert list(accepted["recoded"]) == [STATEMENTS[i] for i in (2, 2, 1, 2, 0)]  # 12, 12, 11, 12, 10
    assert list(accepted["grouped"]) == ["Click to write Choice 6", "Click to write Choice 6",
                                         "Click to write Choice 4", "Click to write Choice 7", STATEMENTS[0]]
    codes = {c["variable"]: c for c in report.codes}
    assert codes["recoded"]["codes_seen"] == ["10", "11", "12"] and codes["recoded"]["declared"] == ["10", "11", "12"]
    assert codes["grouped"]["declared_by"] == "Qualtrics survey file Single_Answer_MC_Questions.qsf"


def test_qualtrics_without_its_survey_file_refuses_recode_values(assessment, tmp_path):
    src = REAL / "QualtricsTools" / "single" / "Single_Answer_MC_Questions.csv"
    (tmp_path / src.name).write_bytes(src.read_bytes())  # the export alone, without the .qsf
    recoded = Variable(name="recoded", type="single", question=RECODED, options=STATEMENTS)
    with pytest.raises(InputError) as err:
        to_officer_responses(read_export(tmp_path / src.name), _codebook(assessment, recoded), "x")
    assert err.value.column == "Q4" and "10, 11, 12" in err.value.problem and ".qsf" in err.value.fix
    positional = recoded.model_copy(update={"codes": "positional"})  # 1..3: the recode values 10..12 do not fit
    with pytest.raises(InputError) as err:
        to_officer_responses(read_export(tmp_path / src.name), _codebook(assessment, positional), "x")
    assert "not among the declared codes" in err.value.problem


def _read_multi(assessment, name: str) -> pd.DataFrame:
    options = [Option(code=f"s{i}", label=s) for i, s in enumerate(STATEMENTS, 1)] + \
        [Option(code=f"c{i}", label=f"Click to write Choice {i}") for i in (4, 5, 6, 7)]
    multi = Variable(name="grouped", type="multi", question=GROUPED, options=options)
    plain = Variable(name="plain", type="multi", question="Click to write the question text",
                     options=[Option(code=f"s{i}", label=s) for i, s in enumerate(STATEMENTS, 1)])
    raw = _as_responses(read_export(REAL / "QualtricsTools" / "multi" / name))
    accepted, quarantine, report = to_officer_responses(raw, _codebook(assessment, multi, plain), "x")
    assert quarantine.empty and not report.not_collected
    return accepted


@pytest.mark.parametrize("name, layout", [("Multiple_Answer_MC_Questions.csv", "qualtrics_legacy"),
                                          ("Multiple_Answer_MC_Questions (Insights).csv", "qualtrics")])
def test_qualtrics_multi_select_question_option_columns(assessment, name, layout):
    """``Question-Option`` headings (no spaces around the dash), question text cut at 100 characters:
    the columns group into their question, each column is its option."""
    raw = read_export(REAL / "QualtricsTools" / "multi" / name)
    assert raw.format == layout
    groups = {g: cols for g, cols in _groups(raw).items() if len(cols) > 1}
    questions = {cols[0].question for cols in groups.values()}
    assert "Click to write the question text This question has both choice groups and recoded values for the..." \
        in questions and "Click to write the question text" in questions
    grouped = next(cols for cols in groups.values() if cols[0].question.startswith(GROUPED[:60]))
    assert sorted(c.subheader for c in grouped) == sorted(STATEMENTS + [f"Click to write Choice {i}" for i in (4, 5, 6, 7)])
    accepted = _read_multi(assessment, name)
    assert accepted["grouped__s1"].tolist() == [True, False, True, True, True]  # Q5_1 (legacy) / Q5_10 (2016)
    assert accepted["grouped__c7"].tolist() == [False, True, False, True, False]  # Q5_7 / Q5_16
    assert accepted["plain__s1"].tolist() == [False, True, True, True, True]


def test_qualtrics_legacy_and_2016_multi_select_exports_agree(assessment):
    legacy = _read_multi(assessment, "Multiple_Answer_MC_Questions.csv")
    insights = _read_multi(assessment, "Multiple_Answer_MC_Questions (Insights).csv")
    cols = [c for c in legacy.columns if c.startswith(("grouped__", "plain__")) or c == "respondent_id"]
    pd.testing.assert_frame_equal(legacy[cols], insights[cols])


# --------------------------------------------------------------------------- REDCap


def test_redcap_raw_export_with_its_data_dictionary(assessment):
    """0-based radio and dropdown codes, truefalse/yesno (fixed 1/0), a one-choice checkbox: all read
    through the dictionary beside the export; its field labels match the codebook's questions."""
    raw = read_export(REAL / "REDCapR" / "survey" / "survey-data.csv")
    assert raw.format == "redcap" and raw.n_rows == 2 and raw.headers[0] == "participant_id"
    diabetes = Variable(name="diabetes", type="single", question="I currently have Type 2 Diabetes",
                        options=["True", "False"])
    consent = Variable(name="consent", type="multi", question=(
        "By checking this box, I certify that I am at least 18 years old and that I give my consent freely to "
        "participant in this study."), options=[Option(code="yes", label="I consent")])
    ethnicity = Variable(name="ethnicity", type="single", question="Ethnicity",
                         options=["Hispanic or Latino", "NOT Hispanic or Latino", "Unknown / Not Reported"])
    accepted, quarantine, report = to_officer_responses(raw, _codebook(assessment, diabetes, consent, ethnicity), "x")
    assert report.metadata_files == ["survey-data-dictionary.csv"] and quarantine.empty
    assert list(accepted["diabetes"]) == ["True", "False"]
    assert bool(accepted["consent__yes"].iloc[0]) is True and pd.isna(accepted["consent__yes"].iloc[1])
    assert accepted["ethnicity"].isna().all()  # the participant form was never filled in
    assert {c["variable"]: c["declared"] for c in report.codes}["diabetes"] == ["0", "1"]
    # a codebook reading the 0-based codes by position disagrees with the dictionary: the wave stops
    positional = ethnicity.model_copy(update={"codes": "positional"})
    with pytest.raises(InputError) as err:
        to_officer_responses(read_export(raw.path), _codebook(assessment, diabetes, positional), "x")
    assert "code 1 means 'Hispanic or Latino'" in err.value.problem and "data dictionary" in err.value.problem


def test_redcap_checkbox_codes_from_the_dictionary(assessment):
    raw = read_export(REAL / "REDCapR" / "checkboxes" / "data.csv")
    assert raw.format == "redcap" and raw.n_rows == 4
    one = Variable(name="one", type="multi", question="check one",
                   options=[Option(code=c, label=c) for c in ("one", "two", "three", "four")])
    two = Variable(name="two", type="multi", question="check two",
                   options=[Option(code=c.lower(), label=c) for c in "ABCDE"])
    accepted, quarantine, report = to_officer_responses(raw, _codebook(assessment, one, two), "x")
    # record 4 ticked nothing: a blank response; the checkbox columns are grouped and named by their choices
    assert dict(zip(quarantine["source_row"], quarantine["reason"])) == {5: "blank response"}
    got = accepted.set_index("respondent_id")
    assert got.loc["1", "one__one"] and not got.loc["1", "one__two"]
    assert got.loc["1", "two__a"] and got.loc["1", "two__c"] and not got.loc["1", "two__b"]
    assert got.loc[["2"], ["one__one", "one__two", "one__three", "one__four"]].isna().all(axis=None)  # none ticked
    assert got.loc["3", ["one__one", "one__two", "one__three", "one__four"]].all()
    assert got.loc[["3"], ["two__a", "two__e"]].isna().all(axis=None)


def test_redcap_checkbox_columns_without_a_dictionary_are_not_read_by_position(assessment, tmp_path):
    src = REAL / "REDCapR" / "checkboxes" / "data.csv"
    (tmp_path / "data.csv").write_bytes(src.read_bytes())
    two = Variable(name="two", type="multi", question="check_two",
                   options=[Option(code=f"x{c.lower()}", label=c) for c in "ABCDE"])
    accepted, _q, report = to_officer_responses(read_export(tmp_path / "data.csv"), _codebook(assessment, two), "x")
    assert {f"two__x{c}" for c in "abcde"} <= set(report.not_collected)
    assert accepted[[f"two__x{c}" for c in "abcde"]].isna().all(axis=None)
    assert any("check_two___c" in u and "codes" in u for u in report.unmatched_questions)


def test_redcap_longitudinal_export_with_repeating_instruments(assessment):
    """Rows of other events and of repeating forms hold none of the survey's answers: they are
    quarantined as such; each record's row with the survey's answers is kept."""
    raw = read_export(REAL / "REDCapR" / "longitudinal" / "data.csv")
    assert raw.format == "redcap" and "meta:redcap_repeat_instrument" in raw.ids
    place = Variable(name="place", type="text", question="Country of Residence")  # the field's label
    born = Variable(name="born", type="text", question="Patient's Date of Birth")
    accepted, quarantine, report = to_officer_responses(raw, _codebook(assessment, place, born), "x")
    assert list(accepted["respondent_id"]) == ["1", "2"] and list(accepted["place"]) == ["Adair", "Alfalfa"]
    assert set(quarantine["reason"]) == {"no survey answers: REDCap row of another event or repeating form"}
    assert report.reconciles() and len(quarantine) == raw.n_rows - 2
