"""Estimator behaviour not covered by the R reference numbers: domains, missing data, intervals
for plain counts, result shapes, and speed at a million rows.

R reference numbers: test_estimates_reference.py and test_estimates_extra_reference.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assets.estimates.calibration import rake
from assets.estimates.design import SurveyDesign
from assets.estimates.domains import svyby
from assets.estimates.estimators import Estimate, svymean, svytotal, svyvar, unweighted_proportion
from assets.estimates.proportions import svyciprop, svyprop
from assets.estimates.intervals import clopper_pearson_interval, wilson_interval


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 600
    return pd.DataFrame({
        "county": rng.choice(["Cumberland", "York", "Penobscot", "Aroostook"], size=n, p=[.4, .3, .25, .05]),
        "role": rng.choice(["patrol", "investigator", "supervisor"], size=n),
        "psu": rng.integers(0, 60, size=n),
        "w": rng.uniform(1, 4, size=n),
        "saw_trafficking": rng.random(size=n) < 0.15,
        "hours": rng.gamma(2, 3, size=n),
    })


def test_estimate_record(survey):
    e = svymean(SurveyDesign(survey, weights="w", ids="psu"), "hours")
    assert isinstance(e, Estimate)
    assert set(e.as_dict()) >= {"estimate", "se", "ci_low", "ci_high", "n", "deff", "df", "domain"}
    assert e.ci_low < e.estimate < e.ci_high and e.n == len(survey) and e.df == 59


def test_domain_by_mask_or_mapping_and_outside_rows_do_not_matter(survey):
    d = SurveyDesign(survey, weights="w", ids="psu")
    a = svymean(d, "hours", domain={"county": "York"})
    b = svymean(d, "hours", domain=(survey["county"] == "York").to_numpy())
    assert a.estimate == b.estimate and a.se == b.se
    # changing the outcome outside the domain leaves the domain estimate and its SE unchanged
    changed = survey.assign(hours=np.where(survey["county"] == "York", survey["hours"], 1e6))
    c = svymean(SurveyDesign(changed, weights="w", ids="psu"), "hours", domain={"county": "York"})
    assert c.estimate == pytest.approx(a.estimate) and c.se == pytest.approx(a.se)
    assert svymean(d, "hours", domain={"county": ["York", "Cumberland"]}).n == int(
        survey["county"].isin(["York", "Cumberland"]).sum())


def test_missing_values_need_na_rm(survey):
    data = survey.assign(hours=survey["hours"].where(survey.index % 10 != 0))
    d = SurveyDesign(data, weights="w", ids="psu")
    with pytest.raises(ValueError, match="missing"):
        svymean(d, "hours")
    e = svymean(d, "hours", na_rm=True)
    assert e.n == len(data) - data["hours"].isna().sum()
    expected = np.average(data["hours"].dropna(), weights=data.loc[data["hours"].notna(), "w"])
    assert e.estimate == pytest.approx(expected)


def test_total_mean_and_variance_consistency(survey):
    d = SurveyDesign(survey, weights="w")
    t = svytotal(d, "hours")
    assert t.estimate == pytest.approx((survey["w"] * survey["hours"]).sum())
    v = svyvar(d, "hours")
    w, y = survey["w"], survey["hours"]
    m = np.average(y, weights=w)
    assert v == pytest.approx((w * (y - m) ** 2).sum() / w.sum() * len(y) / (len(y) - 1))


def test_interval_df_options(survey):
    d = SurveyDesign(survey, weights="w", ids="psu")
    t = svymean(d, "hours")
    z = svymean(d, "hours", df=None)
    assert z.df == math.inf and (z.ci_high - z.ci_low) < (t.ci_high - t.ci_low)
    assert (z.ci_high - z.estimate) / z.se == pytest.approx(1.959964, rel=1e-6)


def test_categorical_proportions_sum_to_one(survey):
    d = SurveyDesign(survey, weights="w", ids="psu")
    table = svyprop(d, "role")
    assert table["estimate"].sum() == pytest.approx(1)
    assert table["count"].sum() == len(survey) and (table["n"] == len(survey)).all()
    assert ((table["ci_low"] >= 0) & (table["ci_high"] <= 1)).all()


def test_svyby_categorical_outcome_gives_levels_within_domains(survey):
    d = SurveyDesign(survey, weights="w", ids="psu")
    table = svyby(d, "role", "county", statistic="proportion")
    assert set(table.columns) >= {"county", "domain", "level", "estimate", "se", "ci_low", "ci_high", "n", "count", "deff"}
    for _, g in table.groupby("county"):
        assert g["estimate"].sum() == pytest.approx(1)
        assert g["count"].sum() == g["n"].iloc[0]
    assert list(table["county"].unique()) == sorted(survey["county"].unique())


def test_small_domain_proportion_stays_inside_unit_interval(survey):
    d = SurveyDesign(survey, weights="w", ids="psu")
    small = (survey["county"] == "Aroostook") & (survey["role"] == "supervisor")
    for method in ("logit", "likelihood", "beta", "asin", "xlogit"):
        e = svyciprop(d, "saw_trafficking", domain=small.to_numpy(), method=method)
        assert 0 <= e.ci_low <= e.estimate <= e.ci_high <= 1


def test_proportion_requires_binary(survey):
    d = SurveyDesign(survey, weights="w")
    with pytest.raises(ValueError, match="binary"):
        svyciprop(d, "hours")
    with pytest.raises(ValueError, match="method"):
        svyciprop(d, "saw_trafficking", method="wald")  # type: ignore[arg-type]


def test_unweighted_proportion_uses_wilson_or_exact():
    w = unweighted_proportion(3, 17)
    assert (w.ci_low, w.ci_high) == wilson_interval(3, 17, 0.95)
    cp = unweighted_proportion(0, 9, method="clopper-pearson")
    assert (cp.ci_low, cp.ci_high) == clopper_pearson_interval(0, 9, 0.95)
    assert cp.ci_low == 0 and cp.ci_high > 0.3
    # R 4.2.2: print(prop.test(3, 17, correct = FALSE)$conf.int, digits = 10)
    assert w.ci_low == pytest.approx(0.06191126638, abs=1e-10)
    assert w.ci_high == pytest.approx(0.41029458569, abs=1e-10)


@pytest.mark.slow
def test_million_rows_rake_and_proportions():
    """A million rows raked on two margins, three proportions (speed: `htna bench`, not this test)."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    df = pd.DataFrame({
        "region": rng.choice(["a", "b", "c", "d"], n),
        "agency": rng.choice(["x", "y", "z"], n),
        "stratum": rng.integers(0, 20, n),
        "psu": rng.integers(0, 2000, n),
        "w": rng.uniform(1, 5, n),
        "q1": rng.random(n) < 0.2,
        "q2": rng.random(n) < 0.01,
        "q3": rng.random(n) < 0.5,
    })
    d = SurveyDesign(df, weights="w", strata="stratum", ids="psu", nest=True)
    d = rake(d, {"region": {"a": 1e6, "b": 2e6, "c": 1e6, "d": 5e5},
                 "agency": {"x": 2e6, "y": 2e6, "z": 5e5}})
    results = [svyciprop(d, q) for q in ("q1", "q2", "q3")]
    assert d.raking.converged
    assert all(0 < r.se < 0.01 for r in results)
