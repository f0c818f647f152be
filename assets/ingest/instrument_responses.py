"""A further survey instrument's export (the stakeholder survey) read onto its own codebook.

The same reader as the officer survey (:func:`assets.ingest.readers.read_export`, any supported layout)
and the same mapping (:func:`assets.ingest.officer_responses.to_officer_responses`): answers read into the
codebook's labels, codes only through a declared coding, open-ended text reduced to its themes and
dropped, unusable rows quarantined with a reason (rows read = accepted + quarantined). Only the codebook
differs: the instrument's view of the assessment (:meth:`~pipelines.config.Assessment.for_instrument`).
Plain code, no Dagster.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.ingest.officer_responses import META_COLUMNS, IngestReport, to_officer_responses
from assets.ingest.readers import read_export
from pipelines.config import Assessment, Option

QUARANTINE_COLUMNS = ["dataset", "wave", "source_row", "check", "reason"]


def read_instrument_export(path: Path, view: Assessment, wave: str, dataset: str,
                           ) -> tuple[pd.DataFrame, pd.DataFrame, IngestReport]:
    """(accepted rows in the codebook's columns, rows held back with their reason, what ingestion found)."""
    raw = read_export(path)  # any supported layout, detected from the file
    return to_officer_responses(raw, view, wave, dataset=dataset)


def empty_instrument_responses(view: Assessment, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables of a wave without the instrument's export (it is optional): no rows, every column."""
    columns = ["wave", "source_row", "respondent_id"]
    for v in view.codebook.variables:
        if v.type == "multi":
            columns += [f"{v.name}__{o.code}" for o in v.options or [] if isinstance(o, Option)]
            columns += [v.other_column] if v.other_specify else []
        else:
            columns.append(v.name)
        columns += list(v.theme_columns())
    columns = list(dict.fromkeys([*META_COLUMNS, *columns, *(d.name for d in view.codebook.derived)]))
    accepted = pd.DataFrame({c: pd.Series(dtype="int64" if c == "source_row" else
                                          "float64" if c == "duration_seconds" else object) for c in columns})
    quarantine = pd.DataFrame({c: pd.Series(dtype="int64" if c == "source_row" else object)
                               for c in QUARANTINE_COLUMNS}).assign(dataset=pd.Series(dtype=object))
    return accepted, quarantine
