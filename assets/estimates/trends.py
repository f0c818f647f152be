"""Change across survey waves: each indicator's series, and tests of change between waves.

Waves are independent samples, so the change between two waves has variance se₁² + se₂². The
interval for the change combines the two waves' own intervals by the MOVER method (Newcombe's
hybrid score interval when they are Wilson intervals; for weighted estimates it uses their
design-based logit intervals), so it stays sensible at small n and near 0 or 1. A change is called
only when its interval excludes zero. Every cell is compared here; the publication gate shows a
change only between two published cells (:mod:`assets.publication.trends`).
"""

from __future__ import annotations

import math

import pandas as pd

KEY = ["indicator", "domain", "level", "weighted"]
TREND_COLUMNS = ["wave", "indicator", "label", "domain", "level", "weighted", "compared_with", "comparison",
                 "estimate", "earlier_estimate", "change", "se", "ci_low", "ci_high", "p_value", "direction"]


def change_between(later: dict, earlier: dict) -> dict:
    """Difference later − earlier with SE, MOVER interval, two-sided p-value and a direction."""
    from scipy.stats import norm

    p2, l2, u2 = later["estimate"], later["ci_low"], later["ci_high"]
    p1, l1, u1 = earlier["estimate"], earlier["ci_low"], earlier["ci_high"]
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    se = math.sqrt(later["se"] ** 2 + earlier["se"] ** 2)
    p_value = 2 * norm.sf(abs(d) / se) if se > 0 else (0.0 if d else 1.0)
    direction = "up" if low > 0 else ("down" if high < 0 else "no clear change")
    return {"change": d, "se": se, "ci_low": low, "ci_high": high, "p_value": p_value, "direction": direction}


def indicator_trends(headline: pd.DataFrame, up_to_wave: str | None = None) -> pd.DataFrame:
    """For each wave after the first, change from the previous wave and from the first wave."""
    rows: list[dict] = []
    table = headline if up_to_wave is None else headline[headline["wave"].astype(str) <= up_to_wave]
    if "suppressed" in table.columns:  # a table already through the publication gate
        table = table[~table["suppressed"].astype(bool)]
    table = table[table["estimate"].notna()]
    for _, series in table.groupby(KEY, sort=True, dropna=False):
        series = series.sort_values("wave")
        records = series.to_dict("records")
        first = records[0]
        for i, rec in enumerate(records[1:], start=1):
            comparisons = [("previous wave", records[i - 1])]
            if i > 1:
                comparisons.append(("first wave", first))
            for name, earlier in comparisons:
                rows.append({"wave": str(rec["wave"]), **{k: rec[k] for k in KEY}, "label": rec["label"],
                             "compared_with": str(earlier["wave"]), "comparison": name,
                             "estimate": rec["estimate"], "earlier_estimate": earlier["estimate"],
                             **change_between(rec, earlier)})
    out = pd.DataFrame(rows, columns=TREND_COLUMNS)
    numeric = ["estimate", "earlier_estimate", "change", "se", "ci_low", "ci_high", "p_value"]
    out[numeric] = out[numeric].astype(float)  # typed even when empty (the first wave has no comparison)
    out["weighted"] = out["weighted"].astype(bool)
    if up_to_wave is not None:
        out = out[out["wave"] == up_to_wave]
    return out.reset_index(drop=True)
