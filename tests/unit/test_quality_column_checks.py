"""Column expectations evaluated per distinct value give exactly the outcome Great Expectations gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from assets.quality import column_checks, gx_runner
from assets.quality.bench import synthetic_officer_frame
from assets.quality.suites import Check, load_suite


def _awkward(assessment, n: int = 400) -> pd.DataFrame:
    """Officer rows with failing values, blanks of every kind, repeated ids and empty strings."""
    frame = synthetic_officer_frame(assessment, "2015", n, seed=7)
    rng = np.random.default_rng(3)

    def pick(k: int) -> np.ndarray:
        return rng.choice(n, size=k, replace=False)

    frame.loc[pick(9), "respondent_id"] = None
    frame.loc[pick(5), "respondent_id"] = np.nan
    frame.loc[pick(12), "respondent_id"] = frame.loc[pick(12), "respondent_id"].to_numpy()
    frame.loc[pick(6), "county"] = None
    frame.loc[pick(6), "county"] = "Boston"
    frame.loc[pick(4), "county"] = ""
    frame.loc[pick(7), "gender"] = "Robot"
    frame.loc[pick(7), "gender"] = np.nan
    frame.loc[pick(5), "trained_sex"] = "Strongly agree "
    frame.loc[pick(8), "actions_taken__none"] = pd.NA
    frame.loc[pick(3), "county_group"] = "Nowhere"
    frame["familiar_organisations"] = None  # a column with nothing in it
    frame["help_wanted__legal_guidance"] = pd.array([None] * n, dtype="boolean")
    frame.loc[pick(4), "duration_seconds"] = np.nan
    return frame


def _extra_checks() -> list[Check]:
    """Checks the suite does not have: ``mostly`` on values-in-set and uniqueness, mixed-type values."""
    def check(name: str, kind: str, **kwargs) -> Check:
        return Check(name=name, entry=0, kind="expectation", type=kind, kwargs=kwargs, severity="row",
                     description="", reason="", fix="")

    return [
        check("gender_mostly", "expect_column_values_to_be_in_set", column="gender",
              value_set=["Male", "Female"], mostly=0.6),
        check("county_mostly_unique", "expect_column_values_to_be_unique", column="county", mostly=0.01),
        check("id_mostly", "expect_column_values_to_not_be_null", column="respondent_id", mostly=0.99),
        check("ticks_as_numbers", "expect_column_values_to_be_in_set", column="actions_taken__none",
              value_set=[1, 0]),
        check("empty_column_in_set", "expect_column_values_to_be_in_set", column="familiar_organisations",
              value_set=["Yes"]),
        check("empty_column_not_null", "expect_column_values_to_not_be_null", column="familiar_organisations",
              mostly=0.5),
        check("duration_unique", "expect_column_values_to_be_unique", column="duration_seconds"),
        check("duration_not_null", "expect_column_values_to_not_be_null", column="duration_seconds"),
        check("duration_strict", "expect_column_values_to_be_between", column="duration_seconds", min_value=60,
              max_value=900.5, strict_min=True, strict_max=True, mostly=0.5),
        check("duration_at_most", "expect_column_values_to_be_between", column="duration_seconds", max_value=400),
        check("duration_over", "expect_column_values_to_be_between", column="duration_seconds", min_value=300.0,
              strict_min=True),
        check("rows_between", "expect_column_values_to_be_between", column="source_row", min_value=10,
              max_value=300),
        check("ticks_between", "expect_column_values_to_be_between", column="help_wanted__clear_definitions", min_value=0,
              max_value=0),
        check("bounds_reversed", "expect_column_values_to_be_between", column="duration_seconds", min_value=10,
              max_value=1),
    ]


def _outcomes(frame: pd.DataFrame, suite, checks: list[Check], all_rows: bool, per_value: bool) -> dict:
    table = gx_runner.prepare(frame, checks, suite.row_id)
    out = gx_runner.run_expectations(table, suite, checks, suite.row_id, all_rows=all_rows, per_value=per_value)
    return {name: dataclasses.asdict(o) for name, o in out.items()}


@pytest.mark.parametrize("rows", [400, 0])
@pytest.mark.parametrize("all_rows", [True, False])
def test_per_value_outcomes_equal_great_expectations(assessment, rows, all_rows):
    suite = load_suite("officer_responses", assessment)
    frame = _awkward(assessment).iloc[:rows].reset_index(drop=True)
    checks = [c for c in suite.checks if c.kind == "expectation"] + _extra_checks()
    native = [c.name for c in checks if column_checks.can_evaluate(c)]
    assert len(native) > 30  # the fast path is taken for most of the suite
    table = gx_runner.prepare(frame, checks, suite.row_id)
    built = dict(zip((c.name for c in checks), gx_runner.build_expectations(suite, checks)))
    for c in checks:  # and does not fall back to GX on this data
        if c.name in native and c.name not in ("ticks_between", "bounds_reversed"):
            column_checks.evaluate(c, built[c.name], table.data[c.column], table.ids, all_rows, gx_runner.EXAMPLES)
    fast = _outcomes(frame, suite, checks, all_rows, per_value=True)
    slow = _outcomes(frame, suite, checks, all_rows, per_value=False)
    assert fast.keys() == slow.keys() == {c.name for c in checks}
    for name in fast:
        assert fast[name] == slow[name], name
    if rows:  # the awkward rows did fail, so the comparison covered failing rows
        assert fast["unique_respondent_id"]["unexpected"] > 0
        assert fast["eligible_county_in_state"]["unexpected"] > 0
        assert fast["ticks_are_yes_no__actions_taken__none"]["unexpected"] == 0  # a blank is not unexpected
        assert fast["duration_at_most"]["unexpected"] > 0 and fast["rows_between"]["unexpected"] > 0
        assert fast["ticks_between"]["unexpected"] > 0 and fast["bounds_reversed"]["error"]


def test_row_numbers_are_the_row_ids_in_row_order(assessment):
    suite = load_suite("officer_responses", assessment)
    frame = _awkward(assessment).sample(frac=1.0, random_state=5).reset_index(drop=True)  # ids out of order
    checks = [c for c in suite.checks if c.kind == "expectation"]
    assert _outcomes(frame, suite, checks, True, True) == _outcomes(frame, suite, checks, True, False)


def test_a_row_condition_is_left_to_great_expectations(assessment):
    suite = load_suite("officer_responses", assessment)
    conditional = [c for c in suite.checks if c.kwargs.get("row_condition")]
    assert conditional and not any(column_checks.can_evaluate(c) for c in conditional)


def test_rules_reading_filled_rows_from_the_categories_equal_the_plain_rules(assessment):
    from assets.quality.rules import RuleContext, run_rule

    suite = load_suite("officer_responses", assessment)
    frame = _awkward(assessment)
    rng = np.random.default_rng(9)
    items = ["trained_sex", "trained_labor", "prepared_minors", "more_laws_needed"]
    frame.loc[rng.choice(len(frame), 60, replace=False), items] = "Strongly agree"  # straight-liners
    frame.loc[rng.choice(len(frame), 30, replace=False), items] = "Agree"  # same middling answer
    frame.loc[rng.choice(len(frame), 20, replace=False), "trained_labor"] = None
    frame.loc[rng.choice(len(frame), 20, replace=False), "prepared_minors"] = np.nan
    frame.loc[rng.choice(len(frame), 40, replace=False), "duration_seconds"] = 15.0  # speeders
    frame.loc[rng.choice(len(frame), 30, replace=False), ["gender", "county", "agency_type"]] = None
    ids = frame["source_row"].to_numpy()
    table = gx_runner.prepare(frame, suite.checks, suite.row_id)
    assert {"trained_sex", "trained_labor", "prepared_minors", "more_laws_needed", "gender"} <= set(table.categories())
    complete = frame[items].notna().all(axis=1).to_numpy()
    same = frame[items].eq(frame[items[0]], axis=0).all(axis=1).to_numpy() & complete
    known = RuleContext(assessment, len(frame), known=table.categories())
    assert same.sum() >= 60 and ((known.same_answers(frame, items) & complete) == same).all()
    for check in [c for c in suite.checks if c.kind == "rule" and not c.blocking]:
        plain = run_rule(check.type, frame, ids, RuleContext(assessment, len(frame)), check.kwargs)
        known = run_rule(check.type, frame, ids, RuleContext(assessment, len(frame), known=table.categories()),
                         check.kwargs)
        assert dataclasses.asdict(known) == dataclasses.asdict(plain), check.name
        if check.type in ("speeders", "straight_lining"):
            assert plain.unexpected > 0


def test_completeness_from_the_categories_equals_counting_a_query_of_the_rows(assessment):
    from assets.quality.suites import answer_column, asked_if_condition
    from assets.quality.summary import completeness_table

    suite = load_suite("officer_responses", assessment)
    frame = _awkward(assessment)
    rng = np.random.default_rng(12)
    frame.loc[rng.choice(len(frame), 40, replace=False), "cases_past_year"] = None
    frame.loc[rng.choice(len(frame), 40, replace=False), "actions_taken__determined_minor"] = pd.NA
    frame.loc[rng.choice(len(frame), 25, replace=False), "years_of_service"] = np.nan
    table = gx_runner.prepare(frame, suite.checks, suite.row_id)

    def by_query(v) -> tuple[int, int]:  # the straightforward count: the rows the condition selects
        col, cond = answer_column(assessment, v.name), asked_if_condition(assessment, v.name)
        if col not in frame.columns:
            return len(frame), 0
        sub = frame.query(cond) if cond else frame
        return len(sub), int(sub[col].notna().sum())

    expected = [by_query(v) for v in assessment.codebook.variables]
    assert any(asked < len(frame) for asked, _ in expected)  # a skip-logic condition selected rows
    for known in (table.categories(), None):
        got = completeness_table(frame, assessment, known=known)
        assert list(zip(got["asked"], got["answered"])) == expected
    pd.testing.assert_frame_equal(completeness_table(frame, assessment, known=table.categories()),
                                  completeness_table(frame, assessment))


def test_great_expectations_checks_a_state_sized_table_itself(assessment, monkeypatch):
    """Per-value evaluation is the scale path: below PER_VALUE_MIN_ROWS every check goes to GX."""
    suite = load_suite("officer_responses", assessment)
    checks = [c for c in suite.checks if c.kind == "expectation"]
    frame = _awkward(assessment).iloc[:50].reset_index(drop=True)
    calls: list[str] = []
    real = column_checks.evaluate
    monkeypatch.setattr(column_checks, "evaluate", lambda c, *a, **k: calls.append(c.name) or real(c, *a, **k))
    small = _outcomes(frame, suite, checks, True, per_value=None)
    assert calls == []
    monkeypatch.setattr(gx_runner, "PER_VALUE_MIN_ROWS", 50)  # the same table counted as large
    large = _outcomes(frame, suite, checks, True, per_value=None)
    assert len(calls) > 30
    assert small == large
