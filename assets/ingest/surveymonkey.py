"""Reading SurveyMonkey "all individual responses" exports (CSV or XLSX).

Layout: two header rows. Row 1 holds the question text at the first column of each question and
is blank in the continuation columns of the same question; row 2 holds the sub-header
(``Response``, ``Open-Ended Response``, one option label per column of a multi-select question,
``Other (please specify)``, one matrix row per column). The platform's ID columns (Respondent ID,
Collector ID, dates, ...) have a blank row 2 and are found by name, since some exports omit some of
them. The parsing itself is shared with the other platforms in :mod:`assets.ingest.readers`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.ingest.raw import ExportColumn, RawExport, decode_text
from assets.ingest.readers import SURVEYMONKEY_IDS, read_export

ID_COLUMNS = SURVEYMONKEY_IDS
DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"

__all__ = ["ID_COLUMNS", "DATE_FORMAT", "ExportColumn", "RawExport", "decode", "read_surveymonkey_csv",
           "read_surveymonkey", "parse_timestamp"]


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode an export, trying the encodings survey platforms and Excel produce."""
    text, encoding, _notes = decode_text(path, data)
    return text, encoding


def read_surveymonkey(path: Path | str) -> RawExport:
    """Read a SurveyMonkey export, CSV or XLSX. Raises InputError naming the file, row and fix."""
    return read_export(path, format="surveymonkey")


def read_surveymonkey_csv(path: Path | str) -> RawExport:
    """Read a SurveyMonkey CSV export (kept for callers of the first reader; XLSX works too)."""
    return read_surveymonkey(path)


def parse_timestamp(value: str) -> pd.Timestamp | None:
    """One SurveyMonkey/Qualtrics timestamp, or None when blank or unreadable."""
    from assets.ingest.officer_responses import parse_timestamps

    value = str(value).strip()
    if not value:
        return None
    ts = parse_timestamps(pd.Series([value])).iloc[0]
    return None if pd.isna(ts) else pd.Timestamp(ts)


