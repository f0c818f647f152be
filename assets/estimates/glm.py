"""Design-based generalised linear models: R's ``svyglm`` for quasibinomial and gaussian families.

Point estimates are weighted maximum (quasi-)likelihood fits with the sampling weights rescaled
to mean 1 (R's ``rescale=TRUE``).  Standard errors are the linearised sandwich of R's
``svy.varcoef``: the influence functions ``estfun %*% Ainv`` go through the same design variance
(:func:`~assets.estimates.design.svyrecvar`) as means and totals, so strata, clusters, the fpc and
calibration (post-stratification, raking) are all accounted for.  As R, the residual degrees of
freedom are ``degf(design) + 1 - p``; they are used for the t tests and intervals.

The IRLS iterations copy R's ``glm.fit`` (starting values, convergence rule ``|dev - dev_old| /
(|dev| + 0.1) < 1e-8``, at most 25 iterations, working weights of the last iteration in the
sandwich), so coefficients and standard errors agree with R to all printed digits.

Logistic fits are checked for complete or quasi-complete separation (a linear-programming test for
a direction in which every observation's fit improves, run when fitted probabilities reach 0 or 1
or the fit does not converge, and always for small data); when found, the result is flagged
(``separation=True``, ``reliable=False``) and its reported estimates are blanked rather than
publishing divergent coefficients.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from assets.estimates.design import SurveyDesign, degf, svyrecvar

__all__ = ["Family", "SvyGLMResult", "detect_separation", "svyglm"]

Family = Literal["quasibinomial", "binomial", "gaussian"]

#: fitted probabilities closer than this to 0 or 1 trigger the separation check
PROB_EPS = 1e-8
#: run the linear-programming separation check unconditionally below this many distinct rows
LP_ALWAYS_MAX_ROWS = 20_000
#: never run it above this many distinct rows (then the probability heuristic decides alone)
LP_MAX_ROWS = 500_000


@dataclass(frozen=True)
class SvyGLMResult:
    """A fitted design-based GLM.

    ``coef``/``se``/``t``/``p`` are NaN when the fit is not ``reliable`` (separation or
    non-convergence); the raw numbers stay in ``raw_coef``/``raw_se`` for diagnosis.
    """

    formula: str
    family: str
    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    df: float
    vcov: np.ndarray = field(repr=False)
    naive_vcov: np.ndarray = field(repr=False)
    converged: bool
    iterations: int
    separation: bool
    separation_terms: tuple[str, ...]
    reliable: bool
    messages: tuple[str, ...]
    n: int
    deviance: float
    aliased: tuple[str, ...]
    raw_coef: np.ndarray = field(repr=False)
    raw_se: np.ndarray = field(repr=False)

    def model_matrix(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The fit's treatment-coded model matrix of ``data`` (columns ``terms``) and its NA-row mask.

        Raises ValueError when the levels in ``data`` give other columns than the fit's.
        """
        _, terms, intercept = _parse_formula(self.formula)
        x, names, missing = model_matrix(data, terms, intercept)
        if tuple(names) != self.terms:
            raise ValueError(f"the data give the model columns {names}, the fit has {list(self.terms)}")
        return x, missing

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals ``coef +/- t_{df} se`` (R's ``confint.svyglm`` default)."""
        from scipy import stats

        q = stats.t.ppf(0.5 + level / 2, self.df) if self.df > 0 else math.nan
        return pd.DataFrame(
            {"term": self.terms, "ci_low": self.coef - q * self.se, "ci_high": self.coef + q * self.se}
        )

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: term, estimate, se, t, p, df, ci_low, ci_high (+ odds ratios for
        binomial families)."""
        ci = self.confint(level)
        out = pd.DataFrame({
            "term": self.terms, "estimate": self.coef, "se": self.se, "t": self.t, "p": self.p,
            "df": self.df, "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
        })
        if self.family in ("quasibinomial", "binomial"):
            out["odds_ratio"] = np.exp(out["estimate"])
            out["or_low"] = np.exp(out["ci_low"])
            out["or_high"] = np.exp(out["ci_high"])
        return out

    def odds_ratios(self, level: float = 0.95, include_intercept: bool = False) -> pd.DataFrame:
        """Odds ratios with intervals (exponentiated Wald limits); NaN when not ``reliable``."""
        if self.family not in ("quasibinomial", "binomial"):
            raise ValueError("odds ratios are only defined for binomial families")
        t = self.table(level)
        if not include_intercept:
            t = t[t["term"] != "(Intercept)"]
        return t[["term", "odds_ratio", "or_low", "or_high", "p"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# model matrix
# ---------------------------------------------------------------------------------------------


def _parse_formula(formula: str) -> tuple[str, list[str], bool]:
    if "~" not in formula:
        raise ValueError("formula must look like 'y ~ x1 + x2'")
    lhs, rhs = formula.split("~", 1)
    response = lhs.strip()
    intercept = True
    terms: list[str] = []
    for raw in re.split(r"(?=[+-])", rhs.replace(" ", "")):
        if not raw:
            continue
        sign, name = (raw[0], raw[1:]) if raw[0] in "+-" else ("+", raw)
        if name in ("0", "1"):
            if sign == "-" or name == "0":
                intercept = False
            continue
        if sign == "-":
            raise ValueError("only '- 1' may be subtracted in a formula")
        if any(ch in name for ch in ":*()^|"):
            raise ValueError(f"term {name!r}: interactions/functions are not supported; make a column")
        terms.append(name)
    if not response:
        raise ValueError("formula has no response")
    return response, terms, intercept


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _levels(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(s.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))


def model_matrix(data: pd.DataFrame, terms: Sequence[str], intercept: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Treatment-coded model matrix as R (reference = first level), names as R, NA-row mask."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    missing = np.zeros(len(data), dtype=bool)
    if intercept:
        cols.append(np.ones(len(data)))
        names.append("(Intercept)")
    for term in terms:
        if term not in data.columns:
            raise KeyError(f"{term!r} is not a column of the design data")
        s = data[term]
        missing |= s.isna().to_numpy()
        if _is_categorical(s):
            levels = _levels(s)
            if pd.api.types.is_bool_dtype(s) or set(levels) <= {False, True}:
                cols.append((s == True).to_numpy(dtype=float))  # noqa: E712 - R's 'xTRUE'
                names.append(f"{term}TRUE")
                continue
            for lev in levels[1:] if intercept else levels:
                cols.append((s == lev).to_numpy(dtype=float))
                names.append(f"{term}{lev}")
        else:
            cols.append(s.to_numpy(dtype=float))
            names.append(term)
    x = np.column_stack(cols) if cols else np.empty((len(data), 0))
    return np.where(missing[:, None], 0.0, x), names, missing


def _response(s: pd.Series, family: str, success: object | None) -> tuple[np.ndarray, np.ndarray]:
    missing = s.isna().to_numpy()
    if family == "gaussian":
        return np.where(missing, 0.0, s.to_numpy(dtype=float, na_value=np.nan)), missing
    if success is not None:
        y = (s == success).to_numpy(dtype=float)
    elif pd.api.types.is_bool_dtype(s) or (not pd.api.types.is_numeric_dtype(s) and set(s.dropna().unique()) <= {True, False}):
        y = s.fillna(False).astype(bool).to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(s):
        y = s.to_numpy(dtype=float, na_value=np.nan)
        y = np.where(missing, 0.0, y)
        if ((y < 0) | (y > 1)).any():
            raise ValueError("a binomial response must be in [0, 1]")
    else:
        levels = _levels(s)
        if len(levels) != 2:
            raise ValueError(f"a categorical binomial response needs 2 levels, got {levels}")
        y = (s == levels[1]).to_numpy(dtype=float)  # R: first factor level is failure
    return np.where(missing, 0.0, y), missing


def _aliased_columns(x: np.ndarray, rows: np.ndarray, tol: float = 1e-7, freq: np.ndarray | None = None) -> list[int]:
    """Columns linearly dependent on earlier ones (R keeps the first of a dependent set)."""
    xr = x[rows]
    g = xr.T @ xr if freq is None else (xr * freq[rows][:, None]).T @ xr
    keep: list[int] = []
    dropped: list[int] = []
    for j in range(x.shape[1]):
        if g[j, j] <= 0:
            dropped.append(j)
            continue
        if keep:
            gk = g[np.ix_(keep, keep)]
            resid = g[j, j] - g[j, keep] @ np.linalg.solve(gk, g[keep, j])
        else:
            resid = g[j, j]
        if resid <= tol * g[j, j]:
            dropped.append(j)
        else:
            keep.append(j)
    return dropped


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------


def _glm_fit_logit(x: np.ndarray, y: np.ndarray, w: np.ndarray, maxit: int, epsilon: float,
                   freq: np.ndarray | None = None):
    """R's ``glm.fit`` for the logit link (binomial/quasibinomial), iteration by iteration.

    ``freq``: how many identical rows each row stands for (a collapsed design)."""
    f = np.ones(len(w)) if freq is None else freq
    good0 = w > 0
    mu = (w * y + 0.5) / (w + 1.0)
    eta = np.log(mu / (1 - mu))

    def deviance(m: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = np.where(y > 0, y * np.log(y / m), 0.0)
            t2 = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - m)), 0.0)
        return float(2.0 * np.sum(np.where(good0, f * w * (t1 + t2), 0.0)))

    devold = deviance(mu)
    coef = np.zeros(x.shape[1])
    converged = False
    ww = np.zeros_like(w)
    it = 0
    for it in range(1, maxit + 1):
        mu_eta = mu * (1 - mu)
        good = good0 & (mu_eta > 0)
        z = eta + (y - mu) / np.where(mu_eta > 0, mu_eta, 1.0)
        ww = np.where(good, w * mu_eta, 0.0)
        sw = np.sqrt(ww[good] * f[good])
        coef, *_ = np.linalg.lstsq(x[good] * sw[:, None], z[good] * sw, rcond=None)
        eta = x @ coef
        mu = 1.0 / (1.0 + np.exp(-np.clip(eta, -30.0, 30.0)))
        dev = deviance(mu)
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        devold = dev
    return coef, mu, eta, ww, converged, it, deviance(mu)


def _glm_fit_gaussian(x: np.ndarray, y: np.ndarray, w: np.ndarray, freq: np.ndarray | None = None):
    f = np.ones(len(w)) if freq is None else freq
    good = w > 0
    sw = np.sqrt(w[good] * f[good])
    coef, *_ = np.linalg.lstsq(x[good] * sw[:, None], y[good] * sw, rcond=None)
    mu = x @ coef
    dev = float(np.sum(f * w * (y - mu) ** 2))
    return coef, mu, mu, np.where(good, w, 0.0), True, 1, dev


def detect_separation(x: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray | None:
    """Linear-programming test for (quasi-)complete separation of a binary response.

    Looks for a direction ``b`` with ``s_i x_i'b >= 0`` for every observation (``s_i = +1`` for
    successes, ``-1`` for failures) and ``> 0`` for at least one: along ``b`` the likelihood
    increases forever, so the maximum likelihood estimate does not exist.  Returns ``b``
    (columns scaled back to the original units) or ``None`` if there is no separation.
    Observations with a fractional response never separate and are skipped.
    """
    from scipy.optimize import linprog

    if rows is not None:
        x, y = x[rows], y[rows]
    binary = (y == 0) | (y == 1)
    x, y = x[binary], y[binary]
    if x.shape[0] == 0:
        return None
    s = np.where(y == 1, 1.0, -1.0)
    a = x * s[:, None]
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    a = np.unique(a / scale, axis=0)
    res = linprog(
        c=-a.sum(axis=0), A_ub=-a, b_ub=np.zeros(a.shape[0]),
        bounds=[(-1.0, 1.0)] * a.shape[1], method="highs",
    )
    if res.status != 0 or res.x is None:
        return None
    b = res.x
    margins = a @ b
    if margins.min() >= -1e-9 and margins.max() > 1e-6:
        return b / scale
    return None


def svyglm(
    design: SurveyDesign,
    formula: str,
    *,
    family: Family = "quasibinomial",
    subset: np.ndarray | pd.Series | None = None,
    success: object | None = None,
    maxit: int = 25,
    epsilon: float = 1e-8,
    check_separation: bool = True,
) -> SvyGLMResult:
    """Fit ``formula`` (``"y ~ x1 + x2"``) to a survey design: R's ``svyglm``.

    Categorical predictors (non-numeric or boolean columns) get treatment coding with the first
    level (sorted, or the pandas category order) as reference, named like R (``stypeH``).  A
    two-level categorical binomial response counts its second level as success (R's factor
    rule) unless ``success`` names it.  Rows with a missing response or predictor are dropped
    (R's ``na.omit``); ``subset`` restricts the fit to a domain (R's ``svyglm(subset=)``), in both
    cases with the full-design variance.  ``family="gaussian"`` gives design-based linear
    regression.  ``binomial`` is accepted as a synonym of ``quasibinomial`` (the sandwich variance
    does not use the dispersion).
    """
    from scipy import stats

    if family not in ("quasibinomial", "binomial", "gaussian"):
        raise ValueError("family must be 'quasibinomial', 'binomial' or 'gaussian'")
    response, terms, intercept = _parse_formula(formula)
    data = design.data
    if response not in data.columns:
        raise KeyError(f"{response!r} is not a column of the design data")
    x, names, x_missing = model_matrix(data, terms, intercept)
    y, y_missing = _response(data[response], family, success)
    keep = ~(x_missing | y_missing)
    in_subset = np.ones(design.n, dtype=bool)
    if subset is not None:
        in_subset = (subset.to_numpy() if isinstance(subset, pd.Series) else np.asarray(subset)).astype(bool)
        keep &= in_subset
    # R rescales the weights to mean 1 over the rows of the design it is given: a subset of an
    # uncalibrated design drops rows, a subset of a calibrated one keeps them with weight zero
    frame_rows = in_subset if (subset is not None and not design.is_calibrated) else np.ones(design.n, dtype=bool)
    freq = design.freq  # a collapsed design (design.collapse): each row stands for freq identical rows
    f = np.ones(design.n) if freq is None else freq
    mean_w = (np.where(in_subset, design.weights, 0.0) * f)[frame_rows].sum() / f[frame_rows].sum()
    w = np.where(keep, design.weights, 0.0) / mean_w
    fit_rows = w > 0
    if fit_rows.sum() == 0:
        raise ValueError("no observations with positive weight to fit")
    n_fit = int(fit_rows.sum()) if freq is None else int(round(float(freq[fit_rows].sum())))
    messages: list[str] = []
    aliased_idx = _aliased_columns(x, fit_rows, freq=freq)
    aliased = tuple(names[j] for j in aliased_idx)
    if aliased:
        messages.append(f"aliased (linearly dependent) terms dropped: {', '.join(aliased)}")
    use = [j for j in range(len(names)) if j not in aliased_idx]
    xu = x[:, use]
    if family == "gaussian":
        coef_u, mu, eta, ww, converged, iters, dev = _glm_fit_gaussian(xu, y, w, freq)
        resid_w = (y - mu) * ww
    else:
        coef_u, mu, eta, ww, converged, iters, dev = _glm_fit_logit(xu, y, w, maxit, epsilon, freq)
        mu_eta = mu * (1 - mu)
        resid_w = np.where(mu_eta > 0, (y - mu) / np.where(mu_eta > 0, mu_eta, 1.0), 0.0) * ww
    xtwx = (xu * (ww * f)[:, None]).T @ xu
    a_inv = np.linalg.inv(xtwx)
    estfun = np.where(keep[:, None], xu * resid_w[:, None], 0.0)
    vcov_u = svyrecvar(design, estfun @ a_inv)
    p_terms = len(use)
    df_resid = float(degf(design, keep & (design.weights > 0)) + 1 - p_terms)

    separation = False
    sep_terms: tuple[str, ...] = ()
    if family != "gaussian":
        if not converged:
            messages.append(f"IRLS did not converge in {maxit} iterations")
        extreme = bool(((mu[fit_rows] < PROB_EPS) | (mu[fit_rows] > 1 - PROB_EPS)).any())
        if extreme:
            messages.append("fitted probabilities numerically 0 or 1 occurred")
        if check_separation:
            n_rows = n_fit
            if (extreme or not converged or n_rows <= LP_ALWAYS_MAX_ROWS) and n_rows <= LP_MAX_ROWS:
                direction = detect_separation(xu, y, fit_rows)
                if direction is not None:
                    separation = True
                    sep_terms = tuple(names[use[j]] for j in np.flatnonzero(np.abs(direction) > 1e-9))
            elif extreme:
                separation = True
                sep_terms = tuple(names[j] for j in use)
        if separation:
            messages.append(
                "complete or quasi-complete separation: maximum likelihood estimates do not exist "
                f"(terms involved: {', '.join(sep_terms)}); estimates withheld"
            )

    k = len(names)
    raw_coef = np.full(k, np.nan)
    raw_se = np.full(k, np.nan)
    vcov = np.full((k, k), np.nan)
    naive = np.full((k, k), np.nan)
    raw_coef[use] = coef_u
    raw_se[use] = np.sqrt(np.diag(vcov_u))
    vcov[np.ix_(use, use)] = vcov_u
    naive[np.ix_(use, use)] = a_inv
    reliable = not separation and (converged or family == "gaussian")
    coef = raw_coef if reliable else np.full(k, np.nan)
    se = raw_se if reliable else np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = coef / se
    pval = 2 * stats.t.sf(np.abs(tval), df_resid) if df_resid > 0 else np.full(k, np.nan)
    return SvyGLMResult(
        formula=formula, family=family, terms=tuple(names), coef=coef, se=se, t=tval, p=pval,
        df=df_resid, vcov=vcov, naive_vcov=naive, converged=converged, iterations=iters,
        separation=separation, separation_terms=sep_terms, reliable=reliable,
        messages=tuple(messages), n=n_fit, deviance=dev, aliased=aliased,
        raw_coef=raw_coef, raw_se=raw_se,
    )
