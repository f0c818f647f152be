"""The downloadable XLSX workbook: the site's published tables, one sheet each, plus a notes sheet.

Safe to open: every text cell that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written as text with a leading apostrophe, and
no cell is ever written as a formula. Reproducible: the document properties and every zip entry
carry a fixed timestamp, so the same tables give a byte-identical file on every run.
Only published (already protected) tables are given to :func:`write_workbook`.
"""

from __future__ import annotations

import io
import math
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

FIXED_TIME = datetime(2000, 1, 1, 0, 0, 0)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Text a spreadsheet will show, never evaluate."""
    return "'" + value if value[:1] in FORMULA_START else value


def _cell(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, (int, float)):
        return value
    return safe_text(str(value))


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame], notes: list[str]) -> None:
    """Write ``sheets`` (sheet name -> published table) and a first 'About' sheet of ``notes``."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING, WriteOnlyCell

    wb = Workbook(write_only=True)  # rows streamed to the file: a few times faster than cell objects

    def add_sheet(title: str, rows, freeze: bool) -> None:
        ws = wb.create_sheet(title=title)
        if freeze:
            ws.freeze_panes = "A2"
        for values in rows:
            cells = []
            for value in values:
                if isinstance(value, str):  # never a formula, whatever the text
                    cell = WriteOnlyCell(ws, value=value)
                    cell.data_type = TYPE_STRING
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)

    add_sheet("About", ([safe_text(line)] for line in notes), freeze=False)
    for name, table in sheets.items():
        if len(name) > 31 or any(ch in name for ch in ":\\/?*[]"):
            raise ValueError(f"not a valid sheet name: {name!r}")
        header = [[safe_text(str(c)) for c in table.columns]]
        body = ([_cell(v) for v in rec] for rec in table.itertuples(index=False))
        add_sheet(name[:31], (r for part in (header, body) for r in part), freeze=True)
    wb.properties.creator = "htna"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    _rezip_fixed_time(buf.getvalue(), path)


def _rezip_fixed_time(data: bytes, path: Path) -> None:
    """Copy the xlsx zip with every entry's timestamp fixed (openpyxl stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _fixed_core_times(body)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, body)
    path.write_bytes(out.getvalue())


def _fixed_core_times(body: bytes) -> bytes:
    """openpyxl writes 'modified' as the save time whatever the property says: pin it."""
    import re

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", body)
