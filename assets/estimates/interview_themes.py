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


GROUP_COLUMNS = ["wave", "dataset", "attribute", "group", "theme", "label", "kind", "interviews", "mentioned",
                 "share", "suppressed", "suppression_reason"]


def theme_counts_by_group(interviews: pd.DataFrame, frame: InterviewFrame, dataset: str, wave: str,
                          rules: DisclosureRules) -> pd.DataFrame:
    """Interviews mentioning each theme within each group of each interview attribute (stakeholders by
    sector and by region, survivors by region), protected like every published count.

    Per attribute, the counts are linked: for each theme, the groups' mentions add up to the overall
    count (published in ``interview_theme_counts``), and so do the groups' non-mentions; each group's
    mentions plus non-mentions make its number of interviews, and those add up to all interviews.
    Every count below the minimum (mentions, non-mentions, interviews in a group) is suppressed, and
    :func:`assets.estimates.disclosure.suppress_cells` suppresses further cells until no suppressed
    one can be recovered by subtraction from these equations.
    """
    from assets.estimates.disclosure import suppress_cells

    rows: list[dict] = []
    for attribute, levels in frame.attributes.items():
        if attribute not in interviews.columns:
            continue
        values = interviews[attribute].astype("string")
        groups = [g for g in levels if (values == g).any()]
        cells: list[float] = []
        where: dict[tuple, int] = {}

        def cell(key: tuple, value: float) -> int:
            where[key] = len(cells)
            cells.append(float(value))
            return where[key]

        for g in groups:
            cell(("size", g), int((values == g).sum()))
        themes = [t for t in frame.themes if t.code in interviews.columns]
        for t in themes:
            for g in groups:
                coded = interviews.loc[values == g, t.code].dropna()
                x = int(coded.astype(float).sum())
                cell(("yes", t.code, g), x)
                cell(("no", t.code, g), int(coded.size) - x)
        equations = [([where[("size", g)] for g in groups], None)]
        for t in themes:
            equations.append(([where[("yes", t.code, g)] for g in groups], None))
            equations.append(([where[("no", t.code, g)] for g in groups], None))
            for g in groups:
                equations.append(([where[("yes", t.code, g)], where[("no", t.code, g)]], where[("size", g)]))
        reasons = suppress_cells(cells, equations, min_count=rules.min_count) if cells else []
        for t in themes:
            for g in groups:
                yes, no, size = where[("yes", t.code, g)], where[("no", t.code, g)], where[("size", g)]
                reason = reasons[yes] or reasons[no]
                n = cells[yes] + cells[no]
                rows.append({"wave": wave, "dataset": dataset, "attribute": attribute, "group": g, "theme": t.code,
                             "label": t.label, "kind": t.kind,
                             "interviews": None if reasons[size] else int(cells[size]),
                             "mentioned": None if reason else int(cells[yes]),
                             "share": None if reason or n == 0 else cells[yes] / n,
                             "suppressed": bool(reason), "suppression_reason": str(reason or "")})
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    out["interviews"] = pd.to_numeric(out["interviews"]).astype("Int64")
    out["mentioned"] = pd.to_numeric(out["mentioned"]).astype("Int64")
    out["share"] = pd.to_numeric(out["share"]).astype(float)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out
