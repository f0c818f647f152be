"""The quality stage of one wave as plain functions: the tables the Dagster assets store.

:func:`quality_stage` screens every survey dataset and returns, by asset name:

``accepted_<dataset>``
    The dataset's rows minus every quarantined row (what estimates use).
``quarantine``
    Rows held back, every dataset, at ingestion and by the checks: dataset, wave, source_row,
    check, reason.
``quality_check_results``
    One row per check run (internal: includes example source row numbers).
``data_quality_summary``
    The published quality page's aggregate tables (:mod:`assets.quality.summary`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.quality.screening import WaveScreening, screen_wave
from assets.quality.suites import SURVEY_DATASETS
from assets.quality.summary import quality_summary_tables, summary_frame
from pipelines.config import Assessment

ACCEPTED = {d: f"accepted_{d}" for d in SURVEY_DATASETS}


def quality_stage(assessment: Assessment, wave: str, tables: dict[str, pd.DataFrame], *,
                  exports: pd.DataFrame | None = None, ingest_quarantine: pd.DataFrame | None = None,
                  suite_dir: Path | str | None = None,
                  not_collected: set[str] | None = None) -> tuple[WaveScreening, dict[str, pd.DataFrame]]:
    """Screen the wave's survey datasets; return the screening and the tables to store, by asset name.

    ``not_collected``: the officer survey's questions this wave's export lacks (their checks are not run)."""
    screening = screen_wave(assessment, wave, tables, exports=exports, ingest_quarantine=ingest_quarantine,
                            suite_dir=suite_dir, not_collected=not_collected)
    out = {ACCEPTED[d]: screening.accepted(d) for d in screening.datasets}
    out["quarantine"] = screening.quarantine()
    out["quality_check_results"] = screening.check_results()
    out["data_quality_summary"] = summary_frame(quality_summary_tables(screening, assessment), wave)
    return screening, out
