"""The sections of the further survey instruments (the stakeholder survey) on their report page, built
from each instrument's published indicators (``published_<stem>_indicators``) and nothing else: the
overall share of each indicator with its interval, and a table per domain (sector, region) of the shares
as published, or one sentence where most of a breakdown is hidden. Every section says the shares are
unweighted (shares of the respondents, not of everyone in those sectors)."""

from __future__ import annotations

import pandas as pd

from assets.report.pages import _records, is_missing


def _breakdowns(rows: pd.DataFrame, mostly_hidden: float) -> list[dict]:
    out = []
    for domain, part in rows[rows["domain"] != "all"].groupby("domain", sort=False):
        levels = list(dict.fromkeys(part["level"].astype(str)))
        table = []
        for _, irows in part.groupby("indicator", sort=False):
            cells = {str(r["level"]): r for r in _records(irows)}
            table.append({"label": str(irows["label"].iloc[0]),
                          "cells": [cells.get(lv, {"suppressed": True}) for lv in levels]})
        hidden = int(part["suppressed"].astype(bool).sum())
        out.append({"domain": str(domain), "levels": levels, "rows": table, "suppressed": hidden,
                    "cells": len(part), "mostly_hidden": len(part) > 0 and hidden / len(part) > mostly_hidden})
    return out


def instrument_sections(pub: dict[str, pd.DataFrame], assessment, page: str, mostly_hidden: float = 0.5,
                        missing: set[str] | frozenset = frozenset()) -> list[dict]:
    """One section per instrument whose report section is ``page`` (none without an assessment). An
    instrument whose export the wave did not receive (``missing``) gets its sentence, not a table."""
    if assessment is None:
        return []
    sections = []
    for inst in assessment.other_instruments:
        if inst.report_section != page:
            continue
        table = pub.get(inst.published_table)
        received = inst.id not in missing and table is not None and len(table) > 0
        overall = table[table["domain"] == "all"] if received else pd.DataFrame()
        answered = [r["n"] for r in _records(overall) if not is_missing(r.get("n"))]
        sections.append({
            "id": inst.id, "title": inst.label, "unit": inst.disclosure_unit, "weighted": inst.weighted,
            "available": received, "respondents": int(max(answered)) if answered else None,
            "rows": _records(overall), "breakdowns": _breakdowns(table, mostly_hidden) if received else []})
    return sections
