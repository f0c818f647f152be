"""How often each service gap and barrier came up in the stakeholder and survivor interviews, and
how often each theme came up in the officers' open-ended answers.

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

from pipelines.config import InterviewFrame, Theme

THEME_COLUMNS = ["wave", "dataset", "theme", "label", "kind", "domain", "level", "respondents", "n", "successes",
                 "estimate"]
ALL_INTERVIEWS = "All interviews"
#: the ``kind`` of an open-ended question's theme in the theme tables
OPEN_ENDED = "open-ended answer"


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


def open_ended_columns(assessment) -> list[str]:
    """The canonical columns the open-ended theme counts read: each coded question's column (how
    the answer was coded) and its theme columns."""
    cols = []
    for v in assessment.codebook.variables:
        if v.coding is not None:
            cols += [v.coded_column, *v.theme_columns()]
    return cols


def open_ended_theme_counts(responses: pd.DataFrame, assessment, wave: str, dataset: str) -> pd.DataFrame:
    """Respondents raising each theme of every coded open-ended question (one row per question x
    theme, all respondents: ``respondents`` accepted, ``n`` who answered the question, ``successes``
    who raised the theme), in the interview themes' columns so the same gate publishes them; the
    question is named in ``dataset`` as ``<survey>.<question>``."""
    parts = []
    for v in assessment.codebook.variables:
        if v.coding is None:
            continue
        columns = v.theme_columns()
        present = [c for c in columns if c in responses.columns]
        answered = v.coded_column  # the question's column, or a multi-select's "Other" yes/no
        if not present or answered in responses.columns and responses[answered].isna().all() and len(responses):
            continue  # not collected this wave (or nobody answered): no theme counted from zero answers
        table = responses[present].rename(columns=columns)
        frame = InterviewFrame(id_column="respondent_id", themes=[Theme(code=t.code, label=t.label, kind=OPEN_ENDED)
                                                                 for t in v.coding.themes])
        parts.append(theme_counts(table, frame, f"{dataset}.{v.name}", wave))
    if not parts:
        return pd.DataFrame(columns=THEME_COLUMNS).astype(
            {"respondents": "float64", "n": "float64", "successes": "float64", "estimate": "float64"})
    return pd.concat(parts, ignore_index=True)
