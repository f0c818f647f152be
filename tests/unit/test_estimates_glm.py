"""svyglm behaviour beyond the R reference fits: separation, aliasing, missing data, results.

R reference coefficients/SEs are checked in test_estimates_reference.py (section F) and
test_estimates_extra_reference.py (further designs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.estimates.calibration import post_stratify
from assets.estimates.design import SurveyDesign
from assets.estimates.glm import detect_separation, svyglm


def clustered(n: int = 400, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 30, size=n)
    x = rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], size=n)
    eta = -0.5 + 0.8 * x + np.where(group == "b", 0.5, 0.0) + rng.normal(0, 0.3, size=30)[cluster]
    y = rng.random(size=n) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame({"y": y, "x": x, "group": group, "cluster": cluster,
                         "w": rng.uniform(1, 3, size=n), "strat": cluster % 3})


def test_complete_separation_is_flagged_not_reported():
    df = pd.DataFrame({"x": np.arange(40, dtype=float), "w": 1.0})
    df["y"] = df["x"] > 19.5
    fit = svyglm(SurveyDesign(df, weights="w"), "y ~ x")
    assert fit.separation and not fit.reliable
    assert np.isnan(fit.coef).all() and np.isnan(fit.se).all()
    assert "x" in fit.separation_terms
    assert abs(fit.raw_coef[1]) > 1  # the diverging fit is kept for diagnosis only
    assert fit.odds_ratios()["odds_ratio"].isna().all()
    assert any("separation" in m for m in fit.messages)


def test_quasi_complete_separation_by_a_category():
    fit_data = clustered()
    fit_data.loc[fit_data["group"] == "c", "y"] = False  # no successes in group c
    fit = svyglm(SurveyDesign(fit_data, weights="w", ids="cluster"), "y ~ x + group")
    assert fit.separation and not fit.reliable
    assert "groupc" in fit.separation_terms


def test_no_false_alarm_on_ordinary_data():
    df = clustered()
    d = SurveyDesign(df, weights="w", ids="cluster", strata="strat", nest=True)
    fit = svyglm(d, "y ~ x + group")
    assert fit.reliable and fit.converged and not fit.separation
    assert fit.terms == ("(Intercept)", "x", "groupb", "groupc")
    assert 0.4 < fit.coef[1] < 1.3
    assert fit.df == 30 - 3 + 1 - 4
    table = fit.table()
    assert list(table.columns) == ["term", "estimate", "se", "t", "p", "df", "ci_low", "ci_high",
                                   "odds_ratio", "or_low", "or_high"]
    assert (table["or_low"] < table["odds_ratio"]).all() and (table["odds_ratio"] < table["or_high"]).all()
    ors = fit.odds_ratios()
    assert list(ors["term"]) == ["x", "groupb", "groupc"]


def test_detect_separation_directly():
    x = np.column_stack([np.ones(6), [1.0, 2, 3, 4, 5, 6]])
    assert detect_separation(x, np.array([0, 0, 0, 1, 1, 1.0])) is not None
    assert detect_separation(x, np.array([0, 1, 0, 1, 0, 1.0])) is None
    assert detect_separation(x, np.array([0, 0, 1, 1, 1, 1.0])) is not None
    # overlapping at one x value: quasi-complete separation
    xq = np.column_stack([np.ones(6), [1.0, 2, 3, 3, 5, 6]])
    assert detect_separation(xq, np.array([0, 0, 0, 1, 1, 1.0])) is not None


def test_gaussian_point_estimates_are_weighted_least_squares():
    df = clustered()
    df["z"] = 2 + 3 * df["x"] + np.random.default_rng(1).normal(size=len(df))
    fit = svyglm(SurveyDesign(df, weights="w", ids="cluster"), "z ~ x", family="gaussian")
    sw = np.sqrt(df["w"].to_numpy())
    xm = np.column_stack([np.ones(len(df)), df["x"]])
    beta, *_ = np.linalg.lstsq(xm * sw[:, None], df["z"].to_numpy() * sw, rcond=None)
    assert np.allclose(fit.coef, beta)
    assert fit.converged and fit.reliable


def test_aliased_terms_are_dropped_like_r():
    df = clustered()
    df["x2"] = 2 * df["x"]
    fit = svyglm(SurveyDesign(df, weights="w"), "y ~ x + x2")
    assert fit.aliased == ("x2",)
    assert np.isnan(fit.coef[2]) and np.isfinite(fit.coef[:2]).all()


def test_missing_rows_are_dropped_and_subset_uses_full_design():
    df = clustered()
    full = svyglm(SurveyDesign(df, weights="w", ids="cluster"), "y ~ x")
    df_na = df.copy()
    df_na.loc[:9, "x"] = np.nan
    fit = svyglm(SurveyDesign(df_na, weights="w", ids="cluster"), "y ~ x")
    assert fit.n == len(df) - 10
    assert not np.allclose(fit.coef, full.coef)
    via_subset = svyglm(SurveyDesign(df, weights="w", ids="cluster"), "y ~ x",
                        subset=np.arange(len(df)) >= 10)
    assert np.allclose(via_subset.coef, fit.coef, rtol=1e-7)
    assert np.allclose(via_subset.se, fit.se, rtol=1e-7)


def test_formula_parsing_and_errors():
    df = clustered()
    d = SurveyDesign(df, weights="w")
    assert svyglm(d, "y ~ x - 1").terms == ("x",)
    assert svyglm(d, "y ~ 1").terms == ("(Intercept)",)
    with pytest.raises(ValueError):
        svyglm(d, "y ~ x:group")
    with pytest.raises(KeyError):
        svyglm(d, "y ~ nope")
    with pytest.raises(ValueError):
        svyglm(d, "y ~ x", family="poisson")  # type: ignore[arg-type]


def test_calibration_enters_glm_variance():
    df = clustered()
    base = SurveyDesign(df, weights="w", ids="cluster")
    pop = {"a": 1000, "b": 1000, "c": 1000}
    cal = post_stratify(base, "group", pop)
    naive = SurveyDesign(df, weights=cal.weights, ids="cluster")
    a, b = svyglm(cal, "y ~ x + group"), svyglm(naive, "y ~ x + group")
    assert np.allclose(a.coef, b.coef)
    assert not np.allclose(a.se, b.se, rtol=1e-4)
