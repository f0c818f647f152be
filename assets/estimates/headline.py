"""The headline indicator table: every figure the assessment reports, from canonical responses.

Each indicator (defined as data in ``indicators.yaml``) is the share of officers whose answer is
in a success set, among those who answered the question (and within an ``among`` subgroup), overall
or by a domain. This first cut is unweighted, with Wilson intervals, which behave at small n.
"""

from __future__ import annotations

import math

import pandas as pd

from assets.estimates.intervals import wilson_interval
from pipelines.config import Assessment, Indicator

HEADLINE_COLUMNS = [
    "wave", "indicator", "label", "domain", "level", "n", "successes", "estimate", "se",
    "ci_low", "ci_high", "ci_method", "weighted", "published_2015", "suppressed",
]


def _subset(responses: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    rows = responses
    for var, values in (ind.among or {}).items():
        rows = rows[rows[var].isin(values)]
    return rows[rows[ind.variable].notna()]


def indicator_rows(responses: pd.DataFrame, ind: Indicator, wave: str, min_cell: int,
                   level: float = 0.95) -> list[dict]:
    rows = _subset(responses, ind)
    success = rows[ind.variable].isin(ind.success)
    published = ind.published.get("2015", {})
    if ind.by is None:
        groups = [(ind.population, success)]
        published = {ind.population: published} if isinstance(published, float) else published
        domain = "all"
    else:
        domain = ind.by
        levels = [x for x in pd.unique(responses[ind.by].dropna())]
        groups = [(lvl, success[rows[ind.by] == lvl]) for lvl in sorted(levels)]
    out = []
    for lvl, s in groups:
        n, x = int(s.size), int(s.sum())
        est = x / n if n else math.nan
        low, high = wilson_interval(x, n, level) if n else (math.nan, math.nan)
        out.append({
            "wave": wave, "indicator": ind.id, "label": ind.label, "domain": domain, "level": str(lvl),
            "n": n, "successes": x, "estimate": est,
            "se": math.sqrt(est * (1 - est) / n) if n else math.nan,
            "ci_low": low, "ci_high": high, "ci_method": "wilson", "weighted": False,
            "published_2015": published.get(str(lvl), math.nan),
            "suppressed": n < min_cell,
        })
    return out


def headline_indicators(responses: pd.DataFrame, assessment: Assessment, wave: str) -> pd.DataFrame:
    """One row per indicator × domain level: n, estimate, interval, published 2015 value."""
    rows: list[dict] = []
    for ind in assessment.indicators.indicators:
        rows.extend(indicator_rows(responses, ind, wave, assessment.min_cell_count))
    table = pd.DataFrame(rows, columns=HEADLINE_COLUMNS)
    # A suppressed cell shows no number: its estimate and interval are blanked here, in one place.
    hidden = table["suppressed"]
    table.loc[hidden, ["successes", "estimate", "se", "ci_low", "ci_high"]] = math.nan
    return table
