"""Codebook matching and answer normalisation: nothing is dropped silently."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.ingest.codes import OUTSIDE, UNDECLARED, Coding, codebook_coding, match_label, read_value
from assets.ingest.answers import split_choices
from assets.ingest.officer_responses import normalise_text, to_officer_responses
from assets.ingest.readers import read_bytes_as_export
from pipelines.config import Variable
from pipelines.errors import InputError

SCALE = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
BY_LABEL = {normalise_text(x): i for i, x in enumerate(SCALE)}
POSITIONAL = codebook_coding(Variable(name="x", type="single", question="x", options=SCALE, codes="positional"), SCALE)


@pytest.mark.parametrize("given", ["Strongly Agree", "strongly agree", "  STRONGLY   agree. ", "5 - Strongly agree",
                                   "5. Strongly agree", "(5) Strongly agree", "Strongly agree (5)", "Strongly\u00a0agree"])
def test_value_labels_normalise(given):
    assert match_label(given, BY_LABEL, Coding()) == 4
    assert read_value(given, BY_LABEL, POSITIONAL).answer == 4


@pytest.mark.parametrize("given", ["5", "5.0", "05"])
def test_numeric_answers_are_read_only_through_a_declared_coding(given):
    assert read_value(given, BY_LABEL, Coding()).problem == UNDECLARED  # never by position unless declared
    assert read_value(given, BY_LABEL, POSITIONAL).answer == 4


@pytest.mark.parametrize("given, problem", [("6", UNDECLARED), ("0", UNDECLARED), ("Agree strongly", OUTSIDE),
                                            ("4 - Strongly agree", OUTSIDE), ("yes", OUTSIDE)])
def test_values_that_do_not_fit(given, problem):
    r = read_value(given, BY_LABEL, POSITIONAL)
    assert r.answer is None and r.problem == problem


def test_normalise_text_folds_quotes_case_space_punctuation():
    assert normalise_text("Which best describes  your \u201cagency\u201d?") == normalise_text('which best describes your "agency"')
    assert normalise_text("County sheriff\u2019s office") == "county sheriff's office"


def test_choice_lists_with_commas_inside_labels():
    labels = ["Municipal police department", "Other (e.g., campus, tribal, Marine Patrol, Warden Service)", "A"]
    chosen, other, undeclared, unknown = split_choices("A,Other (e.g., campus, tribal, Marine Patrol, Warden Service)",
                                                       labels, Coding())
    assert chosen == {1, 2} and not other and undeclared == [] and unknown == []
    chosen, other, undeclared, unknown = split_choices("1;3, Other (please specify), Bogus", labels, Coding())
    assert chosen == set() and other and undeclared == ["1", "3"] and unknown == ["Bogus"]
    declared = Coding({"1": 0, "3": 2})
    chosen, other, undeclared, unknown = split_choices("1;3, Other (please specify), Bogus", labels, declared)
    assert chosen == {0, 2} and other and undeclared == [] and unknown == ["Bogus"]


def _export(header1, header2, *rows):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Respondent ID", *header1])
    w.writerow(["", *header2])
    for r in rows:
        w.writerow(r)
    return read_bytes_as_export(buf.getvalue().encode())


COUNTY_Q = "In which county is your agency located?"


def test_matrix_question_rows_match_codebook_items(assessment):
    raw = _export([COUNTY_Q, "Please rate your agreement", "", "Something new"],
                  ["Response", "My organization is adequately trained to handle sex trafficking cases.",
                   "My department is prepared to handle human trafficking cases involving minors.", "Response"],
                  ["1", "York", "Agree", "Strongly disagree", "x"])
    accepted, _q, report = to_officer_responses(raw, assessment, "2015")
    assert accepted["trained_sex"][0] == "Agree" and accepted["prepared_minors"][0] == "Strongly disagree"
    assert "matrix row" in report.matched_by["trained_sex"]
    assert report.unmatched_questions == ["Something new"]
    assert "trained_labor" in report.missing_variables


def test_unmatched_and_missing_are_named(assessment):
    raw = _export([COUNTY_Q, "How tall are you?"], ["Response", "Response"], ["1", "York", "tall"])
    _a, _q, report = to_officer_responses(raw, assessment, "2015")
    assert report.unmatched_questions == ["How tall are you?"]
    names = {v.name for v in assessment.codebook.variables if v.name != "county"}
    assert names <= set(report.missing_variables)
    assert report.matched == ["county"]


def test_missing_required_question_is_one_clear_error(assessment):
    raw = _export(["What is your gender?"], ["Response"], ["1", "Male"])
    with pytest.raises(InputError) as err:
        to_officer_responses(raw, assessment, "2015")
    assert err.value.row == 1 and "county" in err.value.problem and "alias" in err.value.fix


def test_aliases_match_reworded_questions(assessment):
    gender = next(v for v in assessment.codebook.variables if v.name == "gender")
    variables = [v.model_copy(update={"aliases": ["Your gender:"]}) if v is gender else v
                 for v in assessment.codebook.variables]
    from assets.ingest.validate import with_codebook

    patched = with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))
    raw = _export([COUNTY_Q, "YOUR  GENDER"], ["Response", "Response"], ["1", "York", "female"])
    accepted, _q, report = to_officer_responses(raw, patched, "2015")
    assert accepted["gender"][0] == "Female" and report.matched_by["gender"] == "alias 'Your gender:'"


def test_an_answer_outside_the_codebook_quarantines_its_row(assessment):
    raw = _export([COUNTY_Q, "What is your gender?"], ["Response", "Response"],
                  ["1", "York", "Male"], ["2", "York", "Robot"], ["3", "York", "female"], ["4", "Knox", "Male"])
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")
    assert report.value_problems == ["gender: 1 answer(s) is not one of the codebook's answers, quarantined (row 4)"]
    assert list(accepted["gender"]) == ["Male", "Female", "Male"] and report.reconciles()
    assert dict(zip(quarantine["source_row"], quarantine["check"])) == {4: "codebook_answer"}
    assert "Robot" not in " ".join(quarantine["reason"])  # reasons name the rule, never the answer


def test_many_answers_outside_the_codebook_stop_the_wave(assessment):
    raw = _export([COUNTY_Q, "What is your gender?"], ["Response", "Response"],
                  ["1", "York", "Male"], ["2", "York", "Robot"], ["3", "York", "robot "])
    with pytest.raises(InputError) as err:
        to_officer_responses(raw, assessment, "2015")
    assert err.value.column == "What is your gender?" and "gender" in err.value.problem
    assert "Robot" not in str(err.value) and "codes:" in err.value.fix


def test_quarantine_reasons_and_reconciliation(assessment):
    raw = _export([COUNTY_Q, "What is your gender?"], ["Response", "Response"],
                  ["1", "York", "Male"], ["1", "Knox", "Female"], ["", "Knox", "Male"], ["4", "", ""], ["5", "Waldo", ""])
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")
    assert report.rows_read == 5 and report.rows_accepted == 2 and report.reconciles()
    assert dict(zip(quarantine["source_row"], quarantine["reason"])) == {
        4: "duplicate respondent id", 5: "no respondent id", 6: "blank response"}
    assert report.quarantined == {"duplicate respondent id": 1, "no respondent id": 1, "blank response": 1}
    assert list(accepted["respondent_id"]) == ["1", "5"]


def test_multi_select_ticks_and_skips(assessment):
    q = "What would help you respond to human trafficking? (Select all that apply)"
    raw = _export([COUNTY_Q, q, "", ""],
                  ["Response", "Clear definitions of human trafficking", "Training on identifying victims",
                   "Other (please specify)"],
                  ["1", "York", "Clear definitions of human trafficking", "", ""],
                  ["2", "York", "", "", "Maps"],
                  ["3", "York", "", "", ""])
    accepted, _q, report = to_officer_responses(raw, assessment, "2015")
    as_list = lambda col: [None if pd.isna(x) else bool(x) for x in accepted[col]]  # noqa: E731
    assert as_list("help_wanted__clear_definitions") == [True, False, None]
    assert as_list("help_wanted__identification_training") == [False, False, None]
    # "Other (please specify)": whether it was given (missing where the question was skipped), never its text
    assert as_list("help_wanted__other") == [False, True, None]
    assert "Maps" not in accepted.astype(str).to_numpy() and "help_wanted__other_text" not in accepted.columns
    # an option the export has no column for is not collected: missing, never "not ticked"
    assert "help_wanted__legal_guidance" in report.not_collected
    assert accepted["help_wanted__legal_guidance"].isna().all()


def _legacy_qualtrics(question_text: str, options: list[str], rows: list[list[str]]):
    """A legacy Qualtrics export: V1..V10 over ResponseID..Finished, then Q5_1.. headed 'Question-Option'."""
    import csv
    import io

    meta = ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress", "IPAddress", "Status",
            "StartDate", "EndDate", "Finished"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([f"V{i}" for i in range(1, 11)] + ["Q1"] + [f"Q5_{j}" for j in range(1, len(options) + 1)])
    w.writerow(meta + [COUNTY_Q] + [f"{question_text}-{o}" for o in options])
    for i, r in enumerate(rows):
        w.writerow([f"R_{i}", "Default", "Anonymous", "", "", "", "0", "2016-01-01 10:00:00", "2016-01-01 10:09:00",
                    "1", "York", *r])
    return read_bytes_as_export(buf.getvalue().encode())


HELP = "What would help you respond to human trafficking? (Select all that apply)"
HELP_OPTIONS = ["Clear definitions of human trafficking", "Training on identifying victims",
                "A protocol for responding to cases", "Contact list of service providers",
                "Guidance on state and federal laws"]


def test_question_option_columns_and_an_alias_with_the_exports_wording(assessment):
    """Issue #18, item 3: 'Question-Option' headings (no spaces) group into their question; a reworded
    question is found through an alias holding the export's wording, not only through 'Q5'."""
    reworded = "Which of these would help you respond to trafficking cases? (Select all that apply)"
    raw = _legacy_qualtrics(reworded, HELP_OPTIONS, [["1", "", "", "", "1"], ["", "1", "", "", ""]])
    _a, _q, report = to_officer_responses(raw, assessment, "2016")
    assert "help_wanted" in report.missing_variables and any(reworded in u for u in report.unmatched_questions)
    from assets.ingest.validate import with_codebook

    variables = [v.model_copy(update={"aliases": [reworded]}) if v.name == "help_wanted" else v
                 for v in assessment.codebook.variables]
    patched = with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))
    accepted, _q, report = to_officer_responses(_legacy_qualtrics(reworded, HELP_OPTIONS, [
        ["1", "", "", "", "1"], ["", "1", "", "", ""]]), patched, "2016")
    assert report.matched_by["help_wanted"] == f"alias {reworded!r}"
    assert accepted["help_wanted__clear_definitions"].tolist() == [True, False]
    assert accepted["help_wanted__legal_guidance"].tolist() == [True, False]
    assert accepted["help_wanted__identification_training"].tolist() == [False, True]


def test_question_text_cut_at_100_characters_matches_its_question(assessment):
    long_question = ("When you handled a human trafficking case, which of the following actions did you take? "
                     "(Select all that apply)")
    cut = long_question[:97] + "..."
    options = ["Determined whether the victim was a minor", "Called a victim advocate"]
    raw = _legacy_qualtrics(cut, options, [["1", ""], ["1", "1"]])
    accepted, _q, report = to_officer_responses(raw, assessment, "2016")
    assert report.matched_by["actions_taken"] == "question text (cut short in the export)"
    assert accepted["actions_taken__called_advocate"].tolist() == [False, True]
    assert "actions_taken__contacted_prosecutor" in report.not_collected  # no column: not collected, not "No"
    # a cut text that begins two questions of the codebook matches neither
    from assets.ingest.validate import with_codebook

    twin = next(v for v in assessment.codebook.variables if v.name == "comments").model_copy(
        update={"question": long_question + " Please explain."})
    patched = with_codebook(assessment, assessment.codebook.model_copy(
        update={"variables": [v if v.name != "comments" else twin for v in assessment.codebook.variables]}))
    _a, _q, report = to_officer_responses(_legacy_qualtrics(cut, options, [["1", ""]]), patched, "2016")
    assert "actions_taken" not in report.matched


def test_the_respondent_id_column_can_be_named_in_the_codebook(assessment):
    from assets.ingest.validate import with_codebook

    raw = _export([COUNTY_Q, "Badge number", "What is your gender?"], ["Response", "Response", "Response"],
                  ["1", "York", "B-17", "Male"], ["2", "Knox", "B-18", "Female"])
    named = with_codebook(assessment, assessment.codebook.model_copy(update={"respondent_id": "Badge number"}))
    accepted, _q, report = to_officer_responses(raw, named, "2016")
    assert list(accepted["respondent_id"]) == ["B-17", "B-18"]
    assert report.respondent_id_column == "column 'Badge number' (named in the codebook)"
    assert not any("Badge" in u for u in report.unmatched_questions)  # the id is not an unmatched question
    missing = with_codebook(assessment, assessment.codebook.model_copy(update={"respondent_id": ["Officer ID"]}))
    with pytest.raises(InputError) as err:
        to_officer_responses(raw, missing, "2016")
    assert "'Officer ID'" in err.value.problem and "respondent_id" in err.value.fix


def test_codes_that_fit_the_declaration_only_if_shifted_stop_the_wave(assessment):
    """Issue #18's hazard: REDCap's 0-based codes read against a 1-based declaration. Every code seen
    (0, 1, 2) would fit if shifted by one; the wave stops naming the column, the codes and the fix."""
    from assets.ingest.validate import with_codebook

    variables = [v.model_copy(update={"codes": {"1": "Yes", "2": "No", "3": "Not sure"}})
                 if v.name == "trafficking_issue" else v for v in assessment.codebook.variables]
    one_based = with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))
    q = "Do you believe human trafficking is an issue in your jurisdiction?"
    rows = [[str(i), "York", str(code)] for i, code in enumerate([1, 0, 0, 2, 1, 1, 0, 2, 1, 0], start=1)]
    raw = _export([COUNTY_Q, q], ["Response", "Response"], *rows)
    with pytest.raises(InputError) as err:
        to_officer_responses(raw, one_based, "2016")
    assert err.value.column == q and "0, 1, 2" in err.value.problem and "shifted by +1" in err.value.problem
    # declared as REDCap declares it, the same column reads exactly
    variables = [v.model_copy(update={"codes": {"1": "Yes", "0": "No", "2": "Not sure"}})
                 if v.name == "trafficking_issue" else v for v in assessment.codebook.variables]
    right = with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))
    accepted, _q, _r = to_officer_responses(_export([COUNTY_Q, q], ["Response", "Response"], *rows), right, "2016")
    assert list(accepted["trafficking_issue"]) == ["Yes", "No", "No", "Not sure", "Yes", "Yes", "No", "Not sure",
                                                   "Yes", "No"]
    assert (accepted["trafficking_issue"] == "Yes").mean() == 0.4  # not 0.6 (1 and 2 read by position)
