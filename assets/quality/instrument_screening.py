"""A further survey instrument's responses (the stakeholder survey) screened against its own suite.

The instrument's suite (``expectations/<instrument.expectations>.json``) is read against the instrument's
codebook, run as the officer survey's is (:func:`assets.quality.screening.screen_dataset`: row checks
quarantine, blocking checks hold the wave back), with the built-in reconciliation: rows read from the
export = accepted + quarantined at ingestion and by the checks. Its data-quality tables (status, checks,
rows held back by reason, completeness per question) are the officer survey's
(:mod:`assets.quality.summary`), stored as ``<id>_quality_summary`` and published by the gate beside
the officer survey's. Plain code, no Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from assets.quality.screening import WaveScreening, screen_dataset
from assets.quality.suites import Suite, load_suite
from assets.quality.summary import quality_summary_tables, summary_frame
from pipelines.config import Assessment, Instrument


@dataclass(frozen=True)
class InstrumentScreening:
    """The tables the instrument's quality step stores."""

    accepted: pd.DataFrame        # responses minus every quarantined row
    quarantine: pd.DataFrame      # held back at ingestion and by the checks: dataset, wave, source_row, check, reason
    check_results: pd.DataFrame   # one row per check run (internal: example source rows)
    summary: pd.DataFrame         # the data-quality page's tables of the instrument (summary.summary_frame)


def instrument_suite(view: Assessment, instrument: Instrument) -> Suite:
    """The instrument's expectation suite, expanded against its codebook."""
    return load_suite(instrument.expectations, view)


def screen_instrument(responses: pd.DataFrame, ingest_quarantine: pd.DataFrame, view: Assessment,
                      instrument: Instrument, wave: str, rows_read: int) -> InstrumentScreening:
    """Screen one wave's responses of the instrument (``rows_read``: respondent rows of its export)."""
    suite = instrument_suite(view, instrument)
    screened = screen_dataset(responses, suite, view, wave, rows_read=rows_read,
                              ingest_quarantine=ingest_quarantine, reconcile=True)
    wave_screening = WaveScreening(wave=wave, datasets={suite.dataset: screened}, ingest_quarantine=ingest_quarantine)
    summary = summary_frame(quality_summary_tables(wave_screening, view, survey=suite.dataset), wave)
    return InstrumentScreening(accepted=screened.accepted.reset_index(drop=True),
                               quarantine=wave_screening.quarantine(), check_results=wave_screening.check_results(),
                               summary=summary)
