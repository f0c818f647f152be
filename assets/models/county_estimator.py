"""The default county estimator: arcsine Fay–Herriot with smoothed sampling variances, a
positive between-county variance, bias-corrected back-transformation and benchmarking to the state.

Steps (Rao & Molina 2015, ch. 6–8; the Census Bureau's SAIPE practice):

1. **Smoothed sampling variances (GVF).** A county's design variance from a handful of respondents
   is itself noise (0 when every respondent answered alike). On the arcsine-square-root scale the
   sampling variance of a share is ``deff / (4 n)``; :func:`fit_gvf` fits
   ``log v_i = a + b log n_i`` across counties *and* outcomes (``v_i`` = delta-method variance
   ``se_i^2 / (4 p_i (1 - p_i))`` of the counties with ``0 < p_i < 1``) and every county then uses
   the fitted ``D_i = exp(a) n_i^b`` (with fewer than 5 usable points or a slope outside
   ``[-1.5, -0.5]`` the slope is fixed at -1: a pooled design effect).
2. **Tiny counties out of sample.** Counties with fewer than ``min_effective_sample`` effective
   respondents are left out of the fit and get the synthetic regression prediction (stated on the
   row and the model card): a share from 1–5 answers is too coarse for the normal model.
3. **Positive between-county variance.** The adjusted maximum profile likelihood of Li & Lahiri
   (2010, ``ampl``: profile likelihood times ``A``) or of Yoshimori & Lahiri (2014, ``ampl_yl``:
   times ``atan(tr(I - B))^(1/m)``), maximised on ``[0, var(direct)]`` with R's ``optimize``
   (Brent's method, ported exactly), as ``emdi::fh(method = "ampl" / "ampl_yl")``. The estimate is
   strictly positive, so no county is silently set to the regression line. ``reml`` is also offered.
4. **Bias-corrected back-transformation.** The county's share is the mean of ``sin^2(T)``,
   ``T ~ N(EBLUP_t, s^2)``, not ``sin^2(EBLUP_t)`` (which estimates a median); ``s^2`` is
   ``A (1 - gamma_i)`` (the posterior variance of the area's value, as emdi's ``bc``) for the point
   and the MSE for the interval. The 95% interval is the 2.5% and 97.5% quantiles of ``sin^2(T)``
   (``T`` not clipped: ``sin^2`` folds it back), so limits lie strictly inside (0, 1). A synthetic
   county's interval uses Student's t on ``m - p`` degrees of freedom (``m`` counties in the model,
   ``p`` coefficients) in place of the normal: its error is the county effect itself, whose variance
   rests on ``m`` counties.
   :func:`emdi_arcsin_bc` is emdi's integral over ``[0, pi/2]`` (identical when the normal has
   no mass outside it), kept to check against R.
5. **Benchmarking.** ``raking`` (default) shifts every county's share by the same constant on the
   logit scale, ``ratio`` multiplies them by one factor, so that
   ``sum(share_i x headcount_i) = state direct share x sum(headcount_i)``. The MSE adds the squared
   benchmarking adjustment (Steorts & Ghosh 2013; Rao & Molina 2015 sec. 6.3.2), and the interval is
   widened on the logit scale by ``sqrt(MSE_benchmarked / MSE)``.

MSE on the transformed scale: ``g1 + g2 + 2 g3 - b(A) B_i^2`` with ``Var(A) = 2 / sum (A + D_i)^-2``
and ``b(A)`` the O(1/m) bias of the adjusted-likelihood estimator of ``A`` (the profile-likelihood
bias ``-tr[Var(beta) X'V^-2 X] / sum V_i^-2`` plus ``2 (d/dA log h(A)) / sum V_i^-2`` for the
adjustment ``h``; Yoshimori & Lahiri 2014); synthetic counties ``A - b(A) + x' Var(beta) x``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Benchmark",
    "CountyEstimate",
    "Gvf",
    "VarianceMethod",
    "adjusted_variance",
    "benchmark",
    "brent_fmin",
    "emdi_arcsin_bc",
    "estimate_counties",
    "fit_gvf",
    "sin2_mean",
    "sin2_quantile",
    "sin2_variance",
]

VarianceMethod = Literal["ampl", "ampl_yl", "reml"]
Benchmark = Literal["mse", "raking", "ratio", "none"]
FloatArray = NDArray[np.float64]
HALF_PI = math.pi / 2.0


# --------------------------------------------------------------------------------------------
# R's optimize (Brent_fmin in R's src/library/stats/src/optimize.c)
# --------------------------------------------------------------------------------------------


def brent_fmin(f, ax: float, bx: float, tol: float = np.finfo(float).eps ** 0.25) -> float:
    """Minimiser of ``f`` on ``[ax, bx]`` by Brent's method, step for step as R's ``optimize``."""
    c = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(np.finfo(float).eps)
    a, b = ax, bx
    v = a + c * (b - a)
    w = x = v
    d = e = 0.0
    fx = f(x)
    fv = fw = fx
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            break
        p = q = r = 0.0
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)
            d = c * e
        else:
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = f(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return x


# --------------------------------------------------------------------------------------------
# adjusted likelihoods for A
# --------------------------------------------------------------------------------------------


def _log_lik_parts(A: float, y: FloatArray, D: FloatArray, X: FloatArray) -> tuple[float, float, float, float]:
    """``log|V|``, ``y'Py``, ``log|X'V^-1 X|`` and ``tr(I - B)`` at ``A`` (V diagonal)."""
    V = A + D
    Vi = 1.0 / V
    XtVi = (Vi[:, None] * X).T
    M = XtVi @ X
    Q = np.linalg.inv(M)
    Viy = Vi * y
    r = XtVi @ y
    yPy = float(y @ Viy - r @ Q @ r)
    return float(np.sum(np.log(V))), yPy, float(np.linalg.slogdet(M)[1]), float(np.sum(A / V))


def adjusted_variance(y: ArrayLike, D: ArrayLike, X: ArrayLike, method: VarianceMethod = "ampl",
                      interval: tuple[float, float] | None = None) -> float:
    """Between-area variance ``A`` maximising the (adjusted) likelihood on ``interval``
    (default ``[0, var(y)]``, emdi's default), as ``emdi::fh(method=...)``."""
    y = np.asarray(y, dtype=float)
    D = np.asarray(D, dtype=float)
    X = np.asarray(X, dtype=float)
    m = len(y)
    if interval is None:
        interval = (0.0, float(np.var(y, ddof=1)) if m > 1 else 1.0)
    lo, hi = interval
    if not hi > lo:
        hi = lo + 1e-8

    def neg(A: float) -> float:
        logdet, yPy, logdet_x, tr = _log_lik_parts(A, y, D, X)
        if method == "ampl":
            if A <= 0:
                return math.inf
            return -(math.log(A) - 0.5 * m * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * yPy)
        if method == "ampl_yl":
            # emdi maximises the likelihood itself, not its log: same argmax, but R's optimize takes
            # other steps, so the same function is minimised here to land on the same number
            return -(math.atan(tr) ** (1.0 / m) * (2 * math.pi) ** (-0.5 * m) * math.exp(-0.5 * logdet)
                     * math.exp(-0.5 * yPy))
        if method == "reml":
            return 0.5 * (logdet + logdet_x + yPy)
        raise ValueError(f'method="{method}" must be "ampl", "ampl_yl" or "reml"')

    return float(brent_fmin(neg, lo, hi))


# --------------------------------------------------------------------------------------------
# generalised variance function
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gvf:
    """``D(n) = exp(intercept) * n ** slope`` on the arcsine scale (times the log-normal smearing factor)."""

    intercept: float
    slope: float
    smearing: float
    points: int
    fixed_slope: bool

    def variance(self, n: ArrayLike) -> FloatArray:
        n = np.asarray(n, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, self.smearing * np.exp(self.intercept) * n ** self.slope, np.nan)

    @property
    def design_effect(self) -> float:
        """Implied design effect at n = 1 (``4 D(1)``)."""
        return float(4.0 * self.smearing * math.exp(self.intercept))

    def describe(self) -> str:
        return (f"GVF on the arcsine scale: D = {self.smearing * math.exp(self.intercept):.4g} x n^{self.slope:.3f}"
                f" from {self.points} county estimates" + (" (slope fixed at -1)" if self.fixed_slope else ""))


def fit_gvf(p: ArrayLike, se: ArrayLike, n: ArrayLike, min_n: float = 2.0) -> Gvf:
    """Fit the GVF to pooled (county, outcome) direct estimates: ``p`` shares, ``se`` their design SEs,
    ``n`` respondents. Points with ``0 < p < 1``, ``se > 0`` and ``n >= min_n`` are used; with fewer
    than 3 the binomial ``1 / (4 n)`` is returned."""
    p, se, n = (np.asarray(a, dtype=float).reshape(-1) for a in (p, se, n))
    ok = np.isfinite(p) & np.isfinite(se) & np.isfinite(n) & (p > 0) & (p < 1) & (se > 0) & (n >= min_n)
    if ok.sum() < 3:
        return Gvf(math.log(0.25), -1.0, 1.0, int(ok.sum()), True)
    v = se[ok] ** 2 / (4.0 * p[ok] * (1.0 - p[ok]))
    ly, lx = np.log(v), np.log(n[ok])
    fixed = True
    slope = -1.0
    if ok.sum() >= 5 and np.ptp(lx) > 0:
        b, a = np.polyfit(lx, ly, 1)
        if -1.5 <= b <= -0.5:
            slope, fixed = float(b), False
    a = float(np.mean(ly - slope * lx))
    resid = ly - a - slope * lx
    smear = float(np.mean(np.exp(resid)))  # Duan's smearing: the mean, not the median, of v given n
    return Gvf(a, slope, smear, int(ok.sum()), fixed)


# --------------------------------------------------------------------------------------------
# the distribution of sin^2(T), T ~ N(mu, s^2)
# --------------------------------------------------------------------------------------------


def _ecos(k: float, mu: FloatArray, var: FloatArray) -> FloatArray:
    return np.cos(k * mu) * np.exp(-0.5 * k * k * var)


def sin2_mean(mu: ArrayLike, var: ArrayLike) -> FloatArray:
    """``E sin^2(T) = (1 - cos(2 mu) exp(-2 s^2)) / 2``: the bias-corrected back-transform."""
    mu, var = np.asarray(mu, dtype=float), np.maximum(np.asarray(var, dtype=float), 0.0)
    return 0.5 * (1.0 - _ecos(2.0, mu, var))


def sin2_variance(mu: ArrayLike, var: ArrayLike) -> FloatArray:
    """``Var sin^2(T)`` (``sin^4 = (3 - 4 cos 2t + cos 4t) / 8``)."""
    mu, var = np.asarray(mu, dtype=float), np.maximum(np.asarray(var, dtype=float), 0.0)
    m2 = (3.0 - 4.0 * _ecos(2.0, mu, var) + _ecos(4.0, mu, var)) / 8.0
    return np.maximum(m2 - sin2_mean(mu, var) ** 2, 0.0)


def _sin2_cdf(q: FloatArray, mu: FloatArray, sd: FloatArray) -> FloatArray:
    from scipy.special import ndtr

    s = np.arcsin(np.sqrt(np.clip(q, 0.0, 1.0)))
    total = np.zeros(np.broadcast(q, mu).shape)
    for k in range(-2, 4):  # sin^2(t) <= q on [k pi - s, k pi + s]
        total += ndtr((k * math.pi + s - mu) / sd) - ndtr((k * math.pi - s - mu) / sd)
    return total


def sin2_quantile(prob: float, mu: ArrayLike, var: ArrayLike) -> FloatArray:
    """The ``prob`` quantile of ``sin^2(T)`` (bisection; strictly inside (0, 1) for ``var > 0``)."""
    mu = np.asarray(mu, dtype=float)
    var = np.asarray(var, dtype=float)
    sd = np.sqrt(np.maximum(var, 1e-300))
    lo = np.zeros(mu.shape)
    hi = np.ones(mu.shape)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = _sin2_cdf(mid, mu, sd) < prob
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = 0.5 * (lo + hi)
    return np.where(var > 0, out, np.sin(mu) ** 2)


def emdi_arcsin_bc(mu: ArrayLike, var: ArrayLike) -> FloatArray:
    """emdi's ``arcsin_bc``: ``integral_0^(pi/2) sin^2(t) phi(t; mu, s) dt`` (closed form)."""
    from scipy.special import erfc, ndtr

    mu, var = np.asarray(mu, dtype=float), np.asarray(var, dtype=float)
    sd = np.sqrt(var)
    a, b = (0.0 - mu) / sd, (HALF_PI - mu) / sd
    mass = ndtr(b) - ndtr(a)

    def phi_c(z):  # standard normal CDF at a complex argument
        return 0.5 * erfc(-z / math.sqrt(2.0))

    shift = 2j * sd
    cos_part = np.real(np.exp(2j * mu - 2.0 * var) * (phi_c(b - shift) - phi_c(a - shift)))
    return 0.5 * (mass - cos_part)


# --------------------------------------------------------------------------------------------
# benchmarking
# --------------------------------------------------------------------------------------------


def _logit(p: FloatArray) -> FloatArray:
    return np.log(p / (1.0 - p))


def _expit(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def benchmark(p: ArrayLike, weights: ArrayLike, target: float, kind: Benchmark = "mse",
              mse: ArrayLike | None = None) -> FloatArray:
    """Shares ``p`` (in (0, 1)) adjusted so that ``sum(weights * p) / sum(weights) = target``.

    ``mse``: county ``i`` moves by ``c * mse_i / (p_i (1 - p_i))`` on the logit scale, about ``c * mse_i``
    on the share scale, one ``c`` for all (Wang, Fuller & Qu 2008 weights: the less certain a county, the
    more of the difference it takes; emdi's ``MSE_adj`` idea kept inside (0, 1)); ``raking``: the same logit shift for all;
    ``ratio``: one factor for all (may pass 1 for shares near 1)."""
    p = np.asarray(p, dtype=float)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    if kind == "none" or not np.isfinite(target):
        return p.copy()
    if kind == "ratio":
        return p * target / float(w @ p)
    if kind not in ("raking", "mse"):
        raise ValueError(f'benchmark="{kind}" must be "mse", "raking", "ratio" or "none"')
    target = min(max(target, 1e-9), 1 - 1e-9)
    pc = np.clip(p, 1e-12, 1 - 1e-12)
    lp = _logit(pc)
    step = np.ones_like(p)
    if kind == "mse":
        if mse is None:
            raise ValueError('benchmark="mse" needs the MSEs')
        # a logit step of c * mse / (p (1 - p)) moves the share by about c * mse: each county moves in
        # proportion to its MSE on the share scale (Wang, Fuller & Qu 2008)
        step = np.asarray(mse, dtype=float) / (pc * (1 - pc))
        step = step / np.max(step)
    lo, hi = -40.0, 40.0
    k = 0.0
    for _ in range(200):
        k = 0.5 * (lo + hi)
        if float(w @ _expit(lp + k * step)) < target:
            lo = k
        else:
            hi = k
    return _expit(lp + k * step)


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyEstimate:
    table: pd.DataFrame
    A: float
    beta: pd.Series
    cov_beta: pd.DataFrame
    loglike: float
    aic: float
    bic: float
    n_fit: int
    gvf: Gvf
    benchmark_factor: float
    notes: tuple[str, ...]


def estimate_counties(p_hat: ArrayLike, n_eff: ArrayLike, X: pd.DataFrame, *, gvf: Gvf,
                      headcount: ArrayLike | None = None, state_share: float = math.nan,
                      method: VarianceMethod = "ampl", bench: Benchmark = "mse",
                      min_effective_sample: float = 6.0, level: float = 0.95,
                      area: Sequence[object] | None = None) -> CountyEstimate:
    """County shares by the default estimator (see the module docstring).

    ``p_hat`` direct shares (NaN: no respondents), ``n_eff`` effective respondents, ``X`` covariates
    with intercept (one row per county), ``gvf`` the smoothed sampling variance, ``headcount`` and
    ``state_share`` for benchmarking. Raises ``ValueError`` when fewer counties than covariates + 2
    reach the minimum effective sample (the wave is too thin to fit).
    """
    p = np.asarray(p_hat, dtype=float).reshape(-1)
    n = np.asarray(n_eff, dtype=float).reshape(-1)
    Xm = X.to_numpy(dtype=float)
    k = len(p)
    names = list(area) if area is not None else list(X.index)
    inside = np.isfinite(p) & np.isfinite(n) & (n >= min_effective_sample)
    m, q = int(inside.sum()), Xm.shape[1]
    if m < q + 2:
        raise ValueError(f"only {m} counties reach the minimum effective sample of {min_effective_sample:g} "
                         f"respondents; the county model needs at least {q + 2}")
    notes: list[str] = []
    # covariates that do not vary among the counties in the model (e.g. a county group none of whose
    # counties has enough respondents) are dropped, last first, until the design has full rank
    keep = list(range(q))
    while np.linalg.matrix_rank(Xm[inside][:, keep]) < len(keep) and len(keep) > 1:
        dropped = next(j for j in reversed(keep) if np.linalg.matrix_rank(
            Xm[inside][:, [i for i in keep if i != j]]) == np.linalg.matrix_rank(Xm[inside][:, keep]))
        keep.remove(dropped)
        notes.append(f"covariate {X.columns[dropped]!s} dropped: it does not vary among the counties in the model")
    X = X.iloc[:, keep]
    Xm = Xm[:, keep]
    q = len(keep)
    if m < q + 2:
        raise ValueError(f"only {m} counties reach the minimum effective sample of {min_effective_sample:g} "
                         f"respondents; the county model needs at least {q + 2}")
    t = np.arcsin(np.sqrt(np.clip(p, 0.0, 1.0)))
    D = gvf.variance(n)
    y, Df, Xf = t[inside], D[inside], Xm[inside]
    A = adjusted_variance(y, Df, Xf, method)
    Vi = 1.0 / (A + Df)
    Q = np.linalg.inv((Vi[:, None] * Xf).T @ Xf)
    Q = (Q + Q.T) / 2.0
    beta = Q @ ((Vi[:, None] * Xf).T @ y)
    xb = Xm @ beta
    gamma = np.zeros(k)
    gamma[inside] = A * Vi
    eta = xb.copy()
    eta[inside] = xb[inside] + gamma[inside] * (y - xb[inside])
    # Prasad–Rao MSE on the arcsine scale
    xqx = np.einsum("ij,jk,ik->i", Xm, Q, Xm)
    sum_vi2 = float(np.sum(Vi**2))
    var_A = 2.0 / sum_vi2
    bias_A = 0.0  # O(1/m) bias of the estimator of A (0 for REML)
    if method != "reml":
        bias_A = -float(np.trace(Q @ ((Xf * (Vi**2)[:, None]).T @ Xf))) / sum_vi2
        if method == "ampl":
            bias_A += 2.0 / (A * sum_vi2)
        else:  # ampl_yl: d/dA log atan(tr(I - B))^(1/m)
            tr = float(np.sum(A * Vi))
            bias_A += 2.0 * float(np.sum(Df * Vi**2)) / (m * (1.0 + tr**2) * math.atan(tr)) / sum_vi2
    B = Df * Vi
    # synthetic counties: A + x' Var(beta) x with A not bias-corrected (with few counties in the model,
    # A - b(A) understates the spread of the county effects; the simulation study shows the coverage)
    mse_t = max(A - bias_A, 0.0) + xqx
    mse_t[inside] = Df * (1 - B) + B**2 * xqx[inside] + 2.0 * B**2 * var_A / (A + Df) - bias_A * B**2
    post_var = np.where(inside, A * (1.0 - gamma), A)
    share = sin2_mean(eta, post_var)
    mse_p = sin2_variance(eta, mse_t)
    alpha = (1.0 - level) / 2.0
    # synthetic counties rest on the estimated A alone: their interval uses Student's t on m - p
    # degrees of freedom (the counties in the model less the coefficients) instead of the normal
    from scipy import stats

    z = float(stats.norm.ppf(1.0 - alpha))
    tq = float(stats.t.ppf(1.0 - alpha, m - q))
    ivar = np.where(inside, mse_t, mse_t * (tq / z) ** 2)
    lo = sin2_quantile(alpha, eta, ivar)
    hi = sin2_quantile(1.0 - alpha, eta, ivar)

    factor = math.nan
    bench_share = share
    if headcount is not None and bench != "none" and np.isfinite(state_share):
        H = np.asarray(headcount, dtype=float)
        bench_share = benchmark(share, H, state_share, bench, mse=mse_p)
        factor = float(state_share / (H @ share / H.sum()))
        adj = bench_share - share
        mse_b = mse_p + adj**2
        widen = np.sqrt(np.divide(mse_b, mse_p, out=np.ones_like(mse_b), where=mse_p > 0))
        c0 = _logit(np.clip(share, 1e-12, 1 - 1e-12))
        c1 = _logit(np.clip(bench_share, 1e-12, 1 - 1e-12))
        lo = _expit(c1 - widen * np.maximum(c0 - _logit(np.clip(lo, 1e-12, 1 - 1e-12)), 0.0))
        hi = _expit(c1 + widen * np.maximum(_logit(np.clip(hi, 1e-12, 1 - 1e-12)) - c0, 0.0))
        mse_p = mse_b
        notes.append(f"benchmarked ({bench}) to the state direct share {state_share:.4f}")
    resid = y - xb[inside]
    loglike = float(-0.5 * np.sum(np.log(2 * math.pi * (A + Df)) + resid**2 / (A + Df)))
    npar = q + 1
    table = pd.DataFrame({
        "area": names, "n_eff": n, "direct": np.where(np.isfinite(p), p, np.nan), "in_model": inside,
        "sampling_var": np.where(inside, D, np.nan), "shrinkage": gamma, "eblup_transformed": eta,
        "mse_transformed": mse_t, "share_unbenchmarked": share, "estimate": bench_share,
        "mse": mse_p, "rmse": np.sqrt(mse_p), "ci_low": lo, "ci_high": hi, "synthetic": ~inside,
        "standardised_residual": np.where(inside, (t - xb) / np.sqrt(A + np.where(inside, D, 1.0)), np.nan),
    })
    return CountyEstimate(table=table, A=A, beta=pd.Series(beta, index=X.columns),
                          cov_beta=pd.DataFrame(Q, index=X.columns, columns=X.columns), loglike=loglike,
                          aic=-2 * loglike + 2 * npar, bic=-2 * loglike + npar * math.log(m), n_fit=m, gvf=gvf,
                          benchmark_factor=factor, notes=tuple(notes))
