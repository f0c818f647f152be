"""Publishing the change of each indicator across waves: shown only between two published cells
(a change and one published cell would give the hidden one back), rounded like the cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.policy import DisclosurePolicy, round_half_up

__all__ = ["PUBLISHED_CHANGE_COLUMNS", "publish_changes"]

KEY = ["indicator", "domain", "level", "weighted"]
PUBLISHED_CHANGE_COLUMNS = ["wave", "indicator", "label", "domain", "level", "weighted", "compared_with", "comparison",
                            "estimate", "earlier_estimate", "change", "ci_low", "ci_high", "p_value", "direction"]


def publish_changes(trends: pd.DataFrame, history: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """The trend rows whose two cells are both published (``history``: published indicators of
    every wave, ``survey_wave`` naming each figure's wave), rounded."""
    if trends is None or trends.empty or history is None or history.empty:
        return pd.DataFrame(columns=PUBLISHED_CHANGE_COLUMNS)
    shown = history[~history["suppressed"].astype(bool)]
    ok = {(str(w), str(i), str(d), str(lv), bool(wt)) for w, i, d, lv, wt in
          shown[["survey_wave", *KEY]].itertuples(index=False, name=None)}
    keep = [((str(t.wave), str(t.indicator), str(t.domain), str(t.level), bool(t.weighted)) in ok
             and (str(t.compared_with), str(t.indicator), str(t.domain), str(t.level), bool(t.weighted)) in ok)
            for t in trends.itertuples(index=False)]
    out = trends[keep].copy()
    for col in ("estimate", "earlier_estimate", "change", "ci_low", "ci_high"):
        out[col] = policy.share(out[col].to_numpy(dtype=float))
    out["p_value"] = published_p_values(out["p_value"].to_numpy(dtype=float), out["direction"].to_numpy()) \
        if len(out) else np.nan
    return out.reindex(columns=PUBLISHED_CHANGE_COLUMNS).reset_index(drop=True)


def published_p_values(p: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """p-values to 3 decimals, never rounded across the verdict: a change called up or down whose p
    would round up to the threshold (0.0496 -> 0.050) is cut to 3 decimals instead (0.049)."""
    rounded = round_half_up(p, 3)
    called = np.array([str(d) != "no clear change" for d in direction], dtype=bool)
    cut = np.floor(p * 1000) / 1000
    # the verdict's threshold is not known here; a called change's p is below it, so rounding must not raise
    # it to a round number a reader compares with it (0.050, 0.010, 0.100)
    raised = called & (rounded > p) & np.isin(rounded, [0.01, 0.05, 0.1])
    return np.where(raised, cut, rounded)
