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

__all__ = ["MAX_CODED_ANSWERS", "read_answers"]

#: text columns with at most this many distinct answers (DuckDB's approximate count) are coded
MAX_CODED_ANSWERS = 4096


def read_answers(path: Path | str, table: str, wave: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of one wave, as :func:`pipelines.warehouse.read_wave` returns them (tested equal),
    with the answers of each low-cardinality text column made once per distinct answer."""
    with warehouse.connect(path) as con:
        stored = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position", [warehouse.SCHEMA, table]).fetchall()
        if not stored:
            return pd.DataFrame()
        wanted = [(c, t) for c, t in stored if columns is None or c in set(columns)]
        if not wanted:  # as read_wave: no known column selects them all
            return warehouse.read_wave(path, table, wave, columns)
        source = warehouse._qualified(con, table)
        text = [c for c, t in wanted if t == "VARCHAR"]
        if not text:
            return warehouse.read_wave(path, table, wave, columns)
        counts = con.execute(
            "SELECT count(*), " + ", ".join(f"approx_count_distinct({warehouse._ident(c)})" for c in text)
            + f" FROM {source} WHERE wave = ?", [wave]).fetchone()
        coded = [c for c, k in zip(text, counts[1:]) if k <= MAX_CODED_ANSWERS]
        if counts[0] == 0 or not coded:
            return warehouse.read_wave(path, table, wave, columns)
        lists = con.execute(
            "SELECT " + ", ".join(f"list(DISTINCT {warehouse._ident(c)})" for c in coded)
            + f" FROM {source} WHERE wave = ?", [wave]).fetchone()
        answers = {c: [v for v in (values or []) if v is not None] for c, values in zip(coded, lists)}
        select, params = [], []
        for c, _ in wanted:
            if c in answers:  # 1-based position in the list of answers; 0 when missing
                select.append(f"coalesce(list_position(?::VARCHAR[], {warehouse._ident(c)}), 0)::INTEGER "
                              f"AS {warehouse._ident(c)}")
                params.append(answers[c])
            else:
                select.append(warehouse._ident(c))
        frame = con.execute(f"SELECT {', '.join(select)} FROM {source} WHERE wave = ?", [*params, wave]).df()
    for c, values in answers.items():
        lookup = np.empty(len(values) + 1, dtype=object)
        lookup[0] = None
        lookup[1:] = values
        frame[c] = lookup[frame[c].to_numpy()]
    return frame
