"""Change across survey waves: each indicator's series, and tests of change between waves.

Waves are independent samples, so the change between two waves has variance se₁² + se₂². The
interval for the change combines the two waves' own intervals by the MOVER method (Newcombe's
hybrid score interval when they are Wilson intervals; for weighted estimates it uses their
design-based logit intervals), so it stays sensible at small n and near 0 or 1. A change is called
only when its interval excludes zero, and its p-value is that interval's own test (the two agree). Every cell is compared here; the publication gate shows a
change only between two published cells (:mod:`assets.publication.trends`).
"""

from __future__ import annotations

import math

import pandas as pd

KEY = ["indicator", "domain", "level", "weighted"]
TREND_COLUMNS = ["wave", "indicator", "label", "domain", "level", "weighted", "compared_with", "comparison",
                 "estimate", "earlier_estimate", "change", "se", "ci_low", "ci_high", "p_value", "direction"]


def change_between(later: dict, earlier: dict, level: float = 0.95) -> dict:
    """Difference later − earlier with its MOVER interval at ``level``, the two-sided p-value of that same
    interval, and a direction.

    One rule decides the interval, the p-value and the verdict, so they never disagree: the p-value is the
    test the interval inverts (the normal approximation whose standard error is the MOVER half-width on
    the side of zero over z), so p < 1 − level exactly when the interval excludes zero, and the direction
    is called exactly then. ``se`` stays the Wald standard error of the difference (se₁² + se₂²)."""
    p2, l2, u2 = later["estimate"], later["ci_low"], later["ci_high"]
    p1, l1, u1 = earlier["estimate"], earlier["ci_low"], earlier["ci_high"]
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    se = math.sqrt(later["se"] ** 2 + earlier["se"] ** 2)
    p_value = moved_p_value(d, low, high, level)
    alpha = 1 - level
    direction = "no clear change" if not p_value < alpha else ("up" if d > 0 else "down")
    return {"change": d, "se": se, "ci_low": low, "ci_high": high, "p_value": p_value, "direction": direction}


def moved_p_value(d: float, low: float, high: float, level: float = 0.95) -> float:
    """Two-sided p-value of "no change" from an interval (low, high) around d at ``level``: the half-width
    towards zero over z is the standard error of the side that matters (test inversion of the interval)."""
    from scipy.stats import norm

    if any(math.isnan(x) for x in (d, low, high)):
        return math.nan
    if d == 0:
        return 1.0
    half = (d - low) if d > 0 else (high - d)
    if half <= 0:
        return 0.0
    z = norm.ppf(1 - (1 - level) / 2)
    return float(min(1.0, 2 * norm.sf(abs(d) / (half / z))))


def indicator_trends(headline: pd.DataFrame, up_to_wave: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """For each wave after the first, change from the previous wave and from the first wave."""
    rows: list[dict] = []
    table = headline if up_to_wave is None else headline[headline["wave"].astype(str) <= up_to_wave]
    if "suppressed" in table.columns:  # a table already through the publication gate
        table = table[~table["suppressed"].astype(bool)]
    table = table[table["estimate"].notna()]
    if not table.index.is_unique:
        table = table.reset_index(drop=True)
    # the rows as records once (a frame's to_dict per group cost ~0.7 ms each, for hundreds of groups)
    by_label = dict(zip(table.index, table.to_dict("records")))
    for _, series in table.groupby(KEY, sort=True, dropna=False):
        records = [by_label[label] for label in series.sort_values("wave").index]
        first = records[0]
        for i, rec in enumerate(records[1:], start=1):
            comparisons = [("previous wave", records[i - 1])]
            if i > 1:
                comparisons.append(("first wave", first))
            for name, earlier in comparisons:
                rows.append({"wave": str(rec["wave"]), **{k: rec[k] for k in KEY}, "label": rec["label"],
                             "compared_with": str(earlier["wave"]), "comparison": name,
                             "estimate": rec["estimate"], "earlier_estimate": earlier["estimate"],
                             **change_between(rec, earlier, level)})
    out = pd.DataFrame(rows, columns=TREND_COLUMNS)
    numeric = ["estimate", "earlier_estimate", "change", "se", "ci_low", "ci_high", "p_value"]
    out[numeric] = out[numeric].astype(float)  # typed even when empty (the first wave has no comparison)
    out["weighted"] = out["weighted"].astype(bool)
    if up_to_wave is not None:
        out = out[out["wave"] == up_to_wave]
    return out.reset_index(drop=True)
