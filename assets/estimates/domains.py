"""Estimates by domain: R's ``svyby``, each domain's estimate from the full-design linearisation
(influence values are zero outside the domain, so the variance counts every PSU of the design)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from assets.estimates.design import SurveyDesign
from assets.estimates.estimators import DF, DeffType, Domain, Variable, _column, _domain_mask, svymean, svytotal
from assets.estimates.proportions import CipropMethod, _binary, svyciprop, svyprop

__all__ = ["svyby"]

# ---------------------------------------------------------------------------------------------
# domains
# ---------------------------------------------------------------------------------------------


def svyby(
    design: SurveyDesign,
    outcome: Variable,
    by: str | Sequence[str],
    *,
    statistic: Literal["mean", "total", "proportion"] = "mean",
    method: CipropMethod = "logit",
    level: float = 0.95,
    df: DF = "design",
    na_rm: bool = False,
    deff: DeffType = "srswor",
    domain: Domain = None,
) -> pd.DataFrame:
    """Estimates for each domain defined by ``by``: R's ``svyby(~outcome, ~by, design, FUN)``.

    Each domain's estimate uses the full-design linearisation (influence values zero outside the
    domain), never a sub-setted data frame, so SEs account for every PSU and stratum of the design
    and for its calibration.  ``statistic="proportion"`` gives :func:`svyciprop` intervals for a
    binary outcome, or :func:`svyprop` rows (with a ``level`` column) for a categorical one.
    ``domain`` optionally restricts all domains further (e.g. to those who answered a filter).

    Returns one row per non-empty domain, sorted by the ``by`` columns, with the ``by`` columns,
    ``domain`` (a label ``a.b`` as R), ``estimate, se, ci_low, ci_high, n, deff, df`` and, for
    proportions, ``count`` and ``ci_method``.
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    frame = design.data[by_cols]
    if frame.isna().any().any():
        raise ValueError("missing values in the domain variables")
    base = _domain_mask(design, domain) & (design.weights != 0)
    groups = frame[base].drop_duplicates().sort_values(by_cols, kind="stable")
    categorical = False
    if statistic == "proportion":
        values = _column(design, outcome)
        s = pd.Series(values)
        numeric_binary = (s.dtype == bool) or (
            pd.api.types.is_numeric_dtype(s) and s.dropna().isin([0, 1]).all()
        )
        categorical = not numeric_binary
    rows: list[dict] = []
    for key in groups.itertuples(index=False, name=None):
        mask = base.copy()
        for col, value in zip(by_cols, key):
            mask &= (frame[col] == value).to_numpy()
        label = ".".join(str(v) for v in key)
        head = dict(zip(by_cols, key))
        head["domain"] = label
        if statistic in ("mean", "total"):
            fn = svymean if statistic == "mean" else svytotal
            e = fn(design, outcome, domain=mask, na_rm=na_rm, level=level, df=df, deff=deff)
            rows.append({**head, "estimate": e.estimate, "se": e.se, "ci_low": e.ci_low,
                         "ci_high": e.ci_high, "n": e.n, "deff": e.deff, "df": e.df})
        elif statistic == "proportion" and not categorical:
            e = svyciprop(design, outcome, method=method, domain=mask, level=level, df=df,
                          na_rm=na_rm, deff=deff)
            y = _binary(design, outcome)
            count = int((mask & (y == 1) & (design.weights > 0)).sum())
            rows.append({**head, "estimate": e.estimate, "se": e.se, "ci_low": e.ci_low,
                         "ci_high": e.ci_high, "n": e.n, "count": count, "deff": e.deff,
                         "df": e.df, "ci_method": e.ci_method})
        elif statistic == "proportion":
            table = svyprop(design, outcome, method=method, domain=mask, level=level, df=df,
                            na_rm=na_rm, deff=deff)
            for rec in table.to_dict("records"):
                rows.append({**head, **rec})
        else:
            raise ValueError("statistic must be 'mean', 'total' or 'proportion'")
    return pd.DataFrame(rows)
