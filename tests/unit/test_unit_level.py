"""Unit-level alternative: logistic mixed model against lme4::glmer (stored outputs of
tests/fixtures/sae/r_glmer_binomial.R), EBP and bootstrap MSE."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from assets.models.small_area import design_matrix
from assets.models.unit_level import ebp, fit_logistic_mixed, unit_level_counties

FIX = Path(__file__).parents[1] / "fixtures" / "sae"


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "glmer_binomial.csv")


def test_fit_matches_glmer(data):
    ref = pd.read_csv(FIX / "r_glmer_binomial_output.csv").set_index("term")["value"]
    fit = fit_logistic_mixed(data.successes, data.n, design_matrix(data, numeric=["x"]).to_numpy(), nodes=40)
    assert fit.converged
    np.testing.assert_allclose(fit.beta, [ref["(Intercept)"], ref["x"]], atol=5e-5)
    assert fit.sigma == pytest.approx(ref["sigma_u"], abs=5e-5)


def test_ebp_is_the_prior_mean_without_respondents_and_moves_towards_the_data(data):
    X = design_matrix(data, numeric=["x"]).to_numpy()
    fit = fit_logistic_mixed(data.successes, data.n, X)
    draws = expit(X[:1] @ fit.beta + fit.sigma * np.random.default_rng(0).standard_normal(400_000))
    assert ebp(fit, [0], [0], X[:1])[0] == pytest.approx(draws.mean(), abs=1e-3)
    prior = ebp(fit, [0, 0], [0, 0], X[:2])
    all_yes = ebp(fit, [50, 0], [50, 50], X[:2])
    assert all_yes[0] > prior[0] > all_yes[1] or all_yes[1] < prior[1]


def test_bootstrap_mse_and_intervals(data):
    X = design_matrix(data, numeric=["x"])
    t = unit_level_counties(data.successes.to_numpy(), data.n.to_numpy(), X, B=8, seed=1)
    assert len(t) == len(data) and (t["bootstrap_replicates"] > 0).all()
    assert ((t.ci_low < t.estimate) & (t.estimate < t.ci_high) & (t.ci_low > 0) & (t.ci_high < 1)).all()
    assert (t["mse"] > 0).all()
    # counties without respondents are the least certain
    assert t.loc[t.synthetic, "mse"].mean() > t.loc[data.n.to_numpy() >= 50, "mse"].mean()
