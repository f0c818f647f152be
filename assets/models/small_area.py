"""Fay–Herriot area-level small-area estimation, numerically matching R ``sae`` 1.3.

The model (Fay & Herriot 1979) for area ``i = 1..m`` is::

    direct_i = theta_i + e_i,    e_i ~ N(0, D_i)      (D_i = known sampling variance)
    theta_i  = x_i' beta + u_i,  u_i ~ N(0, A)         (A = random-effect variance, sigma2_u)

:func:`fay_herriot` estimates ``A`` exactly as ``sae::eblupFH`` does (Fisher scoring from the
median of the sampling variances, relative-change stopping rule ``|A_k+1 - A_k| / A_k < tol``,
negative estimates truncated at 0), then ``beta`` by GLS, the EBLUPs
``x_i' beta + gamma_i (direct_i - x_i' beta)`` with shrinkage ``gamma_i = A / (A + D_i)``, and the
goodness-of-fit numbers ``sae`` prints (log-likelihood, AIC, BIC, KIC). Its
:meth:`FayHerriotResult.mse` reproduces ``sae::mseFH``: the Prasad–Rao estimator
``g1 + g2 + 2 g3`` for REML and the Datta–Lahiri estimator ``g1 + g2 + 2 g3 - b(A) * B_i^2``
(``b`` = asymptotic bias of the ML or FH-moment estimator of ``A``) for ML and FH.

Beyond ``sae``: areas whose direct estimate is missing (no respondents) are left out of the fit and
get the synthetic (regression) prediction ``x_i' beta`` with MSE ``A + x_i' Var(beta) x_i`` (the
limit of the area-level MSE formula as ``D_i -> inf``), flagged ``synthetic``; ``sae`` stops
with an error instead. Where ``sae`` would return nothing (no convergence) or break (an iterate
that makes ``A + D_i <= 0``), this module warns, flags it, and carries on; in every case where
``sae`` succeeds the numbers are the same.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FayHerriotResult",
    "FayHerriotWarning",
    "Method",
    "design_matrix",
    "fay_herriot",
]

Method = Literal["REML", "ML", "FH"]
_METHODS: tuple[str, ...] = ("REML", "ML", "FH")
FloatArray = NDArray[np.float64]


class FayHerriotWarning(UserWarning):
    """Raised (as a warning) when the variance estimate is truncated or the fit does not converge."""


# --------------------------------------------------------------------------------------------
# Design matrix helper (R ``model.matrix`` with treatment contrasts)
# --------------------------------------------------------------------------------------------


def design_matrix(
    data: pd.DataFrame,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    intercept: bool = True,
) -> pd.DataFrame:
    """Build a design matrix the way R's ``model.matrix(~ x + factor(g))`` does.

    Parameters
    ----------
    data:
        One row per area.
    numeric:
        Columns used as they are.
    categorical:
        Columns turned into treatment-coded dummies; the first level (sorted, or the category
        order of a pandas ``Categorical``) is the reference, as with R's ``factor``. Dummy columns
        are named ``f"{column}{level}"`` (R names them ``as.factor(column)level``).
    intercept:
        Add an ``"(Intercept)"`` column of ones first.

    Returns
    -------
    DataFrame of floats with the same index as ``data``.
    """
    cols: dict[str, pd.Series] = {}
    if intercept:
        cols["(Intercept)"] = pd.Series(1.0, index=data.index)
    for name in numeric:
        cols[name] = data[name].astype(float)
    for k, name in enumerate(categorical):
        values = data[name]
        cat = values if isinstance(values.dtype, pd.CategoricalDtype) else pd.Categorical(values)
        cat = pd.Categorical(cat)
        levels = list(cat.categories)
        start = 0 if (not intercept and k == 0) else 1  # R: no intercept -> first factor gets all levels
        for level in levels[start:]:
            cols[f"{name}{level}"] = pd.Series((np.asarray(cat) == level).astype(float), index=data.index)
    out = pd.DataFrame(cols, index=data.index)
    if out.isna().to_numpy().any():
        raise ValueError("design matrix contains missing values")
    return out


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FayHerriotResult:
    """Fitted Fay–Herriot model (one row per area, in the input order).

    Arrays cover *all* areas; ``synthetic[i]`` is True where area ``i`` had no direct estimate and
    so was left out of the fit (its ``eblup`` is the synthetic prediction ``x_i' beta`` and its
    ``gamma`` is 0).
    """

    method: Method
    #: Random-effect (between-area) variance ``A`` after truncation at 0 (``sae``'s ``refvar``).
    A: float
    #: The last Fisher-scoring iterate before truncation (negative when the estimate was truncated).
    A_untruncated: float
    #: True when the variance estimate was <= 0 and was set to 0 (EBLUP = synthetic estimate).
    truncated: bool
    converged: bool
    iterations: int
    #: All Fisher-scoring iterates, starting with the initial value ``median(D)``.
    A_path: tuple[float, ...]
    #: Coefficient table as ``sae``'s ``estcoef``: beta, std_error, t_value, p_value.
    #: ``t_value`` is ``beta / se`` referred to the standard normal (``sae``'s ``tvalue``), i.e. a z.
    coefficients: pd.DataFrame
    #: ``Var(beta_hat) = (X' V^-1 X)^-1`` at the final ``A``.
    cov_beta: pd.DataFrame
    #: Normal (not restricted) log-likelihood at the estimates, and AIC/BIC/KIC with p + 1 parameters.
    loglike: float
    aic: float
    bic: float
    kic: float
    #: Number of areas used in the fit (``m`` in ``sae``) and number of regression coefficients.
    n_fit: int
    n_coef: int
    area: pd.Index
    direct: FloatArray
    sampling_var: FloatArray
    X: FloatArray
    #: Regression (synthetic) prediction ``x_i' beta`` for every area.
    synthetic_estimate: FloatArray
    eblup: FloatArray
    #: Shrinkage factor ``gamma_i = A / (A + D_i)``: the weight on the direct estimate (0 if synthetic).
    gamma: FloatArray
    synthetic: NDArray[np.bool_]
    notes: tuple[str, ...] = field(default_factory=tuple)

    # -- convenience --------------------------------------------------------------------------

    @property
    def sigma2_u(self) -> float:
        """Alias for :attr:`A`."""
        return self.A

    @property
    def refvar(self) -> float:
        """Alias for :attr:`A` (``sae``'s name)."""
        return self.A

    @property
    def beta(self) -> FloatArray:
        return self.coefficients["beta"].to_numpy()

    @property
    def goodness(self) -> dict[str, float]:
        """``sae``'s ``fit$goodness``: loglike, AIC, BIC, KIC."""
        return {"loglike": self.loglike, "AIC": self.aic, "BIC": self.bic, "KIC": self.kic}

    # -- MSE ----------------------------------------------------------------------------------

    def mse_components(self) -> pd.DataFrame:
        """The pieces of the MSE estimator, as computed inside ``sae::mseFH``.

        Columns: ``g1 = D_i (1 - B_i)``, ``g2 = B_i^2 x_i' Var(beta) x_i``,
        ``g3 = B_i^2 Var(A) / (A + D_i)``, ``bias_term`` (``-b(A) B_i^2``; 0 for REML) and
        ``mse = g1 + g2 + 2 g3 + bias_term``, with ``B_i = D_i / (A + D_i)``.

        ``Var(A)`` is ``2 / sum (A + D_i)^-2`` for REML and ML and ``2 m / (sum (A + D_i)^-1)^2``
        for FH; ``b`` is ``-tr[Var(beta) X' V^-2 X] / sum (A + D_i)^-2`` for ML and
        ``2 (m sum V_i^-2 - (sum V_i^-1)^2) / (sum V_i^-1)^3`` for FH (Datta & Lahiri 2000;
        Datta, Rao & Smith 2005).

        Synthetic areas use the ``D_i -> inf`` limit (``B_i = 1``, ``g1 = A``, ``g3 = 0``):
        ``mse = A + x_i' Var(beta) x_i - b``, with the ``A - b`` part floored at 0.
        """
        A = self.A
        fit = ~self.synthetic
        Df = self.sampling_var[fit]
        Q = self.cov_beta.to_numpy()
        var_A, b = self._var_and_bias_of_A()

        xqx = np.einsum("ij,jk,ik->i", self.X, Q, self.X)
        n = len(self.area)
        g1 = np.empty(n)
        g2 = np.empty(n)
        g3 = np.zeros(n)
        bias = np.empty(n)

        Bd = Df / (A + Df)
        g1[fit] = Df * (1.0 - Bd)
        g2[fit] = Bd**2 * xqx[fit]
        g3[fit] = Bd**2 * var_A / (A + Df)
        bias[fit] = -b * Bd**2

        syn = self.synthetic
        g1[syn] = A
        g2[syn] = xqx[syn]
        bias[syn] = self._synthetic_A_part() - A
        mse = g1 + g2 + 2.0 * g3 + bias
        return pd.DataFrame(
            {"g1": g1, "g2": g2, "g3": g3, "bias_term": bias, "mse": mse, "synthetic": syn},
            index=self.area,
        )

    def mse(self) -> FloatArray:
        """MSE of each area's estimate: Prasad–Rao (REML) or Datta–Lahiri (ML, FH), as ``sae::mseFH``."""
        return self.mse_components()["mse"].to_numpy()

    # -- prediction ---------------------------------------------------------------------------

    def predict_synthetic(self, X_new: ArrayLike | pd.DataFrame, area: Sequence[object] | None = None) -> pd.DataFrame:
        """Synthetic (regression) predictions ``x' beta`` for areas without a direct estimate.

        The MSE is ``A + x' Var(beta) x`` (minus the ML/FH bias of ``A``, floored as in
        :meth:`mse_components`). Returns columns ``estimate, mse, rmse, synthetic`` (always True).
        """
        Xn = _as_matrix(X_new)
        if Xn.shape[1] != self.n_coef:
            raise ValueError(f"X_new has {Xn.shape[1]} columns, the model has {self.n_coef}")
        est = Xn @ self.beta
        Q = self.cov_beta.to_numpy()
        xqx = np.einsum("ij,jk,ik->i", Xn, Q, Xn)
        mse = self._synthetic_A_part() + xqx
        if area is not None:
            idx = pd.Index(area)
        elif isinstance(X_new, pd.DataFrame):
            idx = X_new.index
        else:
            idx = pd.RangeIndex(len(est))
        return pd.DataFrame({"estimate": est, "mse": mse, "rmse": np.sqrt(mse), "synthetic": True}, index=idx)

    def _var_and_bias_of_A(self) -> tuple[float, float]:
        """Asymptotic variance and bias ``b`` of the estimator of ``A`` (as in ``sae::mseFH``)."""
        fit = ~self.synthetic
        Vi = 1.0 / (self.A + self.sampling_var[fit])
        m = int(fit.sum())
        sum_vi2 = float(np.sum(Vi**2))
        if self.method == "FH":
            sum_vi = float(np.sum(Vi))
            return 2.0 * m / sum_vi**2, 2.0 * (m * sum_vi2 - sum_vi**2) / sum_vi**3
        var_A = 2.0 / sum_vi2
        if self.method == "REML":
            return var_A, 0.0
        Xf = self.X[fit]
        XtV2X = (Xf * (Vi**2)[:, None]).T @ Xf
        return var_A, -float(np.trace(self.cov_beta.to_numpy() @ XtV2X)) / sum_vi2

    def _synthetic_A_part(self) -> float:
        """``A - b`` floored at 0 (``b`` = 0 for REML): the area-effect part of a synthetic MSE."""
        return max(self.A - self._var_and_bias_of_A()[1], 0.0)

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-area table: direct, sampling_var, synthetic_estimate, eblup, gamma, mse, rmse, synthetic."""
        mse = self.mse()
        return pd.DataFrame(
            {
                "direct": self.direct,
                "sampling_var": self.sampling_var,
                "synthetic_estimate": self.synthetic_estimate,
                "eblup": self.eblup,
                "gamma": self.gamma,
                "mse": mse,
                "rmse": np.sqrt(np.maximum(mse, 0.0)),
                "synthetic": self.synthetic,
            },
            index=self.area,
        )


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def _as_matrix(X: ArrayLike | pd.DataFrame) -> FloatArray:
    arr = X.to_numpy(dtype=float) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError("X must be a 2-D array or DataFrame")
    return arr


def _rel_diff(new: float, old: float) -> float:
    """``sae``'s stopping criterion ``|new - old| / old``, defined also when ``old == 0``."""
    if old != 0.0:
        return abs((new - old) / old)
    return 0.0 if new == old else math.inf


def _score_step(A: float, y: FloatArray, D: FloatArray, X: FloatArray, method: str) -> tuple[float, float]:
    """Score ``s`` and (expected) information ``F`` at ``A``, exactly as in ``sae::eblupFH``."""
    Vi = 1.0 / (A + D)
    XtVi = (Vi[:, None] * X).T  # p x m
    Q = np.linalg.inv(XtVi @ X)
    if method == "FH":
        beta = Q @ (XtVi @ y)
        res = y - X @ beta
        m, p = X.shape
        return float(np.sum(res**2 * Vi) - (m - p)), float(np.sum(Vi))
    P = np.diag(Vi) - XtVi.T @ Q @ XtVi
    Py = P @ y
    if method == "ML":
        return float(-0.5 * np.sum(Vi) + 0.5 * Py @ Py), float(0.5 * np.sum(Vi**2))
    # REML
    return float(-0.5 * np.trace(P) + 0.5 * Py @ Py), float(0.5 * np.sum(P * P))


def fay_herriot(
    direct: ArrayLike,
    sampling_var: ArrayLike,
    X: ArrayLike | pd.DataFrame,
    method: Method = "REML",
    max_iter: int = 100,
    tol: float = 1e-4,
    *,
    area: Sequence[object] | None = None,
    warn: bool = True,
) -> FayHerriotResult:
    """Fit the Fay–Herriot model the way ``sae::eblupFH(formula, vardir, method)`` does.

    Parameters
    ----------
    direct:
        Direct estimates, one per area. ``NaN`` marks an area with no direct estimate: it is left
        out of the fit and gets a synthetic prediction (flagged in ``result.synthetic``).
    sampling_var:
        Known sampling variances ``D_i`` (> 0) of the direct estimates; may be ``NaN``/``inf``
        where ``direct`` is ``NaN``.
    X:
        Area-level covariates, one row per area, *including* the intercept column if wanted
        (see :func:`design_matrix`). Must be complete for every area.
    method:
        ``"REML"`` (default), ``"ML"`` or ``"FH"`` (Fay–Herriot moment estimator).
    max_iter, tol:
        ``sae``'s ``MAXITER`` and ``PRECISION``: iteration stops when the relative change in
        ``A`` is at most ``tol``; the fit is flagged unconverged if ``max_iter`` is reached first.
    area:
        Area labels; defaults to the index of ``direct`` (if a Series) or of ``X`` (if a DataFrame).
    warn:
        Emit :class:`FayHerriotWarning` on truncation at 0 or non-convergence (the flags and
        ``notes`` are set either way).

    Returns
    -------
    FayHerriotResult
    """
    if method not in _METHODS:
        raise ValueError(f'method="{method}" must be "REML", "ML" or "FH"')
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")

    y_all = np.asarray(direct, dtype=float).reshape(-1)
    D_all = np.asarray(sampling_var, dtype=float).reshape(-1)
    X_all = _as_matrix(X)
    n = y_all.shape[0]
    if D_all.shape[0] != n or X_all.shape[0] != n:
        raise ValueError(
            f"direct ({n}), sampling_var ({D_all.shape[0]}) and X ({X_all.shape[0]} rows) differ in length"
        )
    if not np.all(np.isfinite(X_all)):
        raise ValueError("X contains missing or infinite values")

    if isinstance(X, pd.DataFrame):
        coef_names = [str(c) for c in X.columns]
    else:
        coef_names = [f"x{j}" for j in range(X_all.shape[1])]
    if area is not None:
        area_index = pd.Index(area)
    elif isinstance(direct, pd.Series):
        area_index = direct.index
    elif isinstance(X, pd.DataFrame):
        area_index = X.index
    else:
        area_index = pd.RangeIndex(n)
    if len(area_index) != n:
        raise ValueError("area labels and data differ in length")

    synthetic = ~np.isfinite(y_all)
    fit = ~synthetic
    bad_var = fit & ~(np.isfinite(D_all) & (D_all > 0))
    if bad_var.any():
        raise ValueError(
            "sampling_var must be finite and > 0 wherever a direct estimate is given "
            f"(areas {list(area_index[bad_var])})"
        )

    y = y_all[fit]
    D = D_all[fit]
    Xf = X_all[fit]
    m, p = Xf.shape
    if m <= p:
        raise ValueError(f"need more areas with a direct estimate ({m}) than covariates ({p})")
    if np.linalg.matrix_rank(Xf) < p:
        raise ValueError("X (restricted to areas with a direct estimate) is not of full column rank")

    # ---- Fisher scoring for A, as sae::eblupFH --------------------------------------------
    A0 = float(np.median(D))
    path = [A0]
    A_k = A0
    k = 0
    diff = tol + 1.0
    d_min = float(D.min())
    boundary_hits = 0
    while diff > tol and k < max_iter:
        k += 1
        s, F = _score_step(A_k, y, D, Xf, method)
        A_new = A_k + s / F
        if A_new + d_min <= 0.0:
            # sae would go on with a non-positive-definite V here; step to the boundary instead.
            A_new = 0.0
            boundary_hits += 1
        diff = _rel_diff(A_new, A_k)
        path.append(A_new)
        A_k = A_new
    converged = not (k >= max_iter and diff >= tol)
    A_raw = A_k
    A = max(A_raw, 0.0)
    truncated = A_raw <= 0.0

    notes: list[str] = []
    if truncated:
        notes.append(
            f"{method} estimate of the random-effect variance was {A_raw:.6g} <= 0 and was truncated "
            "to 0: EBLUPs equal the synthetic regression estimates (no area effects)."
        )
    if not converged:
        notes.append(
            f"{method} Fisher scoring did not converge in {max_iter} iterations (last relative change "
            f"{diff:.3g} > tol {tol:g}); sae would return no estimates. Results use the last iterate."
        )
    if warn:
        for note in notes:
            warnings.warn(note, FayHerriotWarning, stacklevel=2)

    # ---- GLS beta, EBLUP, goodness of fit ---------------------------------------------------
    Vi = 1.0 / (A + D)
    XtVi = (Vi[:, None] * Xf).T
    Q = np.linalg.inv(XtVi @ Xf)
    Q = (Q + Q.T) / 2.0
    beta = Q @ (XtVi @ y)
    se = np.sqrt(np.diag(Q))
    tval = beta / se
    from scipy import stats  # imported when a model is fitted, not when the definitions load

    pval = 2.0 * stats.norm.sf(np.abs(tval))
    coefficients = pd.DataFrame(
        {"beta": beta, "std_error": se, "t_value": tval, "p_value": pval}, index=pd.Index(coef_names)
    )
    cov_beta = pd.DataFrame(Q, index=coef_names, columns=coef_names)

    xb_all = X_all @ beta
    resid = y - xb_all[fit]
    loglike = float(-0.5 * np.sum(np.log(2.0 * math.pi * (A + D)) + resid**2 / (A + D)))
    aic = -2.0 * loglike + 2.0 * (p + 1)
    bic = -2.0 * loglike + (p + 1) * math.log(m)
    kic = -2.0 * loglike + 3.0 * (p + 1)

    gamma_all = np.zeros(n)
    gamma_all[fit] = A * Vi
    eblup_all = xb_all.copy()
    eblup_all[fit] = xb_all[fit] + A * Vi * resid

    D_out = D_all.copy()
    D_out[synthetic & ~np.isfinite(D_out)] = np.nan

    return FayHerriotResult(
        method=method,
        A=A,
        A_untruncated=A_raw,
        truncated=bool(truncated),
        converged=bool(converged),
        iterations=k,
        A_path=tuple(path),
        coefficients=coefficients,
        cov_beta=cov_beta,
        loglike=loglike,
        aic=aic,
        bic=bic,
        kic=kic,
        n_fit=m,
        n_coef=p,
        area=area_index,
        direct=np.where(synthetic, np.nan, y_all),
        sampling_var=D_out,
        X=X_all,
        synthetic_estimate=xb_all,
        eblup=eblup_all,
        gamma=gamma_all,
        synthetic=synthetic,
        notes=tuple(notes),
    )
