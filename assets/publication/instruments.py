"""Publishing an unweighted instrument's indicators (the stakeholder survey's, by sector and region).

Each indicator is a measure (:mod:`assets.publication.measures`) of the instrument's respondents: a cell
hidden when fewer than the minimum answered, or answered either way (``protect_numerators``), and the
further cells that would give it back through the overall cell; a cell whose respondents are too few
hidden in every indicator of the same population (the frame), as the interview themes and the officer
indicators are. Shares and Wilson intervals are rounded like every published share. The instrument is
not weighted: ``weighted`` is false on every row, and the page says so. Only counts and shares: no
respondent row, id or answer text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.measures import Measure, Nesting, protect_measures
from assets.publication.policy import DisclosurePolicy

__all__ = ["PUBLISHED_INSTRUMENT_COLUMNS", "publish_instrument_indicators"]

PUBLISHED_INSTRUMENT_COLUMNS = ["wave", "instrument", "indicator", "label", "population", "domain", "level", "n",
                                "successes", "share", "ci_low", "ci_high", "weighted", "suppressed",
                                "suppression_reason"]


def publish_instrument_indicators(table: pd.DataFrame | None, indicators, policy: DisclosurePolicy) -> pd.DataFrame:
    """The published table of an instrument's indicators (``<stem>_indicators`` through the gate).

    ``indicators``: the instrument's indicator definitions (what each counts, so that indicators of one
    question and subgroup share one pattern of hidden cells)."""
    if table is None or table.empty:
        return pd.DataFrame(columns=PUBLISHED_INSTRUMENT_COLUMNS)
    cells = {i: part.reset_index(drop=True) for i, part in table.groupby("indicator", sort=False)}
    measures = [Measure.of_indicator(ind) for ind in indicators if ind.id in cells]
    reasons, _ = protect_measures(cells, measures, policy, Nesting())
    keys = zip(table["indicator"].astype(str), table["domain"].astype(str), table["level"].astype(str))
    reason = np.array([reasons.get(k, "") for k in keys], dtype=object)
    hidden = reason != ""

    def shown(column: str, rounded: bool = False) -> np.ndarray:
        values = table[column].to_numpy(dtype=float)
        return np.where(hidden, np.nan, policy.share(values) if rounded else values)

    out = pd.DataFrame({
        "wave": table["wave"], "instrument": table["instrument"], "indicator": table["indicator"],
        "label": table["label"], "population": table["population"], "domain": table["domain"],
        "level": table["level"], "n": shown("n"), "successes": shown("successes"),
        "share": shown("estimate", True), "ci_low": shown("ci_low", True), "ci_high": shown("ci_high", True),
        "weighted": False, "suppressed": hidden, "suppression_reason": reason.astype(str)})
    return out[PUBLISHED_INSTRUMENT_COLUMNS].reset_index(drop=True)
