"""Fay–Herriot estimates of area (county) proportions, kept inside [0, 1].

Direct county shares are modelled on a variance-stabilising scale:

``arcsine`` (default)
    ``t = asin(sqrt(p))`` with sampling variance ``1 / (4 n_eff)`` whatever ``p`` is, so areas
    with ``p_hat = 0`` or ``1`` keep a usable variance. Back-transform ``p = sin(t)^2`` with
    ``t`` clipped to ``[0, pi/2]``.
``logit``
    Empirical logit ``log((y + 1/2) / (n - y + 1/2))`` with variance
    ``1/(y + 1/2) + 1/(n - y + 1/2)`` (``y = p_hat * n_eff``); back-transform ``expit``.
``none``
    The proportion itself, with variance ``var`` if given, else ``p~(1 - p~) / n_eff`` where
    ``p~ = (y + 1/2) / (n + 1)`` (so ``p_hat = 0`` does not get variance 0); results clipped to [0, 1].

The EBLUP and its MSE are computed on the transformed scale (:func:`~assets.models.small_area.fay_herriot`);
the interval ``t_hat +/- z sqrt(mse)`` is formed there and its limits back-transformed, so estimates and
interval limits stay inside [0, 1] (the interval is not symmetric around the estimate).
``eblup_mse`` on the proportion scale is the delta-method value ``(dp/dt)^2 mse_t``.
The point estimate is the plain back-transform of the transformed-scale EBLUP (no bias correction);
it estimates the area's median rather than mean proportion under the model.
Areas with zero or missing sample size (or missing ``p_hat``) get synthetic estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from assets.models.small_area import FayHerriotResult, Method, fay_herriot

__all__ = ["ProportionFit", "Transform", "fay_herriot_proportions", "fit_proportions"]

Transform = Literal["arcsine", "logit", "none"]
FloatArray = NDArray[np.float64]

HALF_PI = np.pi / 2.0


@dataclass(frozen=True)
class ProportionFit:
    """Output of :func:`fit_proportions`: the tidy table plus the transformed-scale model."""

    table: pd.DataFrame
    model: FayHerriotResult
    transform: Transform
    level: float


def _forward(
    p: FloatArray, n: FloatArray, var: FloatArray | None, transform: Transform
) -> tuple[FloatArray, FloatArray]:
    """Transformed direct estimates and their sampling variances (NaN where there is no sample)."""
    has_n = np.isfinite(p) & np.isfinite(n) & (n > 0)
    t = np.full(p.shape, np.nan)
    D = np.full(p.shape, np.nan)
    if transform == "arcsine":
        t[has_n] = np.arcsin(np.sqrt(p[has_n]))
        D[has_n] = 1.0 / (4.0 * n[has_n])
    elif transform == "logit":
        y = p[has_n] * n[has_n]
        t[has_n] = np.log((y + 0.5) / (n[has_n] - y + 0.5))
        D[has_n] = 1.0 / (y + 0.5) + 1.0 / (n[has_n] - y + 0.5)
    else:  # "none"
        pt = (p[has_n] * n[has_n] + 0.5) / (n[has_n] + 1.0)
        t[has_n] = p[has_n]
        D[has_n] = pt * (1.0 - pt) / n[has_n]
        if var is not None:  # a given sampling variance wins
            has_v = np.isfinite(p) & np.isfinite(var) & (var > 0)
            t[has_v] = p[has_v]
            D[has_v] = var[has_v]
    return t, D


def _inverse(t: FloatArray, transform: Transform) -> FloatArray:
    if transform == "arcsine":
        return np.sin(np.clip(t, 0.0, HALF_PI)) ** 2
    if transform == "logit":
        return 1.0 / (1.0 + np.exp(-t))
    return np.clip(t, 0.0, 1.0)


def _derivative(t: FloatArray, transform: Transform) -> FloatArray:
    """``dp/dt`` at ``t`` (for the delta-method MSE on the proportion scale)."""
    if transform == "arcsine":
        return np.sin(2.0 * np.clip(t, 0.0, HALF_PI))
    if transform == "logit":
        p = 1.0 / (1.0 + np.exp(-t))
        return p * (1.0 - p)
    return np.ones_like(t)


def fit_proportions(
    p_hat: ArrayLike,
    n_eff: ArrayLike | None = None,
    X: ArrayLike | pd.DataFrame | None = None,
    *,
    var: ArrayLike | None = None,
    transform: Transform = "arcsine",
    area: Sequence[object] | None = None,
    method: Method = "REML",
    level: float = 0.95,
    max_iter: int = 100,
    tol: float = 1e-4,
    warn: bool = True,
) -> ProportionFit:
    """Fay–Herriot small-area estimates of proportions; see :func:`fay_herriot_proportions`."""
    if transform not in ("arcsine", "logit", "none"):
        raise ValueError(f'transform="{transform}" must be "arcsine", "logit" or "none"')
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")

    p = np.asarray(p_hat, dtype=float).reshape(-1)
    k = p.shape[0]
    if np.any((p[np.isfinite(p)] < 0) | (p[np.isfinite(p)] > 1)):
        raise ValueError("p_hat must lie in [0, 1]")
    v = None if var is None else np.asarray(var, dtype=float).reshape(-1)
    if v is not None and v.shape[0] != k:
        raise ValueError("var and p_hat differ in length")

    if n_eff is not None:
        n = np.asarray(n_eff, dtype=float).reshape(-1)
        if n.shape[0] != k:
            raise ValueError("n_eff and p_hat differ in length")
        if np.any(n[np.isfinite(n)] < 0):
            raise ValueError("n_eff must be >= 0")
    elif v is not None:
        # Effective sample size implied by a design-based variance: n_eff = p (1 - p) / var.
        given = np.isfinite(p) & np.isfinite(v)
        if transform != "none":
            bad = given & ((p <= 0) | (p >= 1) | (v <= 0))
            if bad.any():
                raise ValueError(
                    "cannot derive n_eff from var where p_hat is 0 or 1 or var <= 0 "
                    f"(positions {np.flatnonzero(bad).tolist()}); pass n_eff"
                )
        n = np.full(k, np.nan)
        ok = given & (v > 0)
        n[ok] = p[ok] * (1 - p[ok]) / v[ok]
    else:
        raise ValueError("give n_eff (effective sample sizes) or var (sampling variances of p_hat)")

    t, D = _forward(p, n, v, transform)
    sampled = np.isfinite(t)

    if X is None:
        Xm: ArrayLike | pd.DataFrame = pd.DataFrame({"(Intercept)": np.ones(k)})
    else:
        Xm = X
    if area is None:
        if isinstance(p_hat, pd.Series):
            area = list(p_hat.index)
        elif isinstance(X, pd.DataFrame):
            area = list(X.index)
        else:
            area = list(range(k))

    model = fay_herriot(t, D, Xm, method=method, max_iter=max_iter, tol=tol, area=area, warn=warn)
    mse_t = np.maximum(model.mse(), 0.0)
    from scipy import stats  # imported when a model is fitted, not when the definitions load

    z = float(stats.norm.ppf(0.5 + level / 2.0))
    half = z * np.sqrt(mse_t)
    eblup = _inverse(model.eblup, transform)
    lo = _inverse(model.eblup - half, transform)
    hi = _inverse(model.eblup + half, transform)
    mse_p = _derivative(model.eblup, transform) ** 2 * mse_t
    rmse_p = np.sqrt(mse_p)

    direct = np.where(sampled, p, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        se_binomial = np.sqrt(p * (1 - p) / n)
    if v is not None:
        se_binomial = np.where(np.isfinite(v) & (v >= 0), np.sqrt(np.abs(v)), se_binomial)
    direct_se = np.where(sampled, se_binomial, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.where(eblup > 0, rmse_p / eblup, np.nan)

    table = pd.DataFrame(
        {
            "area": list(model.area),
            "n": np.where(np.isfinite(n), n, np.where(sampled, np.nan, 0.0)),
            "direct": direct,
            "direct_se": direct_se,
            "eblup": eblup,
            "eblup_mse": mse_p,
            "eblup_rmse": rmse_p,
            "ci_low": lo,
            "ci_high": hi,
            "shrinkage": model.gamma,
            "cv": cv,
            "synthetic": model.synthetic,
            "eblup_transformed": model.eblup,
            "mse_transformed": mse_t,
        }
    )
    table.attrs.update(
        {
            "transform": transform,
            "method": method,
            "level": level,
            "A": model.A,
            "truncated": model.truncated,
            "converged": model.converged,
        }
    )
    return ProportionFit(table=table, model=model, transform=transform, level=level)


def fay_herriot_proportions(
    p_hat: ArrayLike,
    n_eff: ArrayLike | None = None,
    X: ArrayLike | pd.DataFrame | None = None,
    *,
    var: ArrayLike | None = None,
    transform: Transform = "arcsine",
    area: Sequence[object] | None = None,
    method: Method = "REML",
    level: float = 0.95,
    max_iter: int = 100,
    tol: float = 1e-4,
    warn: bool = True,
) -> pd.DataFrame:
    """Small-area (Fay–Herriot) estimates of area proportions with intervals inside [0, 1].

    Parameters
    ----------
    p_hat:
        Direct (sample) proportions per area; ``NaN`` where the area has no sample.
    n_eff:
        Effective sample size per area (respondents, or ``n / deff`` for a weighted survey);
        0 or ``NaN`` means no sample, and the area gets a synthetic estimate.
    X:
        Area covariates including the intercept column (see
        :func:`~assets.models.small_area.design_matrix`); ``None`` means intercept only.
    var:
        Sampling variances of ``p_hat`` on the proportion scale, used instead of ``n_eff``:
        for ``transform="none"`` directly, otherwise through ``n_eff = p (1 - p) / var``
        (which needs ``0 < p_hat < 1``; pass ``n_eff`` for areas at 0 or 1).
    transform:
        ``"arcsine"`` (default; variance ``1 / (4 n_eff)``), ``"logit"`` or ``"none"``.
    method:
        Variance estimator passed to :func:`~assets.models.small_area.fay_herriot`.
    level:
        Confidence level of the intervals.

    Returns
    -------
    DataFrame with one row per area: ``area, n, direct, direct_se, eblup, eblup_mse,
    eblup_rmse, ci_low, ci_high, shrinkage`` (weight ``A / (A + D_i)`` on the direct estimate),
    ``cv`` (``eblup_rmse / eblup``), ``synthetic``, and the transformed-scale
    ``eblup_transformed`` and ``mse_transformed``. ``attrs`` records transform, method, level,
    the variance estimate ``A`` and the truncated/converged flags.
    """
    return fit_proportions(
        p_hat,
        n_eff,
        X,
        var=var,
        transform=transform,
        area=area,
        method=method,
        level=level,
        max_iter=max_iter,
        tol=tol,
        warn=warn,
    ).table
