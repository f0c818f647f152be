"""Proportions with R ``survey``-compatible intervals: ``svyciprop`` with methods ``logit``
(default), ``likelihood``, ``beta`` (Korn-Graubard), ``mean``, ``asin`` and ``xlogit`` (``df`` defaults
to the design degrees of freedom as in R), and ``svyprop`` for every level of a categorical answer.
Both take a :class:`~assets.estimates.design.SurveyDesign` and return
:class:`~assets.estimates.estimators.Estimate` results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from assets.estimates.design import SurveyDesign, degf, svyrecvar
from assets.estimates.estimators import (
    DF, DeffType, Domain, Estimate, Variable, _deff, _domain_mask, _keep, _name, _numeric, _resolve_df, _tq,
    _weighted_var, _column)

__all__ = ["CIPROP_METHODS", "svyciprop", "svyprop"]

CipropMethod = Literal["logit", "likelihood", "beta", "mean", "asin", "xlogit"]
CIPROP_METHODS: tuple[str, ...] = ("logit", "likelihood", "beta", "mean", "asin", "xlogit")

# ---------------------------------------------------------------------------------------------
# proportions
# ---------------------------------------------------------------------------------------------


def _binary(design: SurveyDesign, var: Variable) -> np.ndarray:
    y = _numeric(design, var)
    ok = np.isnan(y) | (y == 0) | (y == 1)
    if not ok.all():
        raise ValueError(f"{_name(var)!r} must be binary (0/1 or boolean) for a proportion")
    return y


def _fmm_spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of R's ``spline(method="fmm")`` (Forsythe, Malcolm & Moler) interpolant."""
    n = x.size
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 2:
        raise ValueError("need at least two points for a spline")
    if n < 3:
        t = (y[1] - y[0]) / (x[1] - x[0])
        b[:] = t
        return b, c, d
    nm1 = n - 1
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[n - 2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
        c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] = b[i] - t * d[i - 1]
        c[i] = c[i] - t * c[i - 1]
    c[nm1] = c[nm1] / b[nm1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[nm1] = 3.0 * c[nm1]
    d[nm1] = d[n - 2]
    return b, c, d


def _r_spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's ``spline(x, y)``: fmm spline evaluated at ``3 * length(x)`` equally spaced points."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    b, c, d = _fmm_spline(ux, uy)
    xout = np.linspace(ux[0], ux[-1], 3 * x.size)
    i = np.clip(np.searchsorted(ux, xout, side="right") - 1, 0, ux.size - 1)
    dx = xout - ux[i]
    return xout, uy[i] + dx * (b[i] + dx * (c[i] + dx * d[i]))


def _r_approx(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout)`` (linear, ties averaged, NA outside the range)."""
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    out = np.interp(xout, ux, uy)
    return np.where((xout < ux[0]) | (xout > ux[-1]), np.nan, out)


def _r_logit_intercept_fit(y: np.ndarray, wr: np.ndarray, maxit: int = 25, epsilon: float = 1e-8,
                           freq: np.ndarray | None = None):
    """R's ``glm.fit`` for ``y ~ 1, family=quasibinomial`` with prior weights ``wr``, step by step.

    Returns ``(coef, mu, working_weights)`` where, as in R, the working weights are those of the
    last IRLS iteration (computed from the previous iterate).  R's ``svyglm`` sandwich and
    ``naive.cov`` are built from these, so emulating the iterations (R's starting values
    ``(w y + 1/2) / (w + 1)`` and its convergence rule) reproduces R's intervals to all printed
    digits; the fully converged values differ from R's in the fifth or sixth significant digit.
    Only the first iteration (observation-specific starting values) needs the data; afterwards
    the fitted mean is a scalar and the iteration runs on weighted sums.
    """
    good = wr > 0
    yg, wg = y[good], wr[good]
    fg = 1.0 if freq is None else freq[good]  # rows standing for freq identical rows each
    s1 = float(np.sum(fg * wg * yg))
    sw = float(np.sum(fg * wg))

    def dev_scalar(m: float) -> float:
        return -2.0 * (s1 * math.log(m) + (sw - s1) * math.log1p(-m))

    mu0 = (wg * yg + 0.5) / (wg + 1.0)
    eta0 = np.log(mu0 / (1 - mu0))
    devold = float(-2.0 * np.sum(fg * wg * np.where(yg == 1, np.log(mu0), np.log1p(-mu0))))
    # iteration 1 (observation-specific working weights)
    ww0 = wg * mu0 * (1 - mu0)
    coef = float(np.sum(fg * ww0 * (eta0 + (yg - mu0) / (mu0 * (1 - mu0)))) / np.sum(fg * ww0))
    mu = 1.0 / (1.0 + math.exp(-coef))
    d = dev_scalar(mu)
    working = np.zeros(y.shape)
    if abs(d - devold) / (abs(d) + 0.1) < epsilon or maxit <= 1:
        working[good] = ww0
        return coef, mu, working
    devold = d
    mu_prev = mu
    diverged = False
    for _ in range(maxit - 1):
        mu_prev = mu
        v = mu * (1 - mu)
        coef = coef + (s1 / sw - mu) / v  # weighted mean of the working response
        if not abs(coef) < 30.0:  # Newton overshoots from a far start (large rescaled weights)
            diverged = True
            break
        mu = 1.0 / (1.0 + math.exp(-coef))
        d = dev_scalar(mu)
        if abs(d - devold) / (abs(d) + 0.1) < epsilon:
            break
        devold = d
    if diverged:
        # the intercept-only MLE in closed form (0 < s1 < sw here): logit of the weighted mean,
        # with the working weights of a converged fit (R's IRLS would not converge from this start)
        mu_prev = mu = s1 / sw
        coef = math.log(mu / (1 - mu))
    working[good] = wg * mu_prev * (1 - mu_prev)
    return coef, mu, working


def _svyglm_logit_intercept(
    design: SurveyDesign, y: np.ndarray, keep: np.ndarray, dmask: np.ndarray, glm_rows: np.ndarray
) -> dict:
    """R's ``svyglm(y ~ 1, design, family=quasibinomial)`` pieces used by ``svyciprop``.

    ``influence`` is ``estfun %*% Ainv``; its design variance (computed by the caller, together
    with the mean's) is the squared standard error of the logit.
    """
    w = design.weights
    f = design.freq  # a collapsed design's rows stand for f rows each
    ff = np.ones(design.n) if f is None else f
    # svyglm rescales weights to mean 1 over the rows of the (sub)design it is given (a subset
    # of a calibrated design keeps all rows, with zero weight outside the subset)
    if f is None:
        mean_w = np.where(dmask, w, 0.0)[glm_rows].sum() / glm_rows.sum()
    else:
        mean_w = (np.where(dmask, w, 0.0) * f)[glm_rows].sum() / f[glm_rows].sum()
    wr = np.where(keep, w / mean_w, 0.0)
    yy = np.where(keep, y, 0.0)
    coef, mu, working = _r_logit_intercept_fit(yy, wr, freq=f)
    a_inv = 1.0 / (working.sum() if f is None else (working * f).sum())  # summary.glm()$cov.unscaled
    influence = np.where(keep, (yy - mu) / (mu * (1 - mu)) * working, 0.0) * a_inv
    # residuals.svyglm(type="pearson") divides out the (rescaled) sampling weights again
    pearson = (yy - mu) / math.sqrt(mu * (1 - mu))
    return {
        "coef": coef, "mu": mu, "influence": influence, "naive_var": a_inv,
        "s1": float((wr * yy * ff).sum()), "s0": float((wr * (1 - yy) * ff).sum()),
        "dispersion": _weighted_var(pearson, w, keep & (w > 0), f),
        "n_model": int(round(float(ff[glm_rows & ~np.isnan(y)].sum()))),
    }


def _likelihood_ci(fit: dict, dof: float, level: float) -> tuple[float, float]:
    """R's ``svyciprop(method="likelihood")``: profile of the Rao-Scott scaled deviance.

    Mirrors ``confint.svyglm(method="likelihood")`` for the intercept-only quasibinomial model:
    the profile is computed at R's grid of points (``MASS``'s ``profile.glm`` steps), interpolated
    with R's fmm spline and inverted with linear interpolation at ``t_df * sqrt(lambda)`` where
    ``lambda`` is the ratio of the design-based to the model-based variance of the logit.
    """
    from scipy import stats

    s1, s0 = fit["s1"], fit["s0"]

    def deviance(beta: float) -> float:
        # binomial deviance of the intercept-only model (binary y: saturated log-likelihood 0)
        return 2.0 * (s1 * np.logaddexp(0.0, -beta) + s0 * np.logaddexp(0.0, beta))

    b0, se_b = fit["coef"], fit["se"]
    lam = se_b**2 / fit["naive_var"]
    dispersion = fit["dispersion"]
    if math.isinf(dof):
        alpha = stats.norm.cdf(stats.norm.ppf((1 - level) / 2) * math.sqrt(lam)) / 2
    else:
        alpha = stats.norm.cdf(stats.t.ppf((1 - level) / 2, dof) * math.sqrt(lam)) / 2
    # sqrt(qf(alpha, 1, n - 1, lower.tail=FALSE)) as MASS's profile.glm, via F(1, d) = t(d)^2,
    # which stays accurate for the tiny alpha of a large design effect
    zmax = float(stats.t.isf(alpha / 2, fit["n_model"] - 1))
    step_size = zmax / 5
    dev0 = deviance(b0)
    zs = [0.0]
    bs = [b0]
    for sgn in (-1.0, 1.0):
        step = 0
        z = 0.0
        while True:
            step += 1
            if not (step < 10 and abs(z) < zmax):
                break
            bi = b0 + sgn * step * step_size * se_b
            zz = (deviance(bi) - dev0) / dispersion
            if zz <= -0.001:
                raise RuntimeError("profiling found a better solution: the fit had not converged")
            z = sgn * math.sqrt(max(zz, 0.0))
            zs.append(z)
            bs.append(bi)
    zs_arr = np.array(zs)
    bs_arr = np.array(bs)
    order = np.argsort(zs_arr, kind="stable")
    sx, sy = _r_spline(bs_arr[order], zs_arr[order])
    cutoff = np.array([stats.norm.ppf(2 * alpha), stats.norm.isf(2 * alpha)])
    lo, hi = _r_approx(sy, sx, cutoff)
    return float(1 / (1 + math.exp(-lo))), float(1 / (1 + math.exp(-hi)))


def _beta_ci(p: float, n_eff: float, level: float) -> tuple[float, float]:
    from scipy import stats

    alpha = 1 - level
    lo = float(stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)) if p > 0 else 0.0
    hi = float(stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))) if p < 1 else 1.0
    return lo, hi


def svyciprop(
    design: SurveyDesign,
    var: Variable,
    *,
    method: CipropMethod = "logit",
    domain: Domain = None,
    level: float = 0.95,
    df: DF = "design",
    na_rm: bool = False,
    deff: DeffType = "srswor",
) -> Estimate:
    """Proportion with a confidence interval that behaves in the tails: R's ``svyciprop``.

    ``var`` is a binary (0/1 or boolean) column name or array.  Methods, as R:

    * ``"logit"`` (default): Wald interval for the logit of the proportion from the
      intercept-only quasibinomial ``svyglm``, back-transformed.
    * ``"likelihood"``: Rao-Scott scaled profile likelihood (``confint.svyglm(method="likelihood")``).
    * ``"beta"``: Korn-Graubard: Clopper-Pearson with the effective sample size
      ``p (1 - p) / var``, adjusted by ``(t_{nrow-1} / t_{degf})^2``.
    * ``"mean"``: symmetric Wald interval (may leave [0, 1]; R's behaviour, not for small n).
    * ``"asin"``: arcsine-square-root transform; ``"xlogit"``: logit transform of ``svymean``.
      Like R, ``asin`` squares the sine of the back-transformed limits, so a lower limit below 0 on
      the angle scale reflects into a small positive value.

    ``df`` defaults to the design degrees of freedom (PSUs minus strata in the domain), as R.
    A domain is treated like R's ``svyciprop(~x, subset(design, ...))``: the variance uses the
    full design; for uncalibrated designs the row count that enters ``beta`` and ``likelihood`` is
    the domain's, for calibrated ones the whole design's (R keeps all rows of a calibrated design
    and zeroes the weights outside the subset).

    When the estimate is exactly 0 or 1 (no variance, R fails or returns a degenerate interval),
    every method falls back to the Clopper-Pearson interval with the domain's respondent count as
    effective sample size (adjusted for design df as Korn-Graubard), and ``ci_method`` says so.
    """
    if method not in CIPROP_METHODS:
        raise ValueError(f"method must be one of {CIPROP_METHODS}")
    name = _name(var)
    y = _binary(design, var)
    dmask = _domain_mask(design, domain)
    keep = _keep(design, y, dmask, na_rm, name)
    w = np.where(keep, design.weights, 0.0)
    f = design.freq  # a collapsed design (design.collapse): each row stands for f identical rows
    ff = np.ones(design.n) if f is None else f
    total_w = float(w.sum()) if f is None else float((w * f).sum())
    n = int((w > 0).sum()) if f is None else int(round(float(f[w > 0].sum())))
    if total_w <= 0:
        return Estimate(name, "proportion", math.nan, math.nan, math.nan, math.nan, 0, math.nan,
                        math.nan, level, method, "all" if domain is None else "domain")
    yy = np.where(keep, y, 0.0)
    p = float((w * yy).sum() / total_w) if f is None else float((w * yy * f).sum() / total_w)
    infl = w * (yy - p) / total_w
    # rows of the (sub)design R would work with
    glm_rows = np.ones(design.n, dtype=bool) if design.is_calibrated else dmask
    fit = None
    if method in ("logit", "likelihood") and 0.0 < p < 1.0:
        fit = _svyglm_logit_intercept(design, y, keep, dmask, glm_rows)
        vmat = svyrecvar(design, np.column_stack([infl, fit["influence"]]))
        v = float(vmat[0, 0])
        fit["se"] = math.sqrt(max(float(vmat[1, 1]), 0.0))
    else:
        v = float(svyrecvar(design, infl)[0, 0])
    se = math.sqrt(max(v, 0.0))
    inset = keep & (design.weights > 0)
    design_df = float(degf(design, inset))
    dof = design_df if df == "design" else _resolve_df(design, df, inset)
    alpha = 1 - level
    q = _tq(level, dof)
    n_rows = int(glm_rows.sum()) if f is None else int(round(float(ff[glm_rows].sum())))
    d = _deff(v, _weighted_var(y, design.weights, keep, f), total_w, n, deff, "mean")
    label = "all" if domain is None else "domain"

    if p <= 0.0 or p >= 1.0 or v <= 0 or method == "beta":
        from scipy import stats  # only these intervals need it (importing it is slow)
    if p <= 0.0 or p >= 1.0 or v <= 0:
        # Korn-Graubard with n_eff = n when there is no variance to estimate it from
        if n_rows > 1 and design_df > 0:
            adj = (stats.t.ppf(alpha / 2, n_rows - 1) / stats.t.ppf(alpha / 2, design_df)) ** 2
        else:
            adj = 1.0
        lo, hi = _beta_ci(p, n * min(adj, 1.0), level)
        return Estimate(name, "proportion", p, se, lo, hi, n, d, dof, level, "beta (n_eff = n)", label)

    if method == "mean":
        lo, hi = p - q * se, p + q * se
    elif method == "asin":
        theta = math.asin(math.sqrt(p))
        se_t = se / (2 * math.sqrt(p * (1 - p)))
        lo, hi = math.sin(theta - q * se_t) ** 2, math.sin(theta + q * se_t) ** 2
    elif method == "logit":
        eta, se_e = fit["coef"], fit["se"]
        lo, hi = 1 / (1 + math.exp(-(eta - q * se_e))), 1 / (1 + math.exp(-(eta + q * se_e)))
    elif method == "xlogit":
        eta = math.log(p / (1 - p))
        se_e = se / (p * (1 - p))
        lo, hi = 1 / (1 + math.exp(-(eta - q * se_e))), 1 / (1 + math.exp(-(eta + q * se_e)))
    elif method == "beta":
        n_eff = p * (1 - p) / v
        n_eff *= (stats.t.ppf(alpha / 2, n_rows - 1) / stats.t.ppf(alpha / 2, design_df)) ** 2
        lo, hi = _beta_ci(p, n_eff, level)
    else:  # likelihood
        lo, hi = _likelihood_ci(fit, dof, level)
    return Estimate(name, "proportion", p, se, lo, hi, n, d, dof, level, method, label)


def _levels(values: np.ndarray, levels: Sequence | None) -> list:
    if levels is not None:
        return list(levels)
    s = pd.Series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(s.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))


def svyprop(
    design: SurveyDesign,
    var: Variable,
    *,
    levels: Sequence | None = None,
    method: CipropMethod = "logit",
    domain: Domain = None,
    level: float = 0.95,
    df: DF = "design",
    na_rm: bool = False,
    deff: DeffType = "srswor",
) -> pd.DataFrame:
    """Distribution of a categorical variable: one :func:`svyciprop` per category.

    Estimates and SEs equal R's ``svymean(~factor, design)``; intervals are ``svyciprop`` intervals
    (``method``).  Columns: ``level, estimate, se, ci_low, ci_high, n, count, deff, df, ci_method``
    where ``n`` is the number of respondents (the denominator) and ``count`` the unweighted number
    in the category (the cell count to use for disclosure control).
    """
    values = _column(design, var)
    missing = pd.isna(pd.Series(values)).to_numpy()
    dmask = _domain_mask(design, domain)
    if (missing & dmask).any() and not na_rm:
        raise ValueError(f"{_name(var)!r} has missing values; pass na_rm=True to drop them")
    rows = []
    for lev in _levels(values, levels):
        indicator = np.where(missing, np.nan, (pd.Series(values) == lev).to_numpy(dtype=float))
        est = svyciprop(design, indicator, method=method, domain=dmask, level=level, df=df,
                        na_rm=True, deff=deff)
        count = int(((pd.Series(values) == lev).to_numpy() & dmask & (design.weights > 0)).sum())
        rows.append({
            "level": lev, "estimate": est.estimate, "se": est.se, "ci_low": est.ci_low,
            "ci_high": est.ci_high, "n": est.n, "count": count, "deff": est.deff, "df": est.df,
            "ci_method": est.ci_method,
        })
    return pd.DataFrame(rows)
