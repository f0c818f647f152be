"""The default county estimator against emdi::fh (stored outputs of
tests/fixtures/sae/r_emdi_fh_arcsin.R) and its own guarantees (benchmarking, intervals in (0, 1))."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.models import county_estimator as ce
from assets.models.small_area import design_matrix

FIX = Path(__file__).parents[1] / "fixtures" / "sae"


@pytest.fixture(scope="module")
def data():
    d = pd.read_csv(FIX / "emdi_arcsin.csv")
    ref = pd.read_csv(FIX / "r_emdi_fh_arcsin_output.csv")
    return d, ref


def _fit(d, method):
    t = np.arcsin(np.sqrt(d["p_hat"].to_numpy()))
    D = 1.0 / (4.0 * d["n"].to_numpy())
    X = design_matrix(d, numeric=["x"]).to_numpy()
    A = ce.adjusted_variance(t, D, X, method)
    Vi = 1 / (A + D)
    beta = np.linalg.solve((X * Vi[:, None]).T @ X, (X * Vi[:, None]).T @ t)
    xb = X @ beta
    return A, xb + A * Vi * (t - xb), A * Vi


@pytest.mark.parametrize("method", ["ampl", "ampl_yl", "reml"])
def test_variance_and_eblup_match_emdi(data, method):
    d, ref = data
    r = ref[ref["fit"] == f"{method}_transformed"]
    A, eblup, _ = _fit(d, method)
    assert A > 0
    assert A == pytest.approx(r["sigmau2"].iloc[0], rel=1e-6)
    np.testing.assert_allclose(eblup, r["FH"].to_numpy(), rtol=1e-6)


def test_bias_corrected_back_transformation_matches_emdi(data):
    d, ref = data
    r = ref[ref["fit"] == "reml_arcsin_bc"]
    A, eblup, gamma = _fit(d, "reml")
    assert A == pytest.approx(r["sigmau2"].iloc[0], rel=1e-6)
    bc = ce.emdi_arcsin_bc(eblup, A * (1 - gamma))
    np.testing.assert_allclose(bc, r["FH"].to_numpy(), rtol=1e-5)
    # our folded mean is the same wherever the normal has no mass outside [0, pi/2]
    inside = (eblup - 6 * np.sqrt(A * (1 - gamma)) > 0) & (eblup + 6 * np.sqrt(A * (1 - gamma)) < np.pi / 2)
    assert inside.sum() > 10
    np.testing.assert_allclose(ce.sin2_mean(eblup, A * (1 - gamma))[inside], bc[inside], rtol=1e-6)


def test_sin2_moments_and_quantiles_against_monte_carlo():
    rng = np.random.default_rng(1)
    mu, var = np.array([0.05, 0.7, 1.5]), np.array([0.04, 0.01, 0.09])
    draws = np.sin(mu + np.sqrt(var) * rng.standard_normal((400_000, 3))) ** 2
    np.testing.assert_allclose(ce.sin2_mean(mu, var), draws.mean(0), atol=2e-3)
    np.testing.assert_allclose(ce.sin2_variance(mu, var), draws.var(0), rtol=2e-2)
    for prob in (0.025, 0.975):
        np.testing.assert_allclose(ce.sin2_quantile(prob, mu, var), np.quantile(draws, prob, axis=0), atol=3e-3)
        q = ce.sin2_quantile(prob, mu, var)
        assert np.all((q > 0) & (q < 1))


def test_gvf_recovers_binomial_variance_and_a_design_effect():
    rng = np.random.default_rng(3)
    n = rng.integers(5, 100, 80).astype(float)
    p = rng.uniform(0.2, 0.8, 80)
    se = np.sqrt(2.0 * p * (1 - p) / n)  # design effect 2
    g = ce.fit_gvf(p, se, n)
    assert g.design_effect == pytest.approx(2.0, rel=0.05)
    assert g.variance([10.0])[0] == pytest.approx(2.0 / 40.0, rel=0.05)
    assert ce.fit_gvf([0.0, 1.0], [0.0, 0.0], [2, 3]).fixed_slope  # nothing usable: binomial


@pytest.mark.parametrize("kind", ["mse", "raking", "ratio"])
def test_estimates_add_up_to_the_state_figure(kind):
    rng = np.random.default_rng(5)
    k = 16
    n = np.array([0, 1, 2, 3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 60, 80, 100], dtype=float)
    x = rng.standard_normal(k)
    p_true = 1 / (1 + np.exp(-(-0.3 + 0.5 * x + rng.normal(0, 0.3, k))))
    p_hat = np.where(n > 0, rng.binomial(n.astype(int), p_true) / np.maximum(n, 1), np.nan)
    X = design_matrix(pd.DataFrame({"x": x}), numeric=["x"])
    H = rng.integers(20, 400, k).astype(float)
    res = ce.estimate_counties(p_hat, n, X, gvf=ce.fit_gvf([], [], []), headcount=H, state_share=0.45, bench=kind)
    t = res.table
    assert float(t["estimate"] @ H / H.sum()) == pytest.approx(0.45, abs=1e-9)
    assert res.A > 0
    assert t.loc[n < 6, "synthetic"].all() and not t.loc[n >= 6, "synthetic"].any()
    assert ((t["ci_low"] > 0) & (t["ci_high"] < 1) & (t["ci_low"] < t["estimate"]) & (t["estimate"] < t["ci_high"])).all()
    assert (t["mse"] >= ce.sin2_variance(t["eblup_transformed"], t["mse_transformed"]) - 1e-15).all()


def test_too_thin_a_wave_is_a_clear_error():
    X = design_matrix(pd.DataFrame({"x": np.arange(5.0)}), numeric=["x"])
    with pytest.raises(ValueError, match="minimum effective sample"):
        ce.estimate_counties([0.5, 0.4, np.nan, 0.2, 0.1], [10, 2, 0, 3, 1], X, gvf=ce.fit_gvf([], [], []))


def test_mse_benchmarking_moves_the_uncertain_counties_most():
    p = np.array([0.3, 0.3, 0.6])
    w = np.array([100.0, 100.0, 50.0])
    out = ce.benchmark(p, w, 0.45, "mse", mse=np.array([0.0004, 0.01, 0.004]))
    assert float(w @ out / w.sum()) == pytest.approx(0.45, abs=1e-9)
    assert abs(out[1] - p[1]) > 5 * abs(out[0] - p[0]) and np.all((out > 0) & (out < 1))
    with pytest.raises(ValueError, match="needs the MSEs"):
        ce.benchmark(p, w, 0.45, "mse")
