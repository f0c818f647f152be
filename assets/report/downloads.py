"""The site's downloads: the indicators CSV (written by ``site.indicators_csv``) and one XLSX
workbook holding every table of the publication gate (:data:`assets.publication.gate.PUBLISHED_TABLES`),
one sheet each, exactly as published: hidden cells blank, shares rounded. No other table can reach
the workbook, so it holds no respondent row, id or free text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.publication.gate import PUBLISHED_TABLES
from assets.report.workbook import write_workbook

WORKBOOK = "needs-assessment-tables.xlsx"
#: columns that say the same thing on every row of a sheet (the wave is in the About sheet)
_DROPPED = {"wave"}


def published_sheets(publication: dict[str, pd.DataFrame], tables=None) -> dict[str, pd.DataFrame]:
    """Sheet title -> published table (non-empty ones, in the gate's order; ``tables``: the gate's tables
    and the further instruments' indicators, :func:`assets.publication.gate.published_tables`)."""
    sheets = {}
    for name, spec in (tables or PUBLISHED_TABLES).items():
        table = publication.get(name)
        if table is None or table.empty:
            continue
        sheets[spec.title] = table[[c for c in spec.columns if c not in _DROPPED]].reset_index(drop=True)
    return sheets


def write_downloads(site: Path, publication: dict[str, pd.DataFrame], prov, tables=None) -> list[dict]:
    """Write the workbook into the site folder; return the downloads list for the Downloads page."""
    sheets = published_sheets(publication, tables)
    notes = [f"{prov.state} Human Trafficking Needs Assessment, wave {prov.wave}: published tables.",
             f"Figures resting on fewer than {prov.min_cell_count} people are blank (hidden), with every figure from "
             "which one could be worked out; the reason is in each table's suppression_reason column.",
             "Shares are proportions (0.25 = 25%), rounded as on the site. See the site's Methods page for "
             "definitions and methods."]
    if prov.synthetic:
        notes.insert(0, "SYNTHETIC DEMONSTRATION DATA: generated, calibrated to the published 2015 figures. "
                        "These are not findings and must not be cited.")
    write_workbook(site / WORKBOOK, sheets, notes)
    files = [("indicators.csv", "Indicators (CSV)",
              "Every indicator overall and by group, weighted and unweighted, with intervals "
              "(every column explained in the glossary)."),
             (WORKBOOK, "All published tables (Excel workbook)",
              "One sheet per table: " + ", ".join(sheets) + ".")]
    return [{"file": f, "title": t, "description": d, "kib": max(1, round((site / f).stat().st_size / 1024))}
            for f, t, d in files if (site / f).exists()]
