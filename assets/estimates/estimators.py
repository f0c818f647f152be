"""Design-based estimators: the result type, means and totals with R ``survey``-compatible intervals.

Every function takes a :class:`~assets.estimates.design.SurveyDesign` and returns small typed
results (:class:`Estimate`) or DataFrames with the columns ``domain, estimate, se, ci_low,
ci_high, n, deff`` (plus ``df`` and, for proportions, ``level`` and ``count``).

* ``svymean`` / ``svytotal``: R's ``svymean`` / ``svytotal`` with ``deff=TRUE``.
* ``unweighted_proportion``: Wilson or Clopper-Pearson intervals for plain counts.

Proportions with R's ``svyciprop`` intervals are in :mod:`assets.estimates.proportions`, estimates by
domain (R's ``svyby``) in :mod:`assets.estimates.domains`; all take the same design object.

Design effects follow R's ``deff=TRUE`` (``deff="srswor"``): the variance under simple random
sampling *without* replacement of the same size from a population of size ``sum(w)``;
``deff="replace"`` compares with sampling with replacement, R's ``deff="replace"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal, Union

import numpy as np
import pandas as pd

from assets.estimates.design import SurveyDesign, degf, svyrecvar
from assets.estimates.intervals import clopper_pearson_interval, wilson_interval

__all__ = ["Estimate", "svymean", "svytotal", "svyvar", "unweighted_proportion"]

DeffType = Literal["srswor", "replace"]
DF = Union[float, int, Literal["design"], None]
Domain = Union[np.ndarray, pd.Series, Mapping, None]
Variable = Union[str, np.ndarray, pd.Series]


@dataclass(frozen=True)
class Estimate:
    """One design-based estimate with its standard error and confidence interval.

    ``n`` is the number of respondents used (rows in the domain with a non-missing value and a
    positive weight); ``df`` the degrees of freedom of the interval (``inf`` for a normal one).
    """

    variable: str
    statistic: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    deff: float
    df: float
    level: float
    ci_method: str
    domain: str = "all"

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _name(var: Variable) -> str:
    if isinstance(var, str):
        return var
    if isinstance(var, pd.Series) and var.name is not None:
        return str(var.name)
    return "x"


def _column(design: SurveyDesign, var: Variable) -> np.ndarray:
    if isinstance(var, str):
        if var not in design.data.columns:
            raise KeyError(f"{var!r} is not a column of the design data")
        values = design.data[var].to_numpy()
    else:
        values = var.to_numpy() if isinstance(var, pd.Series) else np.asarray(var)
        if values.shape[0] != design.n:
            raise ValueError(f"variable has {values.shape[0]} values for a design of {design.n} rows")
    return values


def _numeric(design: SurveyDesign, var: Variable) -> np.ndarray:
    values = _column(design, var)
    if values.dtype == bool:
        return values.astype(float)
    if values.dtype == object:
        s = pd.Series(values)
        if s.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():
            return s.map(lambda v: np.nan if pd.isna(v) else float(v)).to_numpy(dtype=float)
        raise TypeError(f"{_name(var)!r} is not numeric; use svyprop for categorical variables")
    try:
        return values.astype(float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{_name(var)!r} is not numeric; use svyprop for categorical variables") from exc


def _domain_mask(design: SurveyDesign, domain: Domain) -> np.ndarray:
    if domain is None:
        return np.ones(design.n, dtype=bool)
    if isinstance(domain, Mapping):
        mask = np.ones(design.n, dtype=bool)
        for col, value in domain.items():
            column = design.data[col]
            if isinstance(value, (list, tuple, set, frozenset)):
                mask &= column.isin(list(value)).to_numpy()
            else:
                mask &= (column == value).to_numpy()
        return mask
    mask = domain.to_numpy() if isinstance(domain, pd.Series) else np.asarray(domain)
    if mask.shape[0] != design.n:
        raise ValueError("domain mask has the wrong length")
    if mask.dtype != bool:
        mask = pd.Series(mask).fillna(False).astype(bool).to_numpy()
    return mask


def _keep(design: SurveyDesign, y: np.ndarray, domain_mask: np.ndarray, na_rm: bool, name: str) -> np.ndarray:
    missing = np.isnan(y) & domain_mask
    if missing.any() and not na_rm:
        raise ValueError(f"{name!r} has {int(missing.sum())} missing values; pass na_rm=True to drop them")
    return domain_mask & ~np.isnan(y)


def _resolve_df(design: SurveyDesign, df: DF, inset: np.ndarray) -> float:
    if df is None:
        return math.inf
    if isinstance(df, str):
        if df != "design":
            raise ValueError("df must be a number, None (normal) or 'design'")
        return float(degf(design, inset))
    return float(df)


def _tq(level: float, df: float) -> float:
    # scipy.special's quantile functions are what scipy.stats' norm.ppf and t.ppf evaluate, without
    # the cost of importing scipy.stats (seconds when byte-code is not cached)
    from scipy import special

    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    q = 0.5 + level / 2
    if df is None or math.isinf(df):
        return float(special.ndtri(q))
    if df <= 0:
        return math.nan
    return float(special.stdtrit(df, q))


def _weighted_var(y: np.ndarray, w: np.ndarray, keep: np.ndarray, freq: np.ndarray | None = None) -> float:
    """R's ``svyvar`` of one variable (population variance estimate with n/(n-1)).

    ``freq``: how many identical rows each row stands for (a collapsed design)."""
    ww = np.where(keep, w, 0.0)
    n_nz = int((ww != 0).sum()) if freq is None else int(round(float(freq[ww != 0].sum())))
    if freq is not None:
        ww = ww * freq
    total = ww.sum()
    if n_nz < 2 or total <= 0:
        return math.nan
    yy = np.where(keep, y, 0.0)
    mean = (ww * yy).sum() / total
    return float((ww * (yy - mean) ** 2).sum() / total * n_nz / (n_nz - 1))


def _deff(v: float, vsrs_base: float, total_w: float, n: int, kind: DeffType, statistic: str) -> float:
    """R's deff: v / vsrs with vsrs = svyvar/n (replace) or svyvar (N-n)/(N n) (srswor)."""
    if kind not in ("srswor", "replace"):
        raise ValueError("deff must be 'srswor' or 'replace'")
    if n == 0 or not np.isfinite(vsrs_base):
        return math.nan
    factor = total_w**2 if statistic == "total" else 1.0
    if kind == "replace":
        vsrs = vsrs_base * factor / n
    else:
        if total_w < n:
            return math.nan  # R: weights not scaled to the population
        vsrs = vsrs_base * factor * (total_w - n) / (total_w * n)
    return v / vsrs if vsrs > 0 else math.nan


# ---------------------------------------------------------------------------------------------
# means and totals
# ---------------------------------------------------------------------------------------------


def _mean_or_total(
    design: SurveyDesign,
    var: Variable,
    statistic: Literal["mean", "total"],
    domain: Domain,
    na_rm: bool,
    level: float,
    df: DF,
    deff: DeffType,
    domain_label: str,
) -> Estimate:
    name = _name(var)
    y = _numeric(design, var)
    keep = _keep(design, y, _domain_mask(design, domain), na_rm, name)
    w = np.where(keep, design.weights, 0.0)
    yy = np.where(keep, y, 0.0)
    f = design.freq  # a collapsed design (design.collapse): each row stands for f identical rows
    wf = w if f is None else w * f
    total_w = float(wf.sum())
    n = int((w > 0).sum()) if f is None else int(round(float(f[w > 0].sum())))
    if statistic == "mean":
        est = float((wf * yy).sum() / total_w) if total_w > 0 else math.nan
        infl = w * (yy - est) / total_w if total_w > 0 else np.zeros(design.n)
    else:
        est = float((wf * yy).sum())
        infl = w * yy
    v = float(svyrecvar(design, infl)[0, 0])
    se = math.sqrt(v) if v >= 0 else math.nan
    dof = _resolve_df(design, df, keep)
    q = _tq(level, dof)
    d = _deff(v, _weighted_var(y, design.weights, keep, f), total_w, n, deff, statistic)
    return Estimate(name, statistic, est, se, est - q * se, est + q * se, n, d, dof, level, "wald", domain_label)


def svymean(
    design: SurveyDesign,
    var: Variable,
    *,
    domain: Domain = None,
    na_rm: bool = False,
    level: float = 0.95,
    df: DF = "design",
    deff: DeffType = "srswor",
) -> Estimate:
    """Weighted mean with linearised SE: R's ``svymean(~var, design, deff=TRUE)``.

    ``domain`` (a boolean mask or ``{column: value}``) restricts to a subpopulation using the
    full-design variance (R's ``svymean(~var, subset(design, ...))``).  The interval is
    ``estimate +/- t_df * se`` with ``df`` the design degrees of freedom by default; ``df=None``
    gives the normal interval of R's ``confint(svymean(...))``.  For a proportion use
    :func:`svyciprop`, which never uses this symmetric (Wald) interval by default.
    """
    return _mean_or_total(design, var, "mean", domain, na_rm, level, df, deff, "all" if domain is None else "domain")


def svytotal(
    design: SurveyDesign,
    var: Variable,
    *,
    domain: Domain = None,
    na_rm: bool = False,
    level: float = 0.95,
    df: DF = "design",
    deff: DeffType = "srswor",
) -> Estimate:
    """Weighted total with linearised SE: R's ``svytotal(~var, design, deff=TRUE)``."""
    return _mean_or_total(design, var, "total", domain, na_rm, level, df, deff, "all" if domain is None else "domain")


def svyvar(design: SurveyDesign, var: Variable, *, domain: Domain = None, na_rm: bool = False) -> float:
    """Estimated population variance of ``var`` (R's ``svyvar`` point estimate)."""
    y = _numeric(design, var)
    keep = _keep(design, y, _domain_mask(design, domain), na_rm, _name(var))
    return _weighted_var(y, design.weights, keep)


# ---------------------------------------------------------------------------------------------
# unweighted counts
# ---------------------------------------------------------------------------------------------


def unweighted_proportion(
    successes: int,
    n: int,
    *,
    method: Literal["wilson", "clopper-pearson"] = "wilson",
    level: float = 0.95,
    variable: str = "x",
    domain: str = "all",
) -> Estimate:
    """Proportion of plain counts with a Wilson (default) or Clopper-Pearson interval.

    Uses :mod:`assets.estimates.intervals`; never a Wald interval.  ``se`` is the binomial
    ``sqrt(p (1 - p) / n)`` for reference only.
    """
    if method == "wilson":
        lo, hi = wilson_interval(successes, n, level)
    elif method == "clopper-pearson":
        lo, hi = clopper_pearson_interval(successes, n, level)
    else:
        raise ValueError("method must be 'wilson' or 'clopper-pearson'")
    p = successes / n if n > 0 else math.nan
    se = math.sqrt(p * (1 - p) / n) if n > 0 else math.nan
    return Estimate(variable, "proportion", p, se, lo, hi, int(n), 1.0, math.inf, level, method, domain)
