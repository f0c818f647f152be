"""Headline indicators: denominators, subgroups, Wilson intervals and suppression."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from assets.estimates.headline import headline_indicators
from assets.estimates.intervals import clopper_pearson_interval, wilson_interval


def frame(rows):
    return pd.DataFrame(rows)


@pytest.mark.parametrize("x,n", [(0, 2), (1, 2), (2, 2), (19, 25), (0, 30), (161, 181)])
def test_intervals_match_statsmodels_and_stay_in_bounds(x, n):
    lo, hi = wilson_interval(x, n)
    rlo, rhi = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(rlo, abs=1e-12) and hi == pytest.approx(rhi, abs=1e-12)
    lo, hi = clopper_pearson_interval(x, n)
    rlo, rhi = proportion_confint(x, n, alpha=0.05, method="beta")
    assert lo == pytest.approx(rlo, abs=1e-10) and hi == pytest.approx(rhi, abs=1e-10)
    assert 0.0 <= lo < hi <= 1.0


def test_small_n_interval_is_not_degenerate():
    lo, hi = wilson_interval(2, 2)
    assert hi == 1.0 and lo < 0.5  # Wald would give [1, 1]


def test_headline_denominators_subgroups_and_suppression(assessment):
    rows = []
    for i in range(40):
        rows.append({
            "gender": "Male" if i < 30 else ("Female" if i < 38 else None),
            "experience_band": "More than 10 years" if i % 2 else "10 years or less",
            "trafficking_issue": "Yes" if i < 12 else "No",
            "county_group": "Cumberland and York" if i < 20 else "All other counties",
            "cases_past_year": "More than 5" if i < 4 else "None",
            "more_laws_needed": "Agree" if i < 3 else "Disagree",
            "handled_case": "Yes" if i < 4 else "No",
            "actions_taken__determined_minor": True if i < 4 else None,
            "actions_taken__called_advocate": (i < 2) if i < 4 else None,
            "trained_sex": "Strongly agree", "trained_labor": None, "prepared_minors": "Neither agree nor disagree",
            "familiar_organisations": "No",
        })
    table = headline_indicators(frame(rows), assessment, "2015").set_index(["indicator", "level"])
    male = table.loc[("male", "All officers")]
    assert (male["n"], male["successes"]) == (38, 30)  # missing answers are not in the denominator
    assert male["estimate"] == pytest.approx(30 / 38)
    assert male["published_2015"] == 0.89
    issue = table.loc[("trafficking_issue", "Cumberland and York")]
    assert (issue["n"], issue["successes"]) == (20, 12)
    assert table.loc[("trafficking_issue", "All other counties")]["successes"] == 0
    # only 4 officers handled more than 5 cases: below Maine's minimum of 6, so nothing is shown
    laws = table.loc[("more_laws_needed_high_caseload", "Officers who handled more than 5 cases")]
    assert laws["n"] == 4 and bool(laws["suppressed"])
    assert math.isnan(laws["estimate"]) and math.isnan(laws["ci_low"]) and math.isnan(laws["successes"])
    # a question nobody answered gives n = 0, suppressed, no estimate
    labor = table.loc[("trained_labor", "All officers")]
    assert labor["n"] == 0 and bool(labor["suppressed"])
