"""The site's downloads: the indicators CSV (written by ``site.indicators_csv``) and one XLSX
workbook of every published table. Only protected aggregates go in: the indicator and theme tables
as published (suppressed cells blank), the county model estimates (the survey's own county share
only where it is publishable), service coverage (counts of organisations), and the trend changes
between published cells. No respondent counts below the minimum, no ids, no free text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.estimates.publish import DisclosureRules
from assets.report.site import PUBLISHED_INDICATOR_COLUMNS
from assets.report.workbook import write_workbook

WORKBOOK = "needs-assessment-tables.xlsx"

COUNTY_COLUMNS = ["measure", "measure_label", "county", "county_group", "eblup", "ci_low", "ci_high",
                  "headcount", "officers_needing_training", "officers_low", "officers_high", "rank",
                  "direct", "fh_method"]
THEME_COLUMNS = ["dataset", "theme", "label", "kind", "interviews", "mentioned", "share", "suppressed"]
GROUP_THEME_COLUMNS = ["dataset", "attribute", "group", "theme", "label", "kind", "interviews", "mentioned", "share",
                       "suppressed"]
TREND_COLUMNS = ["indicator", "label", "domain", "level", "weighted", "compared_with", "comparison", "estimate",
                 "earlier_estimate", "change", "ci_low", "ci_high", "p_value", "direction"]
COVERAGE_COLUMNS = ["county", "fips", "county_group", "service_type", "service_label", "providers",
                    "local_providers", "after_hours_providers", "local_after_hours_providers", "providers_24_7",
                    "covered", "any_after_hours", "local_after_hours", "any_24_7", "after_hours_cover"]
PREVALENCE_COLUMNS = ["stratum", "lists", "n_lists", "method", "model", "estimate", "ci_low", "ci_high", "level", "interval"]


def _pick(table: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    if table is None or table.empty:
        return None
    return table[[c for c in columns if c in table.columns]].reset_index(drop=True)


def published_sheets(extra: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Sheet name -> the published table it holds (already protected; see the module docstring)."""
    sheets: dict[str, pd.DataFrame | None] = {}
    sheets["Indicators"] = _pick(extra.get("published_headline"), PUBLISHED_INDICATOR_COLUMNS)
    county = extra.get("training_gap_by_county")
    if county is not None and not county.empty:
        county = county[county["breakdown"] == "county"].copy()
        county["direct"] = county["direct"].where(county["direct_publishable"].astype(bool))
        sheets["Training gap by county"] = _pick(county, COUNTY_COLUMNS)
    sheets["Interview themes"] = _pick(extra.get("published_themes"), THEME_COLUMNS)
    sheets["Interview themes by group"] = _pick(extra.get("interview_themes_by_group"), GROUP_THEME_COLUMNS)
    sheets["Service coverage"] = _pick(extra.get("service_coverage_by_county"), COVERAGE_COLUMNS)
    gaps = extra.get("counties_without_after_hours")
    if gaps is not None and not gaps.empty:
        sheets["No after-hours response"] = gaps.drop(columns=["wave"], errors="ignore").reset_index(drop=True)
    sheets["Changes since earlier waves"] = _pick(extra.get("published_changes"), TREND_COLUMNS)
    prevalence = extra.get("prevalence_estimate")
    if prevalence is not None and not prevalence.empty and "exists" in prevalence.columns:
        prevalence = prevalence[prevalence["exists"].astype(bool)]
    sheets["Prevalence"] = _pick(prevalence, PREVALENCE_COLUMNS)
    return {k: v for k, v in sheets.items() if v is not None and not v.empty}


def write_downloads(site: Path, extra: dict[str, pd.DataFrame], rules: DisclosureRules, prov) -> list[dict]:
    """Write the workbook into the site folder; return the downloads list for the Downloads page."""
    sheets = published_sheets(extra)
    notes = [f"{prov.state} Human Trafficking Needs Assessment, wave {prov.wave}: published tables.",
             f"Cells resting on fewer than {rules.min_count} respondents are blank (suppressed), with any cell "
             "from which one could be worked out.",
             "Shares are proportions (0.25 = 25%). See the site's Methods page for definitions and methods."]
    if prov.synthetic:
        notes.insert(0, "SYNTHETIC DEMONSTRATION DATA: generated, calibrated to the published 2015 figures. "
                        "These are not findings and must not be cited.")
    write_workbook(site / WORKBOOK, sheets, notes)
    files = [("indicators.csv", "Indicators (CSV)",
              "Every indicator overall and by group, weighted and unweighted, with intervals "
              "(columns documented in the methods page)."),
             (WORKBOOK, "All published tables (Excel workbook)",
              "One sheet per table: " + ", ".join(sheets) + ".")]
    return [{"file": f, "title": t, "description": d, "kib": max(1, round((site / f).stat().st_size / 1024))}
            for f, t, d in files if (site / f).exists()]
