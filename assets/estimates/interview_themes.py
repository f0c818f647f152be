"""How often each service gap and barrier came up in the stakeholder and survivor interviews.

Counts only: the number of interviews in which a theme was coded, out of the interviews coded.
A count below the publication minimum (or a remainder below it, which would reveal the same
small group) is suppressed, by :func:`assets.estimates.publish.publishable`.
"""

from __future__ import annotations

import pandas as pd

from assets.estimates.publish import DisclosureRules, publishable
from pipelines.config import InterviewFrame

THEME_COLUMNS = ["wave", "dataset", "theme", "label", "kind", "interviews", "mentioned", "share", "suppressed",
                 "suppression_reason"]


def theme_counts(interviews: pd.DataFrame, frame: InterviewFrame, dataset: str, wave: str,
                 min_cell: int | DisclosureRules) -> pd.DataFrame:
    """Interviews mentioning each theme of the coding frame, through the publication gate."""
    rows = []
    for t in frame.themes:
        coded = interviews[t.code].dropna() if t.code in interviews else pd.Series([], dtype="boolean")
        n, x = int(coded.size), int(coded.sum())
        rows.append({"wave": wave, "dataset": dataset, "theme": t.code, "label": t.label, "kind": t.kind,
                     "interviews": n, "mentioned": x, "share": x / n if n else None,
                     "suppressed": False, "suppression_reason": ""})
    out = pd.DataFrame(rows, columns=THEME_COLUMNS)
    out["share"] = out["share"].astype(float)
    rules = min_cell if isinstance(min_cell, DisclosureRules) else DisclosureRules(min_count=int(min_cell))
    return publishable(out, rules, kind="themes")
