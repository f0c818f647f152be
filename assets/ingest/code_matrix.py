"""Hand-coded matrices (NVivo, Dedoose, ATLAS.ti exports as CSV): one row per interview or respondent,
an identifier column and a 0/1 column per theme of a coding frame.

One reader for both kinds (the interview matrices of ``assets.ingest.exports`` and the hand-coded
open-ended answers of ``assets.ingest.open_ended``): the file is parsed as text, rows wider than the
header are refused rather than shifted, and the identifier and theme columns must be there. Messages
name the file, the row (as a spreadsheet numbers it, header = row 1) and the column, never a cell's
content (an identifier or a code could identify the person)."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pandas as pd

from pipelines.errors import InputError
from pipelines.input_files import read_regular


def parser_problem(exc: Exception) -> str:
    """A parser's complaint reduced to where it happened (its text may quote the file)."""
    text = str(exc)
    where = re.search(r"\b(line|row) (\d+)", text)
    if isinstance(exc, pd.errors.EmptyDataError):
        return "the file is empty"
    return f"{type(exc).__name__} at line {where.group(2)}" if where else type(exc).__name__


def read_code_matrix_table(path: Path, id_column: str, theme_codes: list[str], unit: str,
                           folder: Path | None = None) -> pd.DataFrame:
    """The matrix as text cells (stripped column names), after the checks every code matrix shares:
    readable UTF-8 CSV, no row wider than the header, the identifier column and every theme column.

    ``unit`` is what a row is ("interview" or "respondent"), for the fixes the messages suggest."""
    data = read_regular(path, folder)
    try:
        with warnings.catch_warnings():  # rows wider than the header: an error, not shifted columns
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                index_col=False)
    except pd.errors.ParserWarning:
        raise InputError(path, "a row has more cells than the header row", fix="check for an unquoted comma "
                         "inside a cell or a missing column name; one column per name in the header") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})", row=data[:exc.start].count(b"\n") + 1,
                         fix="save the code matrix as UTF-8 CSV") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"not a readable CSV code matrix ({parser_problem(exc)})",
                         fix=f"export the code matrix as CSV, one row per {unit} and one column per theme") from None
    table.columns = [str(c).strip() for c in table.columns]
    if id_column not in table.columns:
        raise InputError(path, f"no {id_column!r} column", row=1,
                         fix=f"name the {unit} identifier column {id_column!r}")
    missing = [code for code in theme_codes if code not in table.columns]
    if missing:
        raise InputError(path, f"theme codes missing from the matrix: {', '.join(missing)}", row=1,
                         fix="add a 0/1 column for each theme of the coding frame (0 where it was not raised)")
    return table
