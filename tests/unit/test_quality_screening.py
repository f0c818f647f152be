"""Screening a wave: a clean synthetic wave passes; injected faults block the wave or quarantine rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.ingest.synthetic import generate_interviews
from assets.quality.bench import synthetic_officer_frame
from assets.quality.results import QUARANTINE_COLUMNS
from assets.quality.screening import check_table, screen_dataset, screen_wave
from assets.quality.stage import quality_stage
from assets.quality.suites import load_suite
from assets.quality.summary import SECTIONS, quality_summary_tables, split_summary, summary_frame

WAVE = "2015"


@pytest.fixture(scope="module")
def suite(assessment):
    return load_suite("officer_responses", assessment)


@pytest.fixture(scope="module")
def clean(assessment) -> pd.DataFrame:
    return synthetic_officer_frame(assessment, WAVE, 182, seed=2015)


def screen(frame, suite, assessment, **kw):
    return screen_dataset(frame, suite, assessment, WAVE, **kw)


def result(s, name):
    return next(r for r in s.results if r.check == name)


def quarantined(s, check=None) -> set[int]:
    q = s.quarantine
    return set(q.loc[q["check"] == check, "source_row"] if check else q["source_row"])


def test_a_clean_synthetic_wave_passes_every_check(clean, suite, assessment):
    s = screen(clean, suite, assessment)
    failed = [(r.check, r.outcome.message) for r in s.results if not r.passed]
    assert failed == []
    assert not s.blocked and len(s.quarantine) == 0
    assert len(s.accepted) == 182 and list(s.accepted.columns) == list(clean.columns)
    assert {r.check for r in s.results} == {c.name for c in suite.checks} | {"reconciliation"}
    assert all(r.outcome.error is None for r in s.results)


def test_missing_required_column_blocks_the_wave_with_a_fix(clean, suite, assessment):
    s = screen(clean.drop(columns=["county"]), suite, assessment)
    assert s.blocked
    r = result(s, "required_columns")
    assert not r.passed and r.severity == "blocking" and "county" in r.outcome.message
    message = s.fix_message()
    assert "required_columns" in message and "missing column(s): county" in message and "fix:" in message
    # row checks on the missing column could not run: reported, nothing quarantined for it
    assert result(s, "eligible_county_in_state").outcome.error is not None
    assert len(s.accepted) == 182


def test_twenty_percent_speeders_are_quarantined_and_the_run_goes_on(clean, suite, assessment):
    frame = clean.copy()
    rng = np.random.default_rng(7)
    fast = rng.choice(len(frame), size=int(0.2 * len(frame)), replace=False)
    frame.loc[fast, "duration_seconds"] = 20.0  # the survey in 20 seconds (the median is about 7 minutes)
    s = screen(frame, suite, assessment)
    expected = set(frame.loc[fast, "source_row"])
    assert quarantined(s, "speeders") == expected
    r = result(s, "speeders")
    assert not r.passed and r.severity == "row" and r.rows_quarantined == len(expected) == 36
    assert not s.blocked  # 20% is under the 25% a wave may lose to row checks
    assert len(s.accepted) == 182 - 36 and not s.accepted["source_row"].isin(expected).any()
    assert result(s, "quarantine_share").passed


def test_too_many_quarantined_rows_block_the_wave(clean, suite, assessment):
    frame = clean.copy()
    frame.loc[:80, "duration_seconds"] = 1.0
    s = screen(frame, suite, assessment)
    assert s.blocked and [r.check for r in s.blocking_failures()] == ["quarantine_share"]


def test_duplicate_ids_hold_back_every_copy(clean, suite, assessment):
    frame = clean.copy()
    frame.loc[[5, 9], "respondent_id"] = frame.loc[0, "respondent_id"]
    s = screen(frame, suite, assessment)
    assert quarantined(s, "unique_respondent_id") == set(frame.loc[[0, 5, 9], "source_row"])
    assert not s.blocked


def test_inconsistent_answers_are_quarantined(clean, suite, assessment):
    frame = clean.copy()
    none = frame.index[frame["cases_past_year"] == "None"][:2]
    actions = [c for c in frame.columns if c.startswith("actions_taken__")]  # the options and "other"
    for c in actions:
        frame.loc[none, c] = False
    frame.loc[none, "actions_taken__called_advocate"] = True
    s = screen(frame, suite, assessment)
    assert quarantined(s, "skip_logic") == set(frame.loc[none, "source_row"])
    assert "actions_taken: 2" in result(s, "skip_logic").outcome.message


def test_an_other_answer_to_a_question_not_asked_breaks_the_skip_logic(clean, suite, assessment):
    frame = clean.copy()
    assert "actions_taken__other" in frame.columns and "actions_taken__other_text" not in frame.columns
    none = frame.index[frame["cases_past_year"] == "None"][:1]
    actions = [c for c in frame.columns if c.startswith("actions_taken__")]
    for c in actions:
        frame.loc[none, c] = False
    assert not quarantined(screen(frame, suite, assessment), "skip_logic") & set(frame.loc[none, "source_row"])
    frame.loc[none, "actions_taken__other"] = True  # only "Other (please specify)" given: still an answer
    s = screen(frame, suite, assessment)
    assert quarantined(s, "skip_logic") == set(frame.loc[none, "source_row"])


def test_impossible_values_are_quarantined_with_reasons_but_never_the_values(clean, suite, assessment):
    frame = clean.copy()
    frame.loc[3, "county"] = "Boston"          # not a county of Maine: ineligible
    frame.loc[4, "gender"] = "Robot"           # not an answer of the codebook
    frame.loc[7, "duration_seconds"] = -60.0   # ends before it starts
    frame.loc[8, "county"] = None              # eligibility cannot be established
    s = screen(frame, suite, assessment)
    rows = frame["source_row"]
    assert quarantined(s, "eligible_county_in_state") == {rows[3]}
    assert quarantined(s, "allowed_answers__gender") == {rows[4]}
    assert quarantined(s, "duration_in_range") == {rows[7]}
    assert quarantined(s, "eligible_county_answered") == {rows[8]}
    assert list(s.quarantine.columns) == QUARANTINE_COLUMNS
    text = s.quarantine.to_csv() + " ".join(r.outcome.message + r.description for r in s.results)
    for value in ("Boston", "Robot", "-60"):
        assert value not in text
    reason = s.quarantine.loc[s.quarantine["check"] == "allowed_answers__gender", "reason"].iloc[0]
    assert reason == "answer to gender is not one of the codebook's answers"


def test_straight_lining_on_an_extreme_is_quarantined_but_a_consistent_opinion_is_not(clean, suite, assessment):
    frame = clean.copy()
    items = ["trained_sex", "trained_labor", "prepared_minors", "more_laws_needed"]
    frame.loc[10, items] = "Strongly agree"
    frame.loc[11, items] = "Strongly disagree"
    frame.loc[12, items] = "Agree"
    frame.loc[13, items] = ["Strongly agree", "Strongly agree", "Strongly agree", None]
    s = screen(frame, suite, assessment)
    assert quarantined(s, "straight_lining") == set(frame.loc[[10, 11], "source_row"])


def test_an_empty_question_blocks_the_wave(clean, suite, assessment):
    frame = clean.copy()
    frame["gender"] = None  # e.g. the question was reworded and matched nothing
    s = screen(frame, suite, assessment)
    assert [r.check for r in s.blocking_failures()] == ["completeness__gender"]
    assert "0.0% of 182 rows filled in (at least 50% needed)" in s.fix_message()
    assert "alias" in s.fix_message()


def test_sample_size_and_county_coverage_block(clean, suite, assessment):
    s = screen(clean.iloc[:0], suite, assessment)
    assert "sample_size" in [r.check for r in s.blocking_failures()]
    few = clean[clean["county"].isin(["Cumberland", "York"])]
    s = screen(few, suite, assessment)
    r = result(s, "county_coverage")
    assert not r.passed and "2 of 16 counties" in r.outcome.message
    assert "All other counties" in r.outcome.message


def test_reconciliation_counts_rows_quarantined_at_ingestion(clean, suite, assessment):
    ingest_q = pd.DataFrame({"dataset": "officer_responses", "wave": WAVE, "source_row": [500, 501],
                             "check": "not_blank", "reason": "blank response"})
    s = screen(clean, suite, assessment, rows_read=184, ingest_quarantine=ingest_q)
    r = result(s, "reconciliation")
    assert r.passed and r.outcome.message.startswith("184 rows read = 182 accepted + 2 quarantined")
    s = screen(clean.iloc[1:], suite, assessment, rows_read=184, ingest_quarantine=ingest_q)
    assert not result(s, "reconciliation").passed and s.blocked


def test_interviews_pass_and_an_empty_interview_file_is_not_a_failure(assessment):
    for dataset in ("stakeholder_interviews", "survivor_interviews"):
        frame = generate_interviews(assessment, dataset, WAVE, 2015)
        themes = [t.code for t in getattr(assessment.frames, dataset).themes]
        frame[themes] = frame[themes].astype(bool).astype("boolean")
        frame.insert(0, "wave", WAVE)
        suite = load_suite(dataset, assessment)
        s = screen_dataset(frame, suite, assessment, WAVE, rows_read=len(frame))
        assert [r.check for r in s.results if not r.passed] == []
        dup = frame.copy()
        dup.loc[3, "interview_id"] = dup.loc[2, "interview_id"]
        dup.loc[5, themes] = pd.NA
        s = screen_dataset(dup, suite, assessment, WAVE, rows_read=len(dup))
        assert quarantined(s, "unique_interview_id") == {4, 5}  # lines in the code matrix
        assert quarantined(s, "coded") == {7}
        empty = pd.DataFrame(columns=["wave", "interview_id"])
        s = screen_dataset(empty, suite, assessment, WAVE, rows_read=0)
        assert not s.blocked and all(r.passed for r in s.results)


def test_case_lists_overlap_table(assessment):
    good = pd.DataFrame({"police": [1, 0, 1, 0, 1, 1, 0], "services": [0, 1, 1, 0, 0, 1, 1],
                         "courts": [0, 0, 0, 1, 1, 1, 1], "count": [40, 31, 12, 9, 4, 2, 3]})
    s = check_table(good, "case_lists", assessment)
    assert [r.check for r in s.results if not r.passed] == []
    assert "list_membership__courts" in {r.check for r in s.results}
    bad = good.copy()
    bad.loc[0, "police"] = 2
    bad.loc[1, "count"] = -1
    bad.loc[2, ["police", "services", "courts"]] = [0, 0, 0]
    bad.loc[3, ["police", "services", "courts"]] = [1, 1, 1]  # repeats the history of row 5
    s = check_table(bad, "case_lists", assessment)
    failed = {r.check for r in s.results if not r.passed}
    assert failed == {"list_membership__police", "count_not_negative", "observable_histories", "unique_histories"}
    assert s.blocked


def test_quality_summary_tables_are_aggregates(clean, assessment):
    frame = clean.copy()
    frame.loc[:9, "duration_seconds"] = 5.0
    exports = pd.DataFrame({"dataset": ["officer_survey"], "rows": [183]})
    ingest_q = pd.DataFrame({"dataset": "officer_responses", "wave": WAVE, "source_row": [900],
                             "check": "not_blank", "reason": "blank response"})
    screening, tables = quality_stage(assessment, WAVE, {"officer_responses": frame}, exports=exports,
                                      ingest_quarantine=ingest_q)
    q = tables["quarantine"]
    assert len(q) == 11 and set(q["check"]) == {"speeders", "not_blank"}
    assert len(tables["accepted_officer_responses"]) == 172
    parts = split_summary(tables["data_quality_summary"])
    assert set(parts) == set(SECTIONS)
    status = parts["status"].iloc[0]
    assert (status["rows_read"], status["accepted"], status["quarantined"]) == (183, 172, 11)
    assert bool(status["estimable"])
    by_reason = parts["quarantine_by_reason"].set_index("check")
    assert by_reason.loc["speeders", "rows"] == 10 and by_reason.loc["speeders", "stage"] == "checks"
    assert by_reason.loc["not_blank", "stage"] == "ingestion"
    comp = parts["completeness"].set_index("question")
    assert comp.loc["actions_taken", "asked"] == int(screening.accepted("officer_responses")["cases_past_year"]
                                                     .isin(["1 to 5", "More than 5"]).sum())
    assert comp.loc["county", "percent"] == 100.0 and pd.isna(comp.loc["county", "threshold"])
    assert comp.loc["cases_past_year", "threshold"] == "0.8"
    checks = parts["checks"]
    assert len(checks) == len(screening.results()) and "source_row" not in checks.columns
    # stored table: one typed table, no row numbers anywhere
    stored = tables["data_quality_summary"]
    assert "example_rows" not in stored.columns and "source_row" not in stored.columns
    assert str(stored["passed"].dtype) == "boolean"
    results = tables["quality_check_results"]
    assert results.set_index("check").loc["speeders", "example_rows"] == ", ".join(
        str(r) for r in sorted(frame.loc[:4, "source_row"]))


def test_summary_round_trip_keeps_every_table(clean, assessment):
    screening = screen_wave(assessment, WAVE, {"officer_responses": clean})
    tables = quality_summary_tables(screening, assessment)
    back = split_summary(summary_frame(tables, WAVE))
    assert len(back["checks"]) == len(tables["checks"])
    assert len(back["completeness"]) == len(assessment.codebook.variables)
    assert back["quarantine_by_reason"].empty


def test_text_columns_reach_gx_as_categoricals_of_the_same_values():
    from assets.quality.gx_runner import _categories

    s = pd.Series(["b", None, "a", "b", float("nan"), "c"], dtype=object)
    cat = _categories(s)
    assert pd.Series(cat).astype(object).where(pd.Series(cat).notna(), None).tolist() == ["b", None, "a", "b", None, "c"]
    assert set(cat.categories) == {"a", "b", "c"}
