"""How often each service gap and barrier came up in the stakeholder and survivor interviews.

Counts only: the number of interviews in which a theme was coded, out of the interviews coded.
A count below the publication minimum (or a remainder below it, which would reveal the same
small group) is suppressed.
"""

from __future__ import annotations

import pandas as pd

from pipelines.config import InterviewFrame

THEME_COLUMNS = ["wave", "dataset", "theme", "label", "kind", "interviews", "mentioned", "share", "suppressed"]


def theme_counts(interviews: pd.DataFrame, frame: InterviewFrame, dataset: str, wave: str,
                 min_cell: int) -> pd.DataFrame:
    rows = []
    for t in frame.themes:
        coded = interviews[t.code].dropna() if t.code in interviews else pd.Series([], dtype="boolean")
        n, x = int(coded.size), int(coded.sum())
        hidden = n > 0 and (x < min_cell or n - x < min_cell)
        rows.append({"wave": wave, "dataset": dataset, "theme": t.code, "label": t.label, "kind": t.kind,
                     "interviews": n, "mentioned": None if hidden else x,
                     "share": None if hidden or n == 0 else x / n, "suppressed": hidden})
    out = pd.DataFrame(rows, columns=THEME_COLUMNS)
    out["mentioned"] = out["mentioned"].astype("Int64")
    out["share"] = out["share"].astype(float)
    return out
