"""Fay–Herriot fit against R sae 1.3 (eblupFH / mseFH) on its `milk` data, plus edge cases.

Reference: tests/fixtures/sae/r_sae_eblupFH.R and its printed output r_sae_eblupFH_output.txt.
Every printed number is checked to the precision it was printed with.
"""

from __future__ import annotations

import math
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from assets.models.small_area import FayHerriotWarning, design_matrix, fay_herriot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sae"

# ---- numbers printed by R sae 1.3 (r_sae_eblupFH_output.txt) ---------------------------------
R_NAMES = ["(Intercept)", "as.factor(MajorArea)2", "as.factor(MajorArea)3", "as.factor(MajorArea)4"]
REML_REFVAR = "0.01855022"
REML_COEF = [  # beta, std.error, tvalue, pvalue
    ("0.9681890", "0.06936208", "13.958476", "2.793443e-44"),
    ("0.1327801", "0.10300072", "1.289119", "1.973569e-01"),
    ("0.2269462", "0.09232981", "2.457995", "1.397151e-02"),
    ("-0.2413011", "0.08161707", "-2.956503", "3.111496e-03"),
]
REML_GOODNESS = {"loglike": "12.677478", "AIC": "-15.354956", "BIC": "-6.548956", "KIC": "-10.354956"}
REML_EBLUP6 = ["1.02197", "1.047602", "1.067951", "0.760817", "0.846157", "0.974373"]  # round(, 6)
FH_REFVAR = "0.01642027"
FH_COEF = [
    ("0.9679012", "0.06695896", "14.455139", "2.326581e-47"),
    ("0.1294502", "0.09980334", "1.297053", "1.946131e-01"),
    ("0.2267910", "0.08941191", "2.536474", "1.119750e-02"),
    ("-0.2421518", "0.07877987", "-3.073778", "2.113670e-03"),
]
ML_REFVAR = "0.01551755"
REML_MSE6 = ["0.0134602", "0.00537288", "0.00570199", "0.00854174", "0.00957959", "0.0116706"]  # signif(, 6)


def assert_printed(actual: float, printed: str, what: str = "") -> None:
    """``actual`` rounds to ``printed`` at the printed number of decimals / significant digits."""
    d = Decimal(printed)
    half_ulp = Decimal(1).scaleb(d.as_tuple().exponent) / 2  # half a unit in the last printed digit
    err = abs(Decimal(repr(float(actual))) - d)
    assert err <= half_ulp * Decimal("1.000001"), f"{what}: {actual!r} does not print as {printed}"


@pytest.fixture(scope="module")
def milk() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "milk.csv")


@pytest.fixture(scope="module")
def X(milk: pd.DataFrame) -> pd.DataFrame:
    return design_matrix(milk, categorical=["MajorArea"])


def test_reference_numbers_are_the_printed_ones() -> None:
    """Guard against typos: every constant above appears verbatim in R's output file."""
    text = (FIXTURES / "r_sae_eblupFH_output.txt").read_text()
    tokens = set(text.replace("\n", " ").split())
    consts = [REML_REFVAR, FH_REFVAR, ML_REFVAR, *REML_GOODNESS.values(), *REML_EBLUP6, *REML_MSE6]
    consts += [v for row in REML_COEF + FH_COEF for v in row]
    missing = [c for c in consts if c not in tokens]
    assert not missing, missing
    assert "sae 1.3" in text


def test_milk_data(milk: pd.DataFrame) -> None:
    assert len(milk) == 43
    np.testing.assert_allclose(milk["var"], milk["SD"] ** 2)


def test_design_matrix_matches_r_model_matrix(X: pd.DataFrame, milk: pd.DataFrame) -> None:
    assert list(X.columns) == ["(Intercept)", "MajorArea2", "MajorArea3", "MajorArea4"]
    assert (X["(Intercept)"] == 1).all()
    for g in (2, 3, 4):
        assert (X[f"MajorArea{g}"] == (milk.MajorArea == g)).all()
    assert X.iloc[:, 1:].sum(axis=1).le(1).all()


def test_reml_matches_sae(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    r = fay_herriot(milk.yi, milk["var"], X, method="REML")
    assert r.converged and not r.truncated
    assert r.method == "REML"
    assert_printed(r.A, REML_REFVAR, "REML refvar")
    assert r.sigma2_u == r.A == r.refvar
    coef = r.coefficients
    assert list(coef.columns) == ["beta", "std_error", "t_value", "p_value"]
    for i, (beta, se, t, p) in enumerate(REML_COEF):
        assert_printed(coef.iloc[i].beta, beta, f"beta {R_NAMES[i]}")
        assert_printed(coef.iloc[i].std_error, se, f"se {R_NAMES[i]}")
        assert_printed(coef.iloc[i].t_value, t, f"t {R_NAMES[i]}")
        assert_printed(coef.iloc[i].p_value, p, f"p {R_NAMES[i]}")
    for key, printed in REML_GOODNESS.items():
        assert_printed(r.goodness[key], printed, key)
    for i, printed in enumerate(REML_EBLUP6):
        assert_printed(round(float(r.eblup[i]), 6), printed, f"EBLUP {i + 1}")
        assert abs(r.eblup[i] - float(printed)) <= 5e-7
    # shrinkage factor definition
    np.testing.assert_allclose(r.gamma, r.A / (r.A + milk["var"].to_numpy()))
    np.testing.assert_allclose(r.eblup, r.gamma * milk.yi + (1 - r.gamma) * r.synthetic_estimate)
    assert not r.synthetic.any()


def test_fh_moment_matches_sae(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    r = fay_herriot(milk.yi, milk["var"], X, method="FH")
    assert r.converged and not r.truncated
    assert_printed(r.A, FH_REFVAR, "FH refvar")
    for i, (beta, se, t, p) in enumerate(FH_COEF):
        row = r.coefficients.iloc[i]
        assert_printed(row.beta, beta, f"FH beta {i}")
        assert_printed(row.std_error, se, f"FH se {i}")
        assert_printed(row.t_value, t, f"FH t {i}")
        assert_printed(row.p_value, p, f"FH p {i}")


def test_ml_matches_sae(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    r = fay_herriot(milk.yi, milk["var"], X, method="ML")
    assert r.converged and not r.truncated
    assert_printed(r.A, ML_REFVAR, "ML refvar")


def test_prasad_rao_mse_matches_sae(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    r = fay_herriot(milk.yi, milk["var"], X)  # sae::mseFH default method = REML
    mse = r.mse()
    for i, printed in enumerate(REML_MSE6):
        assert_printed(float(f"{mse[i]:.6g}"), printed, f"MSE {i + 1}")
        assert abs(mse[i] - float(printed)) <= 0.5 * 10 ** (math.floor(math.log10(float(printed))) - 5)
    comp = r.mse_components()
    np.testing.assert_allclose(comp.g1 + comp.g2 + 2 * comp.g3, comp.mse)
    assert (comp.bias_term == 0).all()
    # the MSE of the EBLUP is below the sampling variance of the direct estimate in every area
    assert (mse < milk["var"].to_numpy()).all()


def _sae_msefh_loop(r, D: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Literal transcription of sae::mseFH's per-area loop (independent of the vectorised code)."""
    A, m, p = r.A, X.shape[0], X.shape[1]
    Vi = 1 / (A + D)
    Bd = D / (A + D)
    SumAD2 = np.sum(Vi**2)
    Q = np.linalg.solve((Vi[:, None] * X).T @ X, np.eye(p))
    if r.method == "FH":
        SumAD = np.sum(Vi)
        VarA = 2 * m / SumAD**2
        b = 2 * (m * SumAD2 - SumAD**2) / SumAD**3
    else:
        VarA = 2 / SumAD2
        b = -np.sum(np.diag(Q @ ((Vi**2)[:, None] * X).T @ X)) / SumAD2 if r.method == "ML" else 0.0
    out = np.empty(m)
    for d in range(m):
        g1 = D[d] * (1 - Bd[d])
        g2 = Bd[d] ** 2 * X[d] @ Q @ X[d]
        g3 = Bd[d] ** 2 * VarA / (A + D[d])
        out[d] = g1 + g2 + 2 * g3 - b * Bd[d] ** 2
    return out


@pytest.mark.parametrize("method", ["REML", "ML", "FH"])
def test_mse_matches_sae_formula_for_each_method(milk: pd.DataFrame, X: pd.DataFrame, method: str) -> None:
    r = fay_herriot(milk.yi, milk["var"], X, method=method)
    expected = _sae_msefh_loop(r, milk["var"].to_numpy(), X.to_numpy())
    np.testing.assert_allclose(r.mse(), expected, rtol=1e-12)
    comp = r.mse_components()
    if method == "ML":  # ML underestimates A, so the Datta–Lahiri correction adds to the MSE
        assert (comp.bias_term > 0).all()
    if method == "FH":
        assert (comp.bias_term <= 0).all()


def _reml_loglik(A: float, y: np.ndarray, D: np.ndarray, X: np.ndarray) -> float:
    V = A + D
    Vi = 1 / V
    XtViX = (Vi[:, None] * X).T @ X
    beta = np.linalg.solve(XtViX, (Vi[:, None] * X).T @ y)
    r = y - X @ beta
    return -0.5 * (np.sum(np.log(V)) + np.linalg.slogdet(XtViX)[1] + np.sum(r**2 * Vi))


def _ml_loglik(A: float, y: np.ndarray, D: np.ndarray, X: np.ndarray) -> float:
    V = A + D
    Vi = 1 / V
    beta = np.linalg.solve((Vi[:, None] * X).T @ X, (Vi[:, None] * X).T @ y)
    r = y - X @ beta
    return -0.5 * np.sum(np.log(2 * np.pi * V) + r**2 * Vi)


def _fh_moment(A: float, y: np.ndarray, D: np.ndarray, X: np.ndarray) -> float:
    Vi = 1 / (A + D)
    beta = np.linalg.solve((Vi[:, None] * X).T @ X, (Vi[:, None] * X).T @ y)
    return float(np.sum((y - X @ beta) ** 2 * Vi) - (X.shape[0] - X.shape[1]))


def test_estimates_solve_their_estimating_equations(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    """Independent check: A maximises the (restricted) likelihood / solves the FH moment equation."""
    y, D, Xm = milk.yi.to_numpy(), milk["var"].to_numpy(), X.to_numpy()
    for method, fn in (("REML", _reml_loglik), ("ML", _ml_loglik)):
        best = optimize.minimize_scalar(lambda a: -fn(a, y, D, Xm), bounds=(0, 1), method="bounded",
                                        options={"xatol": 1e-12})
        r = fay_herriot(y, D, Xm, method=method)
        assert r.A == pytest.approx(best.x, rel=1e-4), method
    root = optimize.brentq(_fh_moment, 0, 1, args=(y, D, Xm), xtol=1e-14)
    assert fay_herriot(y, D, Xm, method="FH").A == pytest.approx(root, rel=1e-4)


def test_iteration_bookkeeping(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    r = fay_herriot(milk.yi, milk["var"], X)
    assert r.A_path[0] == np.median(milk["var"])  # sae's starting value
    assert len(r.A_path) == r.iterations + 1
    assert r.A_path[-1] == r.A
    assert abs(r.A_path[-1] - r.A_path[-2]) / r.A_path[-2] <= 1e-4
    assert r.n_fit == 43 and r.n_coef == 4
    # a tighter tolerance moves the estimate by less than the default tolerance
    tight = fay_herriot(milk.yi, milk["var"], X, tol=1e-12)
    assert tight.A == pytest.approx(r.A, rel=1e-4)


def test_non_convergence_is_flagged(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    with pytest.warns(FayHerriotWarning, match="did not converge"):
        r = fay_herriot(milk.yi, milk["var"], X, max_iter=1)
    assert not r.converged and r.iterations == 1
    assert any("converge" in n for n in r.notes)


def test_truncation_at_zero_is_reported() -> None:
    # Direct estimates scatter far less around the regression line than their sampling variance.
    rng = np.random.default_rng(3)
    m = 20
    x = np.linspace(0, 1, m)
    X = np.column_stack([np.ones(m), x])
    D = np.full(m, 0.5)
    y = 1 + 2 * x + rng.normal(0, 0.05, m)
    for method in ("REML", "ML", "FH"):
        with pytest.warns(FayHerriotWarning, match="truncated to 0"):
            r = fay_herriot(y, D, X, method=method)
        assert r.truncated and r.A == 0.0 and r.A_untruncated <= 0
        assert r.converged
        assert np.all(r.gamma == 0)
        np.testing.assert_allclose(r.eblup, r.synthetic_estimate)
        comp = r.mse_components()
        np.testing.assert_allclose(comp.g1, 0)
        assert np.all(np.isfinite(r.mse()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = fay_herriot(y, D, X, warn=False)
    assert quiet.truncated and quiet.notes


def test_areas_without_direct_estimate_get_synthetic_predictions(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    y = milk.yi.to_numpy().copy()
    D = milk["var"].to_numpy().copy()
    missing = [4, 17, 30]
    y[missing] = np.nan
    D[missing] = np.nan
    r = fay_herriot(y, D, X, area=milk.SmallArea)
    keep = np.setdiff1d(np.arange(43), missing)
    sub = fay_herriot(milk.yi.to_numpy()[keep], milk["var"].to_numpy()[keep], X.to_numpy()[keep])
    # the areas without data do not influence the fit
    assert r.A == sub.A and r.n_fit == 40
    np.testing.assert_allclose(r.beta, sub.beta)
    np.testing.assert_allclose(r.eblup[keep], sub.eblup)
    np.testing.assert_allclose(r.mse()[keep], sub.mse())
    assert r.synthetic.tolist() == [i in missing for i in range(43)]
    np.testing.assert_allclose(r.eblup[missing], X.to_numpy()[missing] @ r.beta)
    assert np.all(r.gamma[missing] == 0)
    Q = r.cov_beta.to_numpy()
    xm = X.to_numpy()[missing]
    np.testing.assert_allclose(r.mse()[missing], r.A + np.einsum("ij,jk,ik->i", xm, Q, xm))
    # synthetic areas are less precise than any area with data
    assert r.mse()[missing].min() > r.mse()[keep].max()
    pred = r.predict_synthetic(X.iloc[missing])
    assert pred.synthetic.all()
    np.testing.assert_allclose(pred.estimate, r.eblup[missing])
    np.testing.assert_allclose(pred.mse, r.mse()[missing])
    frame = r.to_frame()
    assert list(frame.index) == list(milk.SmallArea)
    assert frame.loc[frame.synthetic, "direct"].isna().all()


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_synthetic_mse_is_the_limit_of_the_area_mse(milk: pd.DataFrame, X: pd.DataFrame, method: str) -> None:
    """An area with a huge sampling variance gets (almost) the synthetic estimate and MSE.

    (Not for FH: its moment equation counts areas, so an uninformative extra area still moves A.)
    """
    y = np.append(milk.yi.to_numpy(), 1.3)
    D = np.append(milk["var"].to_numpy(), 1e9)
    Xa = np.vstack([X.to_numpy(), [1, 0, 1, 0]])
    with_area = fay_herriot(y, D, Xa, method=method)
    y[-1] = np.nan
    as_synthetic = fay_herriot(y, D, Xa, method=method)
    assert as_synthetic.synthetic[-1] and not with_area.synthetic[-1]
    assert with_area.eblup[-1] == pytest.approx(as_synthetic.eblup[-1], rel=1e-6)
    assert with_area.mse()[-1] == pytest.approx(as_synthetic.mse()[-1], rel=1e-5)


def test_input_validation(milk: pd.DataFrame, X: pd.DataFrame) -> None:
    y, D = milk.yi.to_numpy(), milk["var"].to_numpy()
    with pytest.raises(ValueError, match="method"):
        fay_herriot(y, D, X, method="EB")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sampling_var"):
        fay_herriot(y, np.where(np.arange(43) == 3, -1.0, D), X)
    with pytest.raises(ValueError, match="sampling_var"):
        fay_herriot(y, np.where(np.arange(43) == 3, np.nan, D), X)
    with pytest.raises(ValueError, match="differ in length"):
        fay_herriot(y[:-1], D, X)
    with pytest.raises(ValueError, match="more areas"):
        fay_herriot(y[:4], D[:4], X.iloc[:4])
    with pytest.raises(ValueError, match="full column rank"):
        fay_herriot(y, D, np.column_stack([X, X.iloc[:, 1]]))
    X_nan = X.copy()
    X_nan.iloc[2, 1] = np.nan
    with pytest.raises(ValueError, match="X contains"):
        fay_herriot(y, D, X_nan)
