"""Headline indicators: denominators, subgroups, domains, weighted and unweighted rows, respondents."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from assets.estimates.calibration import post_stratify
from assets.estimates.design import SurveyDesign
from assets.estimates.proportions import svyciprop
from assets.estimates.headline import HEADLINE_COLUMNS, headline_indicators, indicator_domains
from assets.estimates.intervals import clopper_pearson_interval, wilson_interval

COUNTIES = ["Androscoggin", "Aroostook", "Cumberland", "Franklin", "Hancock", "Kennebec", "Knox", "Lincoln",
            "Oxford", "Penobscot", "Piscataquis", "Sagadahoc", "Somerset", "Waldo", "Washington", "York"]


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


def crafted(n: int = 120) -> pd.DataFrame:
    rows = []
    for i in range(n):
        county = COUNTIES[i % 16] if i >= 40 else ("Cumberland" if i % 2 else "York")
        rows.append({
            "respondent_id": f"r{i}", "source_row": i + 3, "county": county,
            "county_group": "Cumberland and York" if county in ("Cumberland", "York") else "All other counties",
            "gender": "Male" if i % 10 < 7 else ("Female" if i % 10 < 9 else None),
            "experience_band": "More than 10 years" if i % 2 else "10 years or less",
            "agency_type": "Municipal police department" if i % 3 else "County sheriff's office",
            "trafficking_issue": "Yes" if i % 4 == 0 else "No",
            "cases_past_year": "More than 5" if i < 4 else ("1 to 5" if i % 3 == 0 else "None"),
            "more_laws_needed": "Agree" if i < 3 else "Disagree",
            "handled_case": "Yes" if (i < 4 or i % 3 == 0) else "No",
            "actions_taken__determined_minor": (i % 2 == 0) if (i < 4 or i % 3 == 0) else None,
            "actions_taken__called_advocate": (i % 5 > 0) if (i < 4 or i % 3 == 0) else None,
            "trained_sex": "Strongly agree" if i % 5 < 3 else "Disagree", "trained_labor": None,
            "prepared_minors": "Agree" if i % 3 else "Neither agree nor disagree",
            "familiar_organisations": "No" if i % 4 else "Yes",
            "help_wanted__clear_definitions": i % 2 == 0, "help_wanted__identification_training": i % 3 == 0,
        })
    return frame(rows)


@pytest.fixture(scope="module")
def table(assessment):
    return headline_indicators(crafted(), assessment, "2015")


def test_columns_and_two_rows_per_cell(table):
    assert list(table.columns) == HEADLINE_COLUMNS
    cells = table.groupby(["indicator", "domain", "level"])["weighted"].agg(["sum", "count"])
    assert (cells["sum"] == 1).all() and (cells["count"] == 2).all()
    # weighted and unweighted rows of a cell share respondents, n and successes
    both = table.pivot_table(index=["indicator", "domain", "level"], columns="weighted",
                             values=["respondents", "n", "successes"], aggfunc="first")
    for col in ("respondents", "n", "successes"):
        assert (both[(col, True)] == both[(col, False)]).all()
    # the table is internal, every cell as computed: what may be shown is the publication gate's
    assert "suppressed" not in table.columns


def test_denominators_subgroups_and_unweighted_shares(table):
    t = table[~table["weighted"]].set_index(["indicator", "domain", "level"])
    male = t.loc[("male", "all", "All officers")]
    assert (male["n"], male["successes"]) == (108, 84)  # missing answers are not in the denominator
    assert male["estimate"] == pytest.approx(84 / 108)
    assert (male["ci_low"], male["ci_high"]) == pytest.approx(wilson_interval(84, 108))
    assert male["published_2015"] == 0.89 and male["ci_method"] == "wilson"
    issue = t.loc[("trafficking_issue", "county_group", "Cumberland and York")]
    assert issue["n"] == 40 + 10 and bool(issue["featured"])
    # only 4 officers handled more than 5 cases: computed here, hidden by the gate (tests/unit/test_publication_gate.py)
    laws = t.loc[("more_laws_needed_high_caseload", "all", "Officers who handled more than 5 cases")]
    assert (laws["respondents"], laws["n"]) == (4, 4)
    # a question nobody answered gives no estimate
    none = t.loc[("trained_labor", "all", "All officers")]
    assert none["n"] == 0 and math.isnan(none["estimate"])
    # respondents counts the cell's officers of the population, answered or not
    assert male["respondents"] == 120 and male["n"] == 108


def test_weighted_rows_are_svyciprop_on_the_poststratified_design(assessment, table):
    from assets.estimates.weighting import weight_officers

    data = crafted()
    cells = weight_officers(data, assessment, "2015").table  # counties of few respondents merged
    data = data.assign(poststratum=cells["poststratum"].to_numpy())
    totals = cells.groupby("poststratum")["cell_officers"].first().to_dict()
    design = post_stratify(SurveyDesign(data), "poststratum", totals)
    y = np.where(data["trained_sex"].notna(), data["trained_sex"].isin(["Agree", "Strongly agree"]), np.nan)
    e = svyciprop(design, y, method="logit", na_rm=True)
    row = table[(table["indicator"] == "trained_sex") & (table["domain"] == "all") & table["weighted"]].iloc[0]
    assert row["estimate"] == pytest.approx(e.estimate, rel=1e-12)
    assert row["se"] == pytest.approx(e.se, rel=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((e.ci_low, e.ci_high), rel=1e-12)
    assert row["deff"] == pytest.approx(e.deff) and row["ci_method"] == "logit"
    dom = data["experience_band"] == "More than 10 years"
    e2 = svyciprop(design, y, domain=dom.to_numpy(), na_rm=True)
    row2 = table[(table["indicator"] == "trained_sex") & (table["level"] == "More than 10 years")
                 & table["weighted"]].iloc[0]
    assert row2["estimate"] == pytest.approx(e2.estimate, rel=1e-12) and row2["se"] == pytest.approx(e2.se, rel=1e-12)


def test_every_domain_level_has_a_row_and_restating_domains_are_skipped(assessment, table):
    levels = table[(table["indicator"] == "trained_sex") & (table["domain"] == "county")]["level"]
    assert sorted(set(levels)) == sorted(COUNTIES)
    # experience_band restates over_10_years_service's own question; cases_past_year the `among`
    ind = {i.id: i for i in assessment.indicators.indicators}
    assert "experience_band" not in indicator_domains(assessment, ind["over_10_years_service"])
    assert "cases_past_year" not in indicator_domains(assessment, ind["more_laws_needed_high_caseload"])
    assert "cases_past_year" not in indicator_domains(assessment, ind["handled_case_past_year"])
    assert indicator_domains(assessment, ind["trafficking_issue"])[0] == "county_group"


def test_the_gate_shows_no_small_count_of_this_table(table, assessment):
    from assets.publication.indicators import publish_indicators
    from assets.publication.policy import DisclosurePolicy

    published = publish_indicators(table, assessment, DisclosurePolicy.from_assessment(assessment))
    shown = published[~published["suppressed"]]
    m = assessment.min_cell_count
    assert (shown["n"] >= m).all()
    assert (shown["successes"] >= m).all() and ((shown["n"] - shown["successes"]) >= m).all()
    assert published.loc[published["suppressed"], ["n", "successes", "estimate", "ci_low", "ci_high"]].isna().all().all()


def _answer_levels(assessment, col: str) -> list[str]:
    """The answers a headline column can hold: its domain levels (or yes/no/selected) and every
    indicator's success answers on it, each once."""
    from assets.estimates.headline import domain_levels

    levels = list(domain_levels(assessment, col)) or ["Yes", "No", "Selected"]
    for ind in assessment.indicators.indicators:
        if ind.variable == col:
            levels += [str(v) for v in ind.success]
    return list(dict.fromkeys(levels))


@pytest.mark.parametrize("seed,n", [(7, 3000), (8, 600)])
def test_cell_totals_give_the_row_by_row_table(assessment, monkeypatch, seed, n):
    """The headline table from cell totals equals the straightforward row-level computation."""
    from assets.estimates import headline
    from assets.ingest.synthetic import generate_officer_answers

    answers = generate_officer_answers(assessment, "2015", seed, n)
    answers.loc[answers.sample(frac=0.05, random_state=seed).index, "county"] = None  # an unknown-county cell
    grouped = headline_indicators(answers, assessment, "2015")
    monkeypatch.setattr(headline, "COLLAPSE", False)
    rowwise = headline_indicators(answers, assessment, "2015")
    pd.testing.assert_frame_equal(grouped.drop(columns=["estimate", "se", "ci_low", "ci_high", "deff"]),
                                  rowwise.drop(columns=["estimate", "se", "ci_low", "ci_high", "deff"]))
    for col in ["estimate", "se", "ci_low", "ci_high", "deff"]:
        np.testing.assert_allclose(grouped[col].to_numpy(float), rowwise[col].to_numpy(float), rtol=1e-10, atol=1e-12,
                                   err_msg=col)


def test_columns_factorised_once_per_table_give_the_same_rows(assessment):
    """headline_indicators factorises each column once for all indicators and domains (a shared
    cache); every row equals the one worked out indicator by indicator without it, also with
    missing answers of every kind (None, NaN, pd.NA) and answers outside the codebook."""
    from assets.estimates.headline import headline_columns, indicator_rows
    from assets.estimates.weighting import weight_officers

    rng = np.random.default_rng(7)
    n = 3_000
    data = {"wave": "2015", "respondent_id": [f"r{i}" for i in range(n)], "source_row": np.arange(2, n + 2)}
    counties = list(assessment.config.officer_headcounts.by_county)
    data["county"] = np.array(counties + [None], dtype=object)[rng.integers(0, len(counties) + 1, n)]
    for col in headline_columns(assessment):
        if col in data:
            continue
        choices = np.array([*_answer_levels(assessment, col), None, np.nan, pd.NA, "something else"], dtype=object)
        data[col] = choices[rng.integers(0, len(choices), n)]
    responses = pd.DataFrame(data)
    weighting = weight_officers(responses, assessment, "2015")
    cache: dict = {}
    for ind in assessment.indicators.indicators:
        shared = pd.DataFrame(indicator_rows(responses, ind, "2015", weighting, assessment, cache))
        alone = pd.DataFrame(indicator_rows(responses, ind, "2015", weighting, assessment, None))
        pd.testing.assert_frame_equal(shared, alone)
    assert any(isinstance(k, tuple) for k in cache)  # the shared factorisations were used



@pytest.mark.parametrize("seed", [3, 4])
def test_headline_cells_keyed_by_the_joint_domain_code_equal_row_level_rows(assessment, seed):
    """The collapsed headline keys the domains by their cross-classification (worked out once per
    list of domains, shared through the cache); its rows equal the row-by-row computation on
    awkward data: missing answers of every kind, answers outside the codebook, empty levels,
    counties merged into one weighting cell, one-respondent domains, an unknown-county cell."""
    import assets.estimates.headline as headline_module
    from assets.estimates.headline import headline_columns, indicator_rows
    from assets.estimates.weighting import weight_officers

    rng = np.random.default_rng(seed)
    n = 400
    counties = list(assessment.config.officer_headcounts.by_county)
    data = {"wave": "2015", "respondent_id": [f"r{i}" for i in range(n)], "source_row": np.arange(2, n + 2)}
    # most in two counties, one respondent each in a few, none in the rest; some unknown
    county = np.array(["Cumberland", "York"], dtype=object)[rng.integers(0, 2, n)]
    county[:5] = counties[2:7]
    county[5:12] = None
    data["county"] = county
    for col in headline_columns(assessment):
        if col in data:
            continue
        levels = _answer_levels(assessment, col)
        p = np.array([0.5] + [0.5 / max(len(levels) - 1, 1)] * (len(levels) - 1))[:len(levels)]
        values = np.array(levels, dtype=object)[rng.choice(len(levels), n, p=p / p.sum())]
        values[rng.random(n) < 0.1] = None
        values[rng.integers(0, n)] = "something else"
        values[rng.integers(0, n)] = np.nan
        data[col] = values
    responses = pd.DataFrame(data)
    weighting = weight_officers(responses, assessment, "2015")
    assert weighting.cells.merged  # small counties merged into one weighting cell
    cache: dict = {}
    for ind in assessment.indicators.indicators:
        fast = pd.DataFrame(indicator_rows(responses, ind, "2015", weighting, assessment, cache))
        try:
            headline_module.COLLAPSE = False
            slow = pd.DataFrame(indicator_rows(responses, ind, "2015", weighting, assessment, None))
        finally:
            headline_module.COLLAPSE = True
        numbers = ["estimate", "se", "ci_low", "ci_high", "deff"]
        pd.testing.assert_frame_equal(fast.drop(columns=numbers), slow.drop(columns=numbers))
        for col in numbers:
            np.testing.assert_allclose(fast[col].to_numpy(float), slow[col].to_numpy(float), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{ind.id} {col}")
        assert ((fast["n"] == 1) & (fast["domain"] != "all")).any() or ind.among  # one-respondent domains
    assert any(isinstance(k, tuple) and k[0] == "joint" for k in cache)
