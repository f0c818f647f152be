"""Log-linear MSE: reference numbers from Rcapture and SparseMSE, existence checks, intervals.

Reference numbers are from ``tests/fixtures/mse/README.md`` (a copy of
``/work/shared/reference/mse/README.md``): Rcapture 1.4-4 on its ``HIV`` data and SparseMSE 2.0.1
``estimatepopulation.0(Western)``. Each is checked to the precision printed there
(± half a unit in the last printed digit).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.prevalence import mse, mse_selection
from assets.prevalence.mse import MSEError, check_existence, fit_model
from assets.prevalence.mse_intervals import profile_interval, wald_interval
from assets.prevalence.mse_selection import bootstrap, estimate_population, stepwise
from assets.prevalence.overlap import read_overlap_csv
from assets.prevalence.simulate import simulate_overlap

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mse"


def printed(value: float, decimals: int) -> object:
    """Equal to ``value`` as printed with ``decimals`` decimals."""
    return pytest.approx(value, abs=0.5 * 10.0**-decimals)


@pytest.fixture(scope="module")
def hiv() -> pd.DataFrame:
    return read_overlap_csv(FIXTURES / "hiv_4lists.csv")


@pytest.fixture(scope="module")
def western() -> pd.DataFrame:
    return read_overlap_csv(FIXTURES / "western_5lists.csv")


# --------------------------------------------------------------------------- Rcapture, HIV data


def test_hiv_independence_model_matches_rcapture(hiv: pd.DataFrame) -> None:
    # README: Nhat = 11,124.5785; deviance 13.0261 on 10 df; Mt: SE 904.8, AIC 90.062
    fit = fit_model(hiv, [])
    assert fit.exists and fit.converged
    assert fit.estimate == printed(11124.5785, 4)
    assert fit.deviance == printed(13.0261, 4)
    assert fit.df == 10
    assert fit.se_estimate == printed(904.8, 1)
    assert fit.aic == printed(90.062, 3)
    assert fit.observed == 1896


def test_hiv_c1c2_model_matches_rcapture(hiv: pd.DataFrame) -> None:
    # README: closedpCI.t(HIV, dfreq=TRUE, mX=~.+c1:c2): Poisson Nhat = 12,318.4677 (SE 1,188.7),
    # deviance 7.614 on 9 df, AIC 86.65, BIC 119.935.
    # Rcapture's AIC/BIC use the full Poisson log-likelihood (with -log y!), p = 6 parameters,
    # and BIC's log(n) with n = 1,896 cases observed (not the 15 cells).
    fit = fit_model(hiv, ["c1:c2"])
    assert fit.interactions == ("c1:c2",)
    assert fit.estimate == printed(12318.4677, 4)
    assert fit.se_estimate == printed(1188.7, 1)
    assert fit.deviance == printed(7.614, 3)
    assert fit.df == 9
    assert fit.aic == printed(86.65, 2)
    assert fit.bic == printed(119.935, 3)
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * 6)
    assert fit.bic == pytest.approx(-2 * fit.loglik + 6 * math.log(1896))
    # same model whichever way the term is written
    assert fit_model(hiv, [("c2", "c1")]).estimate == pytest.approx(fit.estimate, rel=1e-12)


def test_hiv_c1c2_multinomial_profile_ci_matches_rcapture(hiv: pd.DataFrame) -> None:
    # README: multinomial Nhat 12,308.0 with 95% profile-likelihood CI 10,266 – 14,992.3
    pi = profile_interval(fit_model(hiv, ["c1:c2"]), level=0.95, method="multinomial")
    assert pi.estimate == printed(12308.0, 1)
    assert pi.ci_low == printed(10266.0, 1)
    assert pi.ci_high == printed(14992.3, 1)
    assert not pi.low_at_observed


def test_poisson_profile_interval_is_sane(hiv: pd.DataFrame) -> None:
    fit = fit_model(hiv, ["c1:c2"])
    pp = profile_interval(fit, method="poisson")
    pm = profile_interval(fit, method="multinomial")
    assert pp.estimate == pytest.approx(fit.estimate)
    assert fit.observed < pp.ci_low < fit.estimate < pp.ci_high
    # the Poisson and multinomial profiles nearly agree for N this large
    assert pp.ci_low == pytest.approx(pm.ci_low, rel=5e-3)
    assert pp.ci_high == pytest.approx(pm.ci_high, rel=5e-3)
    # a wider level gives a wider interval
    p99 = profile_interval(fit, level=0.99, method="poisson")
    assert p99.ci_low < pp.ci_low and p99.ci_high > pp.ci_high


# --------------------------------------------------------------------------- SparseMSE, Western


WESTERN_COEFFICIENTS = {  # README: estimatepopulation.0(Western), model main effects + A:E
    "(Intercept)": 7.667806,
    "A": -3.720856,
    "B": -3.192148,
    "C": -2.929026,
    "D": -3.844972,
    "E": -4.603245,
    "A:E": 2.334561,
}


@pytest.mark.parametrize("criterion", ["aic", "pvalue", "bic"])
def test_western_stepwise_matches_sparsemse(western: pd.DataFrame, criterion: str) -> None:
    # README: point estimate 2,483.384; 95% CI 1,657.094 – 3,830.030; main effects + A:E
    result = stepwise(western, threshold=0.02, criterion=criterion)  # type: ignore[arg-type]
    fit = result.fit
    assert result.interactions == ("A:E",)
    assert fit.estimate == printed(2483.384, 3)
    low, high = wald_interval(fit, 0.95)
    assert low == printed(1657.094, 3)
    assert high == printed(3830.030, 3)
    assert set(fit.coefficients) == set(WESTERN_COEFFICIENTS)
    for name, value in WESTERN_COEFFICIENTS.items():
        assert fit.coefficients[name] == printed(value, 6), name
    # the selection path: A:E kept, then the best next candidate rejected
    assert [s.accepted for s in result.steps] == [True, False]
    assert result.steps[0].term == "A:E"


def test_western_estimate_population_json(western: pd.DataFrame) -> None:
    est = estimate_population(western)
    d = est.to_dict()
    assert set(d) == {"observed", "estimate", "ci_low", "ci_high", "model", "method"}
    assert d["observed"] == 345
    assert d["model"] == ["A:E"]
    assert d["estimate"] == printed(2483.384, 3)
    assert d["ci_low"] == printed(1657.094, 3) and d["ci_high"] == printed(3830.030, 3)
    assert "stepwise" in d["method"] and "Wald" in d["method"]
    json.dumps(est.to_dict(details=True))  # serialisable


def test_stepwise_thresholds_on_hiv(hiv: pd.DataFrame) -> None:
    # c1:c2 has Wald p = 0.016: kept at p < 0.02, not at p < 0.01
    assert fit_model(hiv, ["c1:c2"]).pvalue("c1:c2") == pytest.approx(0.01645, abs=5e-5)
    assert stepwise(hiv, 0.02).interactions == ("c1:c2",)
    assert stepwise(hiv, 0.01).interactions == ()
    assert stepwise(hiv, 0.0).interactions == ()
    # BIC penalises the extra parameter by log(1896) > 2: stays with independence
    assert stepwise(hiv, criterion="bic").interactions == ()
    # threshold=None: keep adding while AIC improves
    by_aic = stepwise(hiv, None, "aic")
    assert "c1:c2" in by_aic.interactions
    assert by_aic.fit.aic <= fit_model(hiv, ["c1:c2"]).aic


def test_zero_cells_are_kept(western: pd.DataFrame) -> None:
    """Fitting only the non-zero rows would change the estimate; fit_model completes first."""
    raw = pd.read_csv(FIXTURES / "western_5lists.csv")
    assert fit_model(raw, ["A:E"]).estimate == pytest.approx(2483.384, abs=5e-4)
    import statsmodels.api as sm

    X = np.column_stack([np.ones(len(raw)), raw[list("ABCDE")].to_numpy(),
                         raw["A"].to_numpy() * raw["E"].to_numpy()])
    dropped = sm.GLM(raw["count"].to_numpy(), X, family=sm.families.Poisson()).fit()
    assert abs(345 + math.exp(dropped.params[0]) - 2483.384) > 100


# --------------------------------------------------------------------------- existence


SPARSE = pd.DataFrame(  # every case on list A is also on list B: n_A == n_AB
    {
        "A": [1, 1, 0, 0, 0],
        "B": [1, 1, 1, 0, 1],
        "C": [0, 1, 0, 1, 1],
        "count": [5, 2, 30, 40, 3],
    }
)


def test_nonexistent_mle_is_detected_not_reported() -> None:
    fit = fit_model(SPARSE, ["A:B"])
    assert fit.converged  # the Newton iterations stop, as glm() does...
    assert max(fit.se.values()) > 1e3  # ...with exploding standard errors
    assert not fit.exists and fit.identifiable
    assert fit.estimate is None and fit.unseen is None
    assert "does not exist" in fit.message
    assert check_existence(SPARSE, ["A:B"]) == {"exists": False, "identifiable": True}
    # the independence model is fine on the same data
    assert check_existence(SPARSE, []) == {"exists": True, "identifiable": True}
    assert fit_model(SPARSE, []).estimate is not None
    est = estimate_population(SPARSE, selection="fixed", interactions=["A:B"])
    assert est.estimate is None and est.ci_low is None and not est.exists
    assert est.to_dict()["estimate"] is None
    with pytest.raises(MSEError, match="does not exist"):
        wald_interval(fit)
    with pytest.raises(MSEError):
        profile_interval(fit)
    with pytest.raises(MSEError):
        bootstrap(SPARSE, interactions=["A:B"], n_boot=10, seed=1)


def test_stepwise_skips_candidates_without_mle() -> None:
    # A:B gives by far the best likelihood (it is what the sparse data "want") but has no MLE
    result = stepwise(SPARSE, threshold=1.0, criterion="aic")
    assert "A:B" not in result.interactions
    assert result.fit.exists


def test_empty_overlap_uses_extended_mle(western: pd.DataFrame) -> None:
    # no case is on both A and B in Western: the A:B term is -inf (SparseMSE), its 8 cells drop
    fit = fit_model(western, ["A:B"])
    assert fit.empty_overlaps == ("A:B",)
    assert fit.coefficients["A:B"] == -math.inf
    assert fit.exists and fit.estimate is not None
    assert fit.df == (31 - 8) - 6
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * 7)  # the -inf parameter still counts
    # without the extended MLE, the fit "converges" but the MLE does not exist
    plain = fit_model(western, ["A:B"], extended=False)
    assert plain.converged and not plain.exists and plain.estimate is None


def test_not_identifiable_two_lists_with_interaction() -> None:
    t = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [10, 20, 5]})
    fit = fit_model(t, ["A:B"])
    assert not fit.identifiable and not fit.exists and fit.estimate is None
    assert "not identifiable" in fit.message
    # Lincoln-Petersen for the independence model: n1 n2 / m = 15 * 25 / 5 = 75
    assert fit_model(t, []).estimate == pytest.approx(75.0)


@pytest.mark.slow
def test_batched_existence_screen_agrees_with_linear_program() -> None:
    """The bootstrap only runs the LP on fits with numerical symptoms; check that this finds
    every non-existent MLE on sparse random 4-list tables."""
    rng = np.random.default_rng(20240601)
    data = mse._prepare(simulate_overlap(100, [0.3, 0.3, 0.3, 0.3], seed=1))
    Y = rng.poisson(rng.choice([0.0, 0.3, 1.0, 4.0], size=(150, 15))).astype(float)
    n_nonexistent = 0
    for pairs in ([], [(0, 1)], [(0, 1), (2, 3)], [(0, 1), (0, 2), (1, 2)]):
        full = mse._fit_batch(data.H, Y, pairs, lp="always")
        screened = mse._fit_batch(data.H, Y, pairs, lp="flagged")
        assert np.array_equal(full.exists, screened.exists)
        n_nonexistent += int((~full.exists & full.identifiable).sum())
    assert n_nonexistent > 20  # the check was exercised


def test_joint_linear_program_equals_one_program_per_table() -> None:
    """The existence check of many tables as one program gives each table's own program's answer."""
    rng = np.random.default_rng(7)
    data = mse._prepare(simulate_overlap(100, [0.3, 0.3, 0.3, 0.3, 0.3], seed=2))
    Y = rng.poisson(rng.choice([0.0, 0.2, 1.0, 5.0, 40.0], size=(120, 31))).astype(float)
    answers: set[bool] = set()
    for pairs in ([], [(0, 1)], [(0, 1), (2, 3), (1, 4)], [(0, 1), (0, 2), (1, 2), (3, 4)]):
        X = mse._design(data.H, pairs)
        one_by_one = [mse._lp_mle_exists(X, y) for y in Y]
        assert mse._lp_mle_exists_many(X, Y).tolist() == one_by_one
        answers |= set(one_by_one)
    assert answers == {True, False}  # some tables have an MLE and some do not


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_seeded_and_repeats_selection(western: pd.DataFrame) -> None:
    a = bootstrap(western, n_boot=200, seed=7)
    b = bootstrap(western, n_boot=200, seed=7)
    c = bootstrap(western, n_boot=200, seed=8)
    assert np.array_equal(a.estimates, b.estimates, equal_nan=True)
    assert not np.array_equal(a.estimates, c.estimates, equal_nan=True)
    assert a.ci_low < 2483.384 < a.ci_high
    assert a.n_failed == 0 and a.reselect
    assert len(a.model_counts) > 1  # selection is repeated, so other models appear
    assert max(a.model_counts, key=a.model_counts.get) == "A:E"
    fixed = bootstrap(western, interactions=["A:E"], n_boot=200, seed=7, reselect=False)
    assert list(fixed.model_counts) == ["A:E"]


@pytest.mark.slow
def test_bootstrap_matches_single_table_selection(western: pd.DataFrame) -> None:
    """The batched selection must choose what stepwise() chooses for each replicate."""
    fit = stepwise(western).fit
    rng = np.random.default_rng(3)
    Y = rng.poisson(fit.fitted, size=(12, len(fit.fitted)))
    data = mse._prepare(western)
    sel = mse_selection._select(data.H, Y.astype(float), threshold=0.02, criterion="aic")
    pairs = mse._all_pairs(5)
    for row, terms, est in zip(Y, sel.terms, sel.estimates, strict=True):
        table = pd.DataFrame(data.H, columns=list("ABCDE")).assign(count=row)
        single = stepwise(table)
        assert set(single.interactions) == {f"{'ABCDE'[pairs[q][0]]}:{'ABCDE'[pairs[q][1]]}"
                                            for q in terms}
        assert single.fit.estimate == pytest.approx(est, rel=1e-8)


@pytest.mark.slow
def test_bootstrap_1000_replicates_six_lists() -> None:
    """(Its speed is measured by `htna bench`, not here.)"""
    table = simulate_overlap(3000, [0.05, 0.08, 0.1, 0.04, 0.12, 0.06], seed=11)
    res = bootstrap(table, n_boot=1000, seed=1)
    assert res.n_boot == 1000 and np.isfinite(res.estimates).sum() >= 990
    assert res.ci_low < 3000 < res.ci_high
