"""Reading SurveyMonkey "all individual responses" exports.

Layout: two header rows. Row 1 holds the question text at the first column of each question and
is blank in the continuation columns of the same question; row 2 holds the sub-header
(``Response``, ``Open-Ended Response``, one option label per column of a multi-select question,
``Other (please specify)``). The platform's ID columns (Respondent ID, Collector ID, dates, ...)
have a blank row 2 and are found by name, since some exports omit some of them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.errors import InputError

ID_COLUMNS = {
    "respondent id": "respondent_id",
    "collector id": "collector_id",
    "start date": "start_date",
    "end date": "end_date",
    "ip address": "ip_address",
    "email address": "email_address",
    "first name": "first_name",
    "last name": "last_name",
    "custom data 1": "custom_data_1",
}
DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: the question it belongs to and its sub-header."""

    position: int
    question: str
    subheader: str


@dataclass
class RawExport:
    """An export as read: the column descriptions and the answers as text (blank = missing)."""

    path: Path
    encoding: str
    columns: list[ExportColumn]
    ids: dict[str, int]  # canonical id name -> position
    rows: list[list[str]]
    first_data_line: int  # 1-based line number of the first respondent row in the file


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode an export, trying the encodings survey platforms and Excel produce."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc), ("utf-8" if enc == "utf-8-sig" else enc)
        except UnicodeDecodeError:
            continue
    raise InputError(path, "the file is not text in UTF-8, UTF-16 or Windows-1252",
                     fix="export the survey again as CSV")  # pragma: no cover - cp1252 decodes most bytes


def read_surveymonkey_csv(path: Path | str) -> RawExport:
    """Read a SurveyMonkey CSV export. Raises InputError naming the file, row and fix."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found", fix="check the path of the export") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror})") from None
    if not data.strip():
        raise InputError(path, "the file is empty", fix="export the survey responses again")
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(path, "the file is binary, not a CSV export",
                         fix="export 'All individual responses' as CSV from SurveyMonkey")
    text, encoding = decode(path, data)
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV at line {reader.line_num}: {exc}", row=reader.line_num,
                         fix="check for an unclosed quote; re-export the file") from None
    if len(lines) < 2:
        raise InputError(path, "fewer than the two header rows of a SurveyMonkey export", row=len(lines),
                         fix="export 'All individual responses' with the default (expanded) columns")
    header1, header2 = lines[0], lines[1]
    width = len(header1)
    if len(header2) != width:
        raise InputError(path, f"header rows have {width} and {len(header2)} columns", row=2,
                         fix="the file is not a SurveyMonkey export, or was edited; re-export it")
    ids: dict[str, int] = {}
    columns: list[ExportColumn] = []
    question = ""
    for pos, (h1, h2) in enumerate(zip(header1, header2)):
        h1, h2 = h1.strip(), h2.strip()
        key = h1.casefold()
        if key in ID_COLUMNS and not h2:
            ids[ID_COLUMNS[key]] = pos
            question = ""
            continue
        if h1:
            question = h1
        if not question:
            raise InputError(path, "a column has no question text above it", row=1, column=h2 or f"#{pos + 1}",
                             fix="row 1 must hold each question's text; re-export without editing")
        columns.append(ExportColumn(pos, question, h2))
    if "respondent_id" not in ids:
        raise InputError(path, "no 'Respondent ID' column", row=1,
                         fix="export 'All individual responses' including the respondent ID column")
    rows = lines[2:]
    for i, r in enumerate(rows):
        if len(r) != width and any(cell.strip() for cell in r):
            raise InputError(path, f"row has {len(r)} cells, the header has {width}", row=i + 3,
                             fix="the file may be truncated or edited by hand; re-export it")
    rows = [r if len(r) == width else r + [""] * (width - len(r)) for r in rows]
    return RawExport(path, encoding, columns, ids, rows, first_data_line=3)


def parse_timestamp(value: str) -> pd.Timestamp | None:
    value = value.strip()
    if not value:
        return None
    for fmt in (DATE_FORMAT, "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M"):
        try:
            return pd.Timestamp(pd.to_datetime(value, format=fmt))
        except (ValueError, TypeError):
            continue
    return None
