"""Removing one respondent from a survey export (any instrument's), keeping everything else as it was.

``htna erase`` rewrites the wave's export in the drop folder and every archived version of it
without the respondent's record(s). A text export (CSV, TSV, any supported encoding and layout) is
cut at the bytes: the respondent's lines go, every other byte stays. A workbook loses the
respondent's row (openpyxl saves it again); an SPSS file is written again without the case, with
its variable and value labels. The rewritten file is read back to check that the respondent is gone
and every other record is still there.

The respondent is found as the pipeline finds them: by the export's respondent id column, compared
as :func:`~assets.ingest.officer_responses` compares ids (stripped; ``1234.0`` is ``1234``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from assets.ingest.readers import HEADER_ROWS, read_export
from assets.ingest.raw import RawExport, decode_text
from pipelines.errors import InputError

_LINE = re.compile(rb"\r\n|\r|\n")
_TEXT_LINE = re.compile(r"\r\n|\r|\n")


def _id_text(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return re.sub(r"^(\d+)\.0$", r"\1", text)


def matching_records(raw: RawExport, respondent_id: str) -> np.ndarray:
    """Positions (in ``raw.table``) of the records with this respondent id."""
    cells = raw.cells(raw.ids["respondent_id"])
    wanted = _id_text(respondent_id)
    return np.flatnonzero(np.fromiter((_id_text(v) == wanted for v in cells), bool, len(cells)))


def _records_lines(text: str, delimiter: str) -> list[int]:
    """The physical line (1-based) each record of the text starts on (Python's csv, as the reader counts)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or ",")
    starts, start = [], 1
    for row in reader:
        if row:
            starts.append(start)
        start = reader.line_num + 1
    return starts


def _cut_text(path: Path, raw: RawExport, records: np.ndarray, out: Path) -> None:
    data = path.read_bytes()
    text, encoding, _ = decode_text(path, data)
    starts = _records_lines(text.lstrip("\ufeff"), raw.delimiter)
    n_head = HEADER_ROWS.get(raw.format, 1)
    if len(starts) < n_head + raw.n_rows:
        raise InputError(path, "the export's records could not be told apart line by line",
                         fix="erase the respondent in the survey platform and export the wave again")
    # the records of raw.table are the file's records after the header rows, blank lines dropped;
    # a record's lines run to the line before the next record's first line
    body = starts[n_head:]
    lines = len(_TEXT_LINE.findall(text)) + 1
    drop: set[int] = set()
    for r in map(int, records):
        end = body[r + 1] if r + 1 < len(body) else lines + 1  # the last record runs to the end of the file
        drop.update(range(body[r], end))
    utf16 = encoding.startswith("UTF-16")
    if utf16:  # cut the text, write it back in the file's own encoding and byte order
        bom = data[:2] if data[:2] in (b"\xff\xfe", b"\xfe\xff") else b""
        codec = "utf-16-le" if (bom == b"\xff\xfe" or (not bom and data[1:2] == b"\x00")) else "utf-16-be"
        pieces = _TEXT_LINE.split(text)
        breaks = _TEXT_LINE.findall(text)
        kept = "".join(p + (breaks[i] if i < len(breaks) else "") for i, p in enumerate(pieces) if i + 1 not in drop)
        out.write_bytes(bom + kept.encode(codec))
        return
    pieces = _LINE.split(data)
    breaks = _LINE.findall(data)
    kept = b"".join(p + (breaks[i] if i < len(breaks) else b"") for i, p in enumerate(pieces) if i + 1 not in drop)
    out.write_bytes(kept)


def _cut_xlsx(path: Path, raw: RawExport, records: np.ndarray, out: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for row in sorted((int(raw.row_numbers[int(r)]) for r in records), reverse=True):  # type: ignore[index]
        ws.delete_rows(row)
    wb.save(out)


def _cut_sav(path: Path, raw: RawExport, records: np.ndarray, out: Path) -> None:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
    keep = np.ones(len(frame), bool)
    keep[[int(raw.row_numbers[int(r)]) - 1 for r in records]] = False  # type: ignore[index]
    labels = dict(zip(meta.column_names, meta.column_labels or [None] * len(meta.column_names)))
    pyreadstat.write_sav(frame[keep].reset_index(drop=True), str(out), column_labels=labels,
                         variable_value_labels=meta.variable_value_labels or None,
                         missing_ranges=meta.missing_ranges or None,
                         variable_measure=meta.variable_measure or None)


def remove_respondent(path: Path | str, respondent_id: str, out: Path | str) -> int:
    """Write ``path`` without the records of ``respondent_id`` to ``out``; return how many were removed
    (0: nothing written). The result is read back: the respondent must be gone, the others all there."""
    path, out = Path(path), Path(out)
    raw = read_export(path)
    if "respondent_id" not in raw.ids:
        raise InputError(path, "the export has no respondent id column, so a respondent cannot be found in it")
    records = matching_records(raw, respondent_id)
    if not len(records):
        return 0
    if raw.container == "xlsx":
        _cut_xlsx(path, raw, records, out)
    elif raw.container == "sav":
        _cut_sav(path, raw, records, out)
    else:
        _cut_text(path, raw, records, out)
    again = read_export(out)
    if len(matching_records(again, respondent_id)) or again.n_rows != raw.n_rows - len(records):
        out.unlink(missing_ok=True)
        raise InputError(path, "the export could not be rewritten without the respondent and every other record",
                         fix="erase the respondent in the survey platform and export the wave again")
    return int(len(records))
