"""Fay–Herriot estimates of county proportions: transforms, synthetic areas, and a simulation check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assets.models.small_area import design_matrix, fay_herriot
from assets.models.small_area_proportions import fay_herriot_proportions, fit_proportions
from assets.models.small_area_simulation import DEFAULT_SAMPLE_SIZES, simulate_areas

COLUMNS = [
    "area", "n", "direct", "direct_se", "eblup", "eblup_mse", "eblup_rmse",
    "ci_low", "ci_high", "shrinkage", "cv", "synthetic",
]


@pytest.fixture(scope="module")
def counties() -> pd.DataFrame:
    """Sixteen made-up counties with small and empty samples, including shares of 0 and 1."""
    n = np.array([0, 2, 3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 120])
    y = np.array([0, 0, 3, 1, 4, 0, 3, 9, 3, 10, 3, 12, 25, 12, 36, 12])
    return pd.DataFrame(
        {
            "county": [f"C{i:02d}" for i in range(16)],
            "n": n,
            "y": y,
            "p_hat": np.where(n > 0, y / np.maximum(n, 1), np.nan),
            "rural": np.tile([0.0, 1.0], 8),
        }
    )


def test_arcsine_table(counties: pd.DataFrame) -> None:
    X = design_matrix(counties, numeric=["rural"])
    out = fay_herriot_proportions(counties.p_hat, counties.n, X, area=counties.county)
    assert list(out.columns[: len(COLUMNS)]) == COLUMNS
    assert list(out.area) == list(counties.county)
    assert out.synthetic.tolist() == [True] + [False] * 15
    assert np.isnan(out.direct[0]) and np.isnan(out.direct_se[0]) and out.shrinkage[0] == 0
    # estimates and limits inside [0, 1] and ordered, also for p_hat = 0 (C01, C05) and 1 (C02)
    for col in ("eblup", "ci_low", "ci_high"):
        assert out[col].between(0, 1).all(), col
    assert (out.ci_low <= out.eblup).all() and (out.eblup <= out.ci_high).all()
    assert (out.ci_low < out.ci_high).all()
    assert out.attrs["A"] > 0 and not out.attrs["truncated"] and out.attrs["converged"]
    # shrinkage = weight on the direct estimate, grows with the sample size
    assert out.shrinkage.between(0, 1).all() and out.shrinkage[1:].gt(0).all()
    assert out.shrinkage[1:].is_monotonic_increasing
    # the model pulls a 0/2 and a 3/3 towards the rest
    assert out.eblup[1] > 0 and out.eblup[2] < 1
    # direct SE is binomial
    np.testing.assert_allclose(out.direct_se[1:], np.sqrt(counties.p_hat * (1 - counties.p_hat) / counties.n)[1:])
    np.testing.assert_allclose(out.cv, out.eblup_rmse / out.eblup)


def test_arcsine_matches_transformed_fay_herriot(counties: pd.DataFrame) -> None:
    X = design_matrix(counties, numeric=["rural"])
    fit = fit_proportions(counties.p_hat, counties.n, X, area=counties.county, level=0.9)
    sampled = counties.n > 0
    t = np.where(sampled, np.arcsin(np.sqrt(counties.p_hat)), np.nan)
    D = np.where(sampled, 1 / (4 * counties.n.clip(lower=1)), np.nan)
    ref = fay_herriot(t, D, X)
    assert fit.model.A == ref.A
    np.testing.assert_allclose(fit.table.eblup_transformed, ref.eblup)
    np.testing.assert_allclose(fit.table.mse_transformed, ref.mse())
    np.testing.assert_allclose(fit.table.eblup, np.sin(ref.eblup) ** 2)
    z = stats.norm.ppf(0.95)
    half = z * np.sqrt(ref.mse())
    np.testing.assert_allclose(fit.table.ci_low, np.sin(np.clip(ref.eblup - half, 0, np.pi / 2)) ** 2)
    np.testing.assert_allclose(fit.table.ci_high, np.sin(np.clip(ref.eblup + half, 0, np.pi / 2)) ** 2)
    # delta-method MSE on the proportion scale
    np.testing.assert_allclose(fit.table.eblup_mse, np.sin(2 * ref.eblup) ** 2 * ref.mse())
    assert fit.table.attrs["transform"] == "arcsine" and fit.table.attrs["A"] == ref.A


def test_missing_p_hat_and_zero_n_are_synthetic(counties: pd.DataFrame) -> None:
    p = counties.p_hat.copy()
    p[7] = np.nan  # sampled, but no usable estimate
    n = counties.n.astype(float).copy()
    n[9] = np.nan
    out = fay_herriot_proportions(p, n, design_matrix(counties, numeric=["rural"]))
    assert out.synthetic[[0, 7, 9]].all() and out.synthetic.sum() == 3
    assert out.eblup.between(0, 1).all()
    # synthetic areas are less precise than any area with 10+ respondents
    assert out.mse_transformed[out.synthetic].min() > out.mse_transformed[~out.synthetic & (n >= 10)].max()


def test_no_between_area_variation_gives_synthetic_estimates_and_says_so() -> None:
    n = np.array([0, 20, 30, 40, 50, 60, 70, 80])
    y = np.array([0, 4, 6, 8, 10, 12, 14, 16])  # every county at exactly 20%
    p = np.where(n > 0, y / np.maximum(n, 1), np.nan)
    with pytest.warns(UserWarning, match="truncated to 0"):
        fit = fit_proportions(p, n)
    out = fit.table
    assert out.attrs["truncated"] and out.attrs["A"] == 0
    assert (out.shrinkage == 0).all()
    np.testing.assert_allclose(out.eblup, 0.2, rtol=1e-12)
    assert fit.model.notes and "truncated" in fit.model.notes[0]


@pytest.mark.parametrize("transform", ["logit", "none"])
def test_other_transforms_stay_in_unit_interval(counties: pd.DataFrame, transform: str) -> None:
    out = fay_herriot_proportions(counties.p_hat, counties.n, transform=transform)  # intercept only
    for col in ("eblup", "ci_low", "ci_high"):
        assert out[col].between(0, 1).all(), (transform, col)
    assert (out.ci_low <= out.eblup).all() and (out.eblup <= out.ci_high).all()
    assert out.synthetic.tolist() == [True] + [False] * 15
    assert np.isfinite(out.mse_transformed).all() and (out.mse_transformed > 0).all()


def test_variance_input(counties: pd.DataFrame) -> None:
    inner = counties[(counties.p_hat > 0) & (counties.p_hat < 1)].reset_index(drop=True)
    var = inner.p_hat * (1 - inner.p_hat) / inner.n
    by_var = fay_herriot_proportions(inner.p_hat, var=var)
    by_n = fay_herriot_proportions(inner.p_hat, inner.n)
    np.testing.assert_allclose(by_var.n, inner.n)
    np.testing.assert_allclose(by_var.eblup, by_n.eblup)
    np.testing.assert_allclose(by_var.direct_se, np.sqrt(var))
    # on the proportion scale, var is used as the sampling variance
    none = fit_proportions(inner.p_hat, var=var, transform="none")
    np.testing.assert_allclose(none.model.sampling_var, var)
    with pytest.raises(ValueError, match="n_eff"):
        fay_herriot_proportions(counties.p_hat, var=counties.p_hat * (1 - counties.p_hat) / counties.n)
    with pytest.raises(ValueError, match="n_eff"):
        fay_herriot_proportions(counties.p_hat)
    with pytest.raises(ValueError, match="transform"):
        fay_herriot_proportions(counties.p_hat, counties.n, transform="probit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fay_herriot_proportions(counties.p_hat * 2, counties.n)


# ---- simulation --------------------------------------------------------------------------------


def test_simulate_areas() -> None:
    a = simulate_areas(7)
    b = simulate_areas(7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_areas(8))
    assert len(a) == 16 and sorted(a.n) == sorted(DEFAULT_SAMPLE_SIZES)
    assert {0, 2, 3} <= set(a.n)
    assert a.p_hat[a.n == 0].isna().all()
    s = a[a.n > 0]
    np.testing.assert_allclose(s.p_hat, s.successes / s.n)
    assert a.true_p.between(0, 1).all()
    big = simulate_areas(1, n_areas=40, sample_sizes=[0, 3, 50], scale="arcsine", beta=(0.55, 0.1), sigma_u=0.12)
    assert len(big) == 40 and set(big.n) == {0, 3, 50} and big.area.is_unique


def _simulate_and_fit(seeds: range, method: str = "REML") -> pd.DataFrame:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation at 0 happens in some replicates; that is expected
        for seed in seeds:
            sim = simulate_areas(seed)
            out = fay_herriot_proportions(sim.p_hat, sim.n, design_matrix(sim, numeric=["x"]), area=sim.area,
                                          method=method)
            out["true_p"] = sim.true_p.to_numpy()
            out["seed"] = seed
            rows.append(out)
    d = pd.concat(rows, ignore_index=True)
    d["covered"] = (d.ci_low <= d.true_p) & (d.true_p <= d.ci_high)
    return d


def test_simulation_single_seed_beats_direct() -> None:
    d = _simulate_and_fit(range(2024, 2025))
    s = d[~d.synthetic]
    assert ((s.eblup - s.true_p) ** 2).mean() < ((s.direct - s.true_p) ** 2).mean()
    assert (s.eblup - s.true_p).abs().mean() < (s.direct - s.true_p).abs().mean()


@pytest.mark.parametrize("method", ["REML", "FH"])
def test_simulation_accuracy_and_coverage(method: str) -> None:
    """Over 150 fixed seeds x 16 areas: FH beats the direct estimates and 95% intervals cover ~95%."""
    d = _simulate_and_fit(range(150), method=method)
    s = d[~d.synthetic]
    mse_direct = ((s.direct - s.true_p) ** 2).mean()
    mse_fh = ((s.eblup - s.true_p) ** 2).mean()
    mae_direct = (s.direct - s.true_p).abs().mean()
    mae_fh = (s.eblup - s.true_p).abs().mean()
    assert mse_fh < 0.5 * mse_direct, (mse_fh, mse_direct)
    assert mae_fh < 0.75 * mae_direct, (mae_fh, mae_direct)
    # the gain is in the small areas; large areas keep close to their direct estimate
    small = s[s.n <= 10]
    assert ((small.eblup - small.true_p) ** 2).mean() < 0.5 * ((small.direct - small.true_p) ** 2).mean()
    assert s[s.n >= 80].shrinkage.mean() > 0.5 > s[s.n <= 3].shrinkage.mean()

    coverage = d.covered.mean()
    assert 0.85 <= coverage <= 0.99, coverage
    # synthetic (n = 0) areas are covered too, not just the sampled ones
    assert 0.80 <= d[d.synthetic].covered.mean() <= 1.0
    assert d[["eblup", "ci_low", "ci_high"]].apply(lambda c: c.between(0, 1)).all().all()


def test_simulation_coverage_would_catch_too_narrow_intervals() -> None:
    """The coverage check above has teeth: halving the interval width drops coverage well below 85%."""
    d = _simulate_and_fit(range(60))
    half = 0.5 * stats.norm.ppf(0.975) * np.sqrt(d.mse_transformed)
    lo = np.sin(np.clip(d.eblup_transformed - half, 0, np.pi / 2)) ** 2
    hi = np.sin(np.clip(d.eblup_transformed + half, 0, np.pi / 2)) ** 2
    assert ((lo <= d.true_p) & (d.true_p <= hi)).mean() < 0.85
