"""Publishing the interview themes: how many interviews raised each gap or barrier, overall and by
sector and region, with the cells chosen by :func:`assets.publication.measures.protect_measures`
(each theme of an interview set is a measure; the interviews per group are its frame, hidden the
same way for every theme of the set). Shares are rounded like every published share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.measures import Measure, Nesting, protect_measures
from assets.publication.policy import DisclosurePolicy

__all__ = ["PUBLISHED_THEME_COLUMNS", "publish_themes"]

PUBLISHED_THEME_COLUMNS = ["wave", "dataset", "theme", "label", "kind", "domain", "level", "interviews",
                           "mentioned", "share", "suppressed", "suppression_reason"]


def publish_themes(table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """The published theme table (``interview_theme_counts`` through the gate)."""
    if table is None or table.empty:
        return pd.DataFrame(columns=PUBLISHED_THEME_COLUMNS)
    ids = table["dataset"].astype(str) + "/" + table["theme"].astype(str)
    cells = {i: part.reset_index(drop=True) for i, part in table.assign(_id=ids).groupby("_id", sort=False)}
    reasons, _ = protect_measures(cells, [Measure(i, i) for i in cells], policy, Nesting())
    keys = list(zip(ids, table["domain"].astype(str), table["level"].astype(str)))
    reason = np.array([reasons.get(k, "") for k in keys], dtype=object)
    hidden = reason != ""
    out = pd.DataFrame({
        "wave": table["wave"], "dataset": table["dataset"], "theme": table["theme"], "label": table["label"],
        "kind": table["kind"], "domain": table["domain"], "level": table["level"],
        "interviews": np.where(hidden, np.nan, table["n"].to_numpy(dtype=float)),
        "mentioned": np.where(hidden, np.nan, table["successes"].to_numpy(dtype=float)),
        "share": np.where(hidden, np.nan, policy.share(table["estimate"].to_numpy(dtype=float))),
        "suppressed": hidden, "suppression_reason": reason.astype(str)})
    return out[PUBLISHED_THEME_COLUMNS].reset_index(drop=True)
