"""Reading the officer survey's answers out of the warehouse as cheaply as DuckDB allows.

An answer column of a million respondents holds a handful of distinct answers ("Agree", "Strongly
agree", ...). Handing it to pandas as a million freshly made Python strings is most of what an
estimate asset spent reading its input. :func:`read_answers` returns the same frame as
:func:`pipelines.warehouse.read_wave` (same rows in the same order, same columns, same values:
text as ``str``, missing as ``None``) but has DuckDB code each low-cardinality text column as the
position of the answer in the column's list of distinct answers; the text is then looked up once
per distinct answer (every respondent with the same answer shares one string object).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import warehouse

__all__ = ["MAX_CODED_ANSWERS", "SCANNED_ANSWERS", "read_answers"]

#: text columns with at most this many distinct answers (DuckDB's approximate count) are coded
MAX_CODED_ANSWERS = 4096
#: up to this many answers, a row's answer is found by a scan of the list; more, by an ENUM lookup
SCANNED_ANSWERS = 64


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_answers(path: Path | str, table: str, wave: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of one wave, as :func:`pipelines.warehouse.read_wave` returns them (tested equal),
    with the answers of each low-cardinality text column made once per distinct answer."""
    frame = _read_coded(path, table, wave, columns)
    if frame is None:  # nothing to code: the plain read
        return warehouse.read_wave(path, table, wave, columns)
    frame, answers = frame
    for c, values in answers.items():
        lookup = np.empty(len(values) + 1, dtype=object)
        lookup[0] = None
        lookup[1:] = values
        frame[c] = lookup[frame[c].to_numpy()]
    return frame


def _read_coded(path: Path | str, table: str, wave: str,
                columns: list[str] | None) -> tuple[pd.DataFrame, dict[str, list[str]]] | None:
    """The wave's rows with each low-cardinality text column as 1-based positions in its list of
    distinct answers (0: missing), and those lists; None when no column would be coded."""
    with warehouse.connect(path) as con:
        stored = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position", [warehouse.SCHEMA, table]).fetchall()
        wanted = [(c, t) for c, t in stored if columns is None or c in set(columns)]
        text = [c for c, t in wanted if t == "VARCHAR"]
        if not text:  # (also: no such table, or none of the columns: read_wave's answer)
            return None
        source = warehouse._qualified(con, table)
        con.execute("BEGIN TRANSACTION")  # the answers listed and coded from one snapshot
        try:
            counts = con.execute(
                "SELECT count(*), " + ", ".join(f"approx_count_distinct({warehouse._ident(c)})" for c in text)
                + f" FROM {source} WHERE wave = ?", [wave]).fetchone()
            coded = [c for c, k in zip(text, counts[1:]) if k <= MAX_CODED_ANSWERS]
            if counts[0] == 0 or not coded:
                return None
            lists = con.execute(
                "SELECT " + ", ".join(f"list(DISTINCT {warehouse._ident(c)})" for c in coded)
                + f" FROM {source} WHERE wave = ?", [wave]).fetchone()
            answers = {c: [v for v in (values or []) if v is not None] for c, values in zip(coded, lists)}
            select = []
            for c, _ in wanted:
                if c in answers:
                    values = ", ".join(_literal(v) for v in answers[c] or [""])
                    if len(answers[c]) <= SCANNED_ANSWERS:  # a scan of a short list is the quickest
                        code = f"list_position([{values}], {warehouse._ident(c)})"
                    else:  # the ENUM's hash lookup (a scan per row would cost rows x answers)
                        code = f"CAST(enum_code(CAST({warehouse._ident(c)} AS ENUM({values}))) AS INTEGER) + 1"
                    select.append(f"coalesce({code}, 0)::INTEGER AS {warehouse._ident(c)}")
                else:
                    select.append(warehouse._ident(c))
            frame = con.execute(f"SELECT {', '.join(select)} FROM {source} WHERE wave = ?", [wave]).df()
        finally:
            con.execute("ROLLBACK")  # read only
    return frame, answers
