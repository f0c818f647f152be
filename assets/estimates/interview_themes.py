"""How often each service gap and barrier came up in the stakeholder and survivor interviews.

One row per interview set x theme x cell: all interviews, and each group of every attribute of the
coding frame (stakeholders by sector and by region, survivors by region; every configured group,
also one with no interview). ``respondents`` is the number of interviews in the cell, ``n`` those
coded for the theme and ``successes`` those that raised it. This is the assessment's internal
table, every count as computed; what may be published of it is decided by the publication gate
(:mod:`assets.publication.themes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.config import InterviewFrame

THEME_COLUMNS = ["wave", "dataset", "theme", "label", "kind", "domain", "level", "respondents", "n", "successes",
                 "estimate"]
ALL_INTERVIEWS = "All interviews"


def theme_counts(interviews: pd.DataFrame, frame: InterviewFrame, dataset: str, wave: str) -> pd.DataFrame:
    """Interviews raising each theme of the coding frame, overall and by every attribute's groups."""
    cells: list[tuple[str, str, np.ndarray]] = [("all", ALL_INTERVIEWS, np.ones(len(interviews), dtype=bool))]
    for attribute, levels in frame.attributes.items():
        if attribute not in interviews.columns:
            continue
        values = interviews[attribute].astype("string")
        cells += [(attribute, str(g), (values == g).fillna(False).to_numpy(dtype=bool)) for g in levels]
    rows = []
    for t in frame.themes:
        coded = interviews[t.code] if t.code in interviews.columns else pd.Series([pd.NA] * len(interviews))
        answered = coded.notna().to_numpy(dtype=bool)
        raised = coded.fillna(False).astype(bool).to_numpy(dtype=bool) & answered
        for domain, level, mask in cells:
            n, x = int((mask & answered).sum()), int((mask & raised).sum())
            rows.append({"wave": wave, "dataset": dataset, "theme": t.code, "label": t.label, "kind": t.kind,
                         "domain": domain, "level": level, "respondents": int(mask.sum()), "n": n, "successes": x,
                         "estimate": x / n if n else np.nan})
    out = pd.DataFrame(rows, columns=THEME_COLUMNS)
    return out.astype({"respondents": "float64", "n": "float64", "successes": "float64", "estimate": "float64"})
