"""Publishing what is said about the coding of open-ended answers and interviews.

Theme counts of open-ended answers go through :func:`assets.publication.themes.publish_themes`,
the interview themes' rule (no second suppression rule). The keyword rules' precision and recall
and the agreement between coders are statistics about coders, shown as rounded shares and kappas
with the number of coded units; a theme whose own count is hidden (its open-ended or interview
theme cell for all respondents or interviews) has its row hidden too, so nothing here narrows a
hidden count. As everywhere on the site, no figure rests on fewer than ``min_cell_count`` units: a
precision whose answers coded by the rules, a recall whose answers coded by hand, or an agreement
whose units coded by both coders are fewer hides its row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.policy import DisclosurePolicy, round_half_up

__all__ = ["PUBLISHED_AGREEMENT_COLUMNS", "PUBLISHED_RULE_PRECISION_COLUMNS", "publish_agreement",
           "publish_rule_precision"]

PUBLISHED_RULE_PRECISION_COLUMNS = ["wave", "variable", "theme", "label", "hand_coded", "precision", "precision_low",
                                    "precision_high", "recall", "recall_low", "recall_high", "suppressed",
                                    "suppression_reason"]
PUBLISHED_AGREEMENT_COLUMNS = ["wave", "source", "theme", "label", "units", "agreement", "agreement_low",
                               "agreement_high", "kappa", "kappa_low", "kappa_high", "kappa_defined", "flagged",
                               "note", "suppressed", "suppression_reason"]
HIDDEN_THEME = "the theme's count is hidden"
FEW_UNITS = "fewer than {m} answers or interviews behind it"


def _hidden_themes(published_themes: pd.DataFrame | None) -> set[tuple[str, str]]:
    """(dataset, theme) whose overall cell the gate hid."""
    if published_themes is None or published_themes.empty:
        return set()
    overall = published_themes[published_themes["domain"].astype(str) == "all"]
    hidden = overall[overall["suppressed"].astype(bool)]
    return set(zip(hidden["dataset"].astype(str), hidden["theme"].astype(str)))


def _hide(out: pd.DataFrame, theme_hidden: np.ndarray, few: np.ndarray, columns: list[str],
          policy: DisclosurePolicy) -> pd.DataFrame:
    hidden = theme_hidden | few
    for c in columns:
        out[c] = np.where(hidden, np.nan, out[c].to_numpy(dtype=float))
    out["suppressed"] = hidden
    out["suppression_reason"] = np.where(theme_hidden, HIDDEN_THEME,
                                         np.where(few, FEW_UNITS.format(m=policy.min_cell_count), ""))
    return out


def _few(counts: pd.Series, policy: DisclosurePolicy) -> np.ndarray:
    """Rows whose figure rests on fewer than the minimum units (a missing count counts as few)."""
    return policy.small(pd.to_numeric(counts, errors="coerce").to_numpy(dtype=float))


def publish_rule_precision(table: pd.DataFrame | None, published_themes: pd.DataFrame | None, dataset: str,
                           policy: DisclosurePolicy) -> pd.DataFrame:
    """The rules' precision and recall per theme against the hand codes, as published."""
    if table is None or table.empty:
        return pd.DataFrame(columns=PUBLISHED_RULE_PRECISION_COLUMNS)
    hidden_themes = _hidden_themes(published_themes)
    out = table[[c for c in PUBLISHED_RULE_PRECISION_COLUMNS if c in table.columns]].copy()
    keys = zip([f"{dataset}.{v}" for v in table["variable"].astype(str)], table["theme"].astype(str))
    hidden = np.array([k in hidden_themes for k in keys], dtype=bool)
    shares = ["precision", "precision_low", "precision_high", "recall", "recall_low", "recall_high"]
    for c in shares:
        out[c] = policy.share(out[c].to_numpy(dtype=float))
    few = _few(table["rules_yes"], policy) | _few(table["hand_yes"], policy)
    return _hide(out, hidden, few, shares, policy).reindex(columns=PUBLISHED_RULE_PRECISION_COLUMNS)


def publish_agreement(table: pd.DataFrame | None, published_themes: list[pd.DataFrame | None],
                      policy: DisclosurePolicy) -> pd.DataFrame:
    """Agreement between two coders per theme, as published (kappa to two decimals)."""
    if table is None or table.empty:
        return pd.DataFrame(columns=PUBLISHED_AGREEMENT_COLUMNS)
    hidden_themes = set().union(*[_hidden_themes(t) for t in published_themes])
    out = table[[c for c in PUBLISHED_AGREEMENT_COLUMNS if c in table.columns]].copy()
    hidden = np.array([k in hidden_themes for k in zip(table["source"].astype(str), table["theme"].astype(str))],
                      dtype=bool)
    for c in ["agreement", "agreement_low", "agreement_high"]:
        out[c] = policy.share(out[c].to_numpy(dtype=float))
    for c in ["kappa", "kappa_low", "kappa_high"]:
        out[c] = round_half_up(out[c].to_numpy(dtype=float), 2)
    out = _hide(out, hidden, _few(table["units"], policy),
                ["agreement", "agreement_low", "agreement_high", "kappa", "kappa_low", "kappa_high"], policy)
    out["units"] = out["units"].to_numpy(dtype=float)
    return out.reindex(columns=PUBLISHED_AGREEMENT_COLUMNS)
