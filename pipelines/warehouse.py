"""The assessment's DuckDB file: one table per asset, one slice of rows per wave.

Writing a wave replaces that wave's rows in one transaction (delete + insert by column name), so
re-running a wave never duplicates rows and a crash never leaves half a wave. Columns a later wave
adds are added to the table; columns it lacks are left empty for that wave. DuckDB lets one
process write at a time, so connections are short and a locked file is retried for a while.
Plain code: the Dagster IO manager in ``resources.py`` is a thin wrapper over these functions.
"""

from __future__ import annotations

import os
import random
import re
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pandas as pd

from pipelines.errors import WarehouseError
from pipelines.faults import crash_point
from pipelines.permissions import PRIVATE_DIR, make_private_file, restrict_umask

SCHEMA = "assessment"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a valid table or column name: {name!r}")
    return f'"{name}"'


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    """The database's own name (the file's stem), quoted: it may equal the schema's name."""
    name = con.execute("SELECT current_database()").fetchall()[0][0]  # all fetched: no pending result
    return '"' + name.replace('"', '""') + '"'


def _qualified(con: duckdb.DuckDBPyConnection, table: str) -> str:
    return f"{_catalog(con)}.{SCHEMA}.{_ident(table)}"


#: warehouse files held open by :func:`held_open` in this process (resolved path -> connection)
_HELD: dict[str, duckdb.DuckDBPyConnection] = {}


@contextmanager
def connect(path: Path | str, read_only: bool = False, timeout_s: float = 120.0,
            on_wait: Callable[[], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting while another process holds the write lock (``on_wait`` is
    called once if it has to wait).

    Inside :func:`held_open` of the same file this is a new connection to the database already open
    (read-write, whatever ``read_only`` says), which costs nothing; otherwise it opens the file."""
    path = Path(path)
    held = _HELD.get(str(path.resolve()))
    if held is not None:
        con = held.cursor()
        try:
            yield con
        finally:
            con.close()
        return
    if not read_only:
        restrict_umask()  # the file and its write-ahead log are created the owner's only, whatever started us
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, PRIVATE_DIR)
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            if on_wait is not None:
                on_wait()
                on_wait = None
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 1.0)
    try:
        if not read_only:  # respondent-level data: readable by the owner only (a log left by a crash too)
            make_private_file(path)
            make_private_file(f"{path}.wal")
        yield con
    finally:
        con.close()


@contextmanager
def held_open(path: Path | str, timeout_s: float = 3600.0,
              on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Keep the warehouse open (read-write) for a whole run in this process.

    Opening the file starts a DuckDB database each time (about 30 ms, and a run connects some 150
    times); inside this block every :func:`connect` to the file is a connection to the one open
    database. DuckDB lets one process write a file at a time, so runs on the same warehouse queue:
    this waits up to ``timeout_s`` for another run's block to end (calling ``on_wait`` once if it
    has to), and other processes wait for this one's (a plain :func:`connect` gives up after its own
    timeout). A file that cannot be opened is a :class:`WarehouseError` naming it and the fix.
    Re-entrant: an inner block on the same file does nothing."""
    key = str(Path(path).resolve())
    if key in _HELD:
        yield
        return
    with ExitStack() as stack:
        try:
            con = stack.enter_context(connect(path, timeout_s=timeout_s, on_wait=on_wait))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseError(path, f"another process kept the warehouse open for over {timeout_s:.0f} s "
                                     "(another htna run, the Dagster UI running a wave, or a DuckDB shell)",
                                     "wait for it to finish, or pass --warehouse to use another file") from None
            raise WarehouseError(path, f"cannot be opened as a DuckDB database ({_first_line(exc)})",
                                 "check the path, or pass --warehouse to use another file") from None
        except (duckdb.Error, OSError) as exc:
            raise WarehouseError(path, f"cannot be opened ({_first_line(exc)})",
                                 "point --warehouse (or the config's warehouse) at a writable folder") from None
        _HELD[key] = con
        try:
            yield
            if needs_compacting(path, con):  # rows were replaced: their old bytes go, and the file shrinks
                _compact_open(con, Path(path))
        finally:
            del _HELD[key]


# --------------------------------------------------------------------------- compaction
# DuckDB deletes a row by marking it: its bytes stay in the file, and pages it frees keep theirs until
# they are reused. Re-running a wave deletes the wave's old rows, so a respondent removed from the
# export (or erased) would stay readable in the file's bytes. Compacting copies every live row into a
# fresh file and puts it in the old one's place, so no byte of a deleted row is left. A delete leaves
# a marker file beside the warehouse (any process: a step launched from the UI too); a run through
# held_open (the CLI) compacts at its end when the marker is there or the file has free blocks, and
# ``htna erase`` always compacts.


def compaction_marker(path: Path | str) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.needs-compacting")


def _mark_for_compacting(con: duckdb.DuckDBPyConnection) -> None:
    file = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    if file and file[0]:
        compaction_marker(file[0]).touch(exist_ok=True)


def needs_compacting(path: Path | str, con: duckdb.DuckDBPyConnection) -> bool:
    """True when rows were deleted from the warehouse since it was last compacted, or it has free blocks."""
    if compaction_marker(path).exists():
        return True
    size = con.execute("PRAGMA database_size").fetchall()
    return bool(size and size[0][5])  # free_blocks


def _compact_open(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Copy the open warehouse into a fresh file and move that into its place (see above). The old
    file stays open (and locked) until the new one is in place; ``con`` must not be used afterwards."""
    con.execute("CHECKPOINT")
    fresh = path.with_name(f".{path.name}.compacting-{os.getpid()}")
    for leftover in path.parent.glob(f".{path.name}.compacting-*"):  # a killed compaction's copy (lock held)
        leftover.unlink(missing_ok=True)
    try:
        con.execute(f"ATTACH {_literal(str(fresh))} AS htna_compacted")
        try:
            con.execute(f"COPY FROM DATABASE {_catalog(con)} TO htna_compacted")
        finally:
            con.execute("DETACH htna_compacted")
        make_private_file(fresh)
        with open(fresh, "rb+") as fh:
            os.fsync(fh.fileno())
        crash_point("warehouse:compact:before-replace")
        os.replace(fresh, path)
    except BaseException:
        fresh.unlink(missing_ok=True)
        Path(f"{fresh}.wal").unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    compaction_marker(path).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def compact(path: Path | str, timeout_s: float = 3600.0) -> None:
    """Compact the warehouse now (waiting for another process's run to finish)."""
    path = Path(path)
    if str(path.resolve()) in _HELD:
        raise RuntimeError("compact() inside held_open() of the same file: it compacts when the block ends")
    with connect(path, timeout_s=timeout_s) as con:
        _compact_open(con, path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _duck_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if str(series.dtype) == "boolean" or kind == "b":
        return "BOOLEAN"
    if kind in "iu":
        return "BIGINT"
    if kind == "f":
        return "DOUBLE"
    if kind == "M":
        return "TIMESTAMP"
    return "VARCHAR"


def _as_text(values: pd.Series) -> pd.Series:
    """An object column as text: missing (None, NA, NaN) -> None, anything else -> str(value)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # text already: blank the missing
        return values.where(values.notna(), None)
    return values.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v))


#: an object column with at most this many distinct texts is handed to DuckDB as a pandas Categorical
#: (scanned as an ENUM, each text converted once) rather than as one Python string per row
FEW_TEXTS = 4096


def _for_duckdb(values: pd.Series) -> pd.Series:
    """An object column as DuckDB should store it (:func:`_as_text`), in the form it reads fastest:
    a Categorical of the texts when they are few (the same values once stored as VARCHAR)."""
    sample = values.iloc[:20_000]
    if len(values) > 2 * FEW_TEXTS and sample.nunique(dropna=True) <= FEW_TEXTS // 4:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)  # None, NaN and NA are missing
        if len(uniques) <= FEW_TEXTS:
            texts = _as_text(pd.Series(uniques, dtype=object))
            if texts.notna().all() and texts.is_unique:  # else two values would merge into one text
                categories = pd.CategoricalDtype(pd.Index(texts.to_numpy(dtype=object), dtype=object))
                return pd.Series(pd.Categorical.from_codes(codes, dtype=categories), index=values.index,
                                 name=values.name)
    return _as_text(values)


class _Discard(Exception):
    """Raised inside :func:`_wave_write` to roll the write back without an error."""


@contextmanager
def _wave_write(con: duckdb.DuckDBPyConnection, table: str, wave: str,
                columns: list[tuple[str, str]]) -> Iterator[str]:
    """One wave's rows of ``table`` replaced in one transaction: the table made (or given the
    ``columns`` it lacks) and the wave's old rows deleted; the block inserts the new ones into the
    qualified table name it gets. All or nothing: any error (or :class:`_Discard`) rolls back, and a
    crash point just before COMMIT lets the tests kill a write there."""
    t = _qualified(con, table)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_catalog(con)}.{SCHEMA}")
    con.execute("BEGIN TRANSACTION")
    try:
        existing = {c for c, _ in _stored_types(con, table)}
        if not existing:
            con.execute(f"CREATE TABLE {t} ({', '.join(f'{_ident(c)} {kind}' for c, kind in columns)})")
        else:
            for c, kind in columns:
                if c not in existing:
                    con.execute(f"ALTER TABLE {t} ADD COLUMN {_ident(c)} {kind}")
            deleted = con.execute(f"DELETE FROM {t} WHERE wave = ?", [wave]).fetchone()[0]
            if deleted:  # the old rows' bytes stay in the file until it is compacted
                _mark_for_compacting(con)
        yield t
        crash_point(f"warehouse:{table}:before-commit")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def replace_wave(path: Path | str, table: str, wave: str, frame: pd.DataFrame) -> int:
    """Replace the rows of ``wave`` in ``table`` with ``frame`` (which must have a ``wave`` column)."""
    if "wave" not in frame.columns:
        raise ValueError(f"{table}: a wave table needs a 'wave' column")
    if not (frame["wave"].astype(str) == wave).all():
        raise ValueError(f"{table}: rows of another wave in the frame written for wave {wave}")
    # object columns are stored as text; the other columns go to DuckDB as they are (no copy)
    frame = pd.DataFrame({c: _for_duckdb(frame[c]) if frame[c].dtype == object else frame[c]
                          for c in frame.columns}, copy=False)
    staged = any(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns)
    with connect(path) as con:
        con.register("incoming", frame)
        try:
            with _wave_write(con, table, wave, [(str(c), _duck_type(frame[c])) for c in frame.columns]) as t:
                if len(frame) and staged:
                    # Categoricals are copied into DuckDB as ENUMs first: its insert from its own table
                    # (ENUM -> VARCHAR) runs on every core, the one from pandas on one (1M rows: 3.6 s -> 2.5 s)
                    con.execute("CREATE TEMP TABLE incoming_rows AS SELECT * FROM incoming")
                    con.execute(f"INSERT INTO {t} BY NAME SELECT * FROM incoming_rows")
                    con.execute("DROP TABLE incoming_rows")
                elif len(frame):
                    con.execute(f"INSERT INTO {t} BY NAME SELECT * FROM incoming")
        finally:
            con.unregister("incoming")
    return len(frame)


@dataclass
class RowsOf:
    """A wave's rows of table ``source``, minus those whose ``key`` is in ``excluded``, as an asset's
    output: stored by copying inside DuckDB (:func:`replace_wave_from`), not by writing ``frame``.

    ``frame`` is the same rows in memory (read from ``source`` and filtered the same way); the copy
    is used only when it gives exactly ``frame`` as :func:`replace_wave` would store it (same columns
    in the same order, same column types, same number of rows), otherwise ``frame`` is written."""

    source: str
    key: str
    excluded: np.ndarray
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)


def _stored_types(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """The table's columns and their types in the table's order (none: no such table). DuckDB's own
    catalogue function, of the open database only: half the cost of ``information_schema.columns``,
    which a run queries some 300 times."""
    return [(r[0], r[1]) for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND "
        "schema_name = ? AND table_name = ? ORDER BY column_index", [SCHEMA, table]).fetchall()]


def replace_wave_from(path: Path | str, table: str, wave: str, rows: RowsOf) -> int:
    """:func:`replace_wave` of ``rows.frame``, done as ``INSERT ... SELECT`` from ``rows.source`` in
    one transaction (a million rows never go back through pandas). Falls back to writing the frame
    when the copy could differ from it (see :class:`RowsOf`)."""
    frame = rows.frame
    if "wave" not in frame.columns or rows.key not in frame.columns or table == rows.source:
        return replace_wave(path, table, wave, frame)
    if not (frame["wave"].astype(str) == wave).all():
        raise ValueError(f"{table}: rows of another wave in the frame written for wave {wave}")
    # what replace_wave would store: one column per frame column, of its pandas-derived type
    wanted = [(str(c), _duck_type(frame[c])) for c in frame.columns]
    excluded = pd.DataFrame({"key": np.asarray(rows.excluded)})
    if len(excluded) and frame[rows.key].isin(excluded["key"]).any():  # not the rows the copy would give
        return replace_wave(path, table, wave, frame)
    copied = None
    with connect(path) as con:
        if _stored_types(con, rows.source) == wanted:
            con.register("excluded_keys", excluded)
            try:
                with _wave_write(con, table, wave, wanted) as t:
                    key = _ident(rows.key)
                    # in the source's stored order (the order a scan, and so the frame, has)
                    copied = con.execute(
                        f"INSERT INTO {t} BY NAME SELECT * FROM {_qualified(con, rows.source)} WHERE wave = ? AND "
                        f"({key} IS NULL OR {key} NOT IN (SELECT key FROM excluded_keys WHERE key IS NOT NULL)) "
                        "ORDER BY rowid", [wave]).fetchone()[0]
                    if copied != len(frame):  # the source changed since the frame was read: store the frame
                        copied = None
                        raise _Discard
            except _Discard:
                pass
            finally:
                con.unregister("excluded_keys")
    if copied is None:
        return replace_wave(path, table, wave, frame)
    return int(copied)


def read_wave(path: Path | str, table: str, wave: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of one wave (columns only other waves have are empty).

    ``columns``: only these of the table's columns (in the table's order; names it lacks are skipped)."""
    with connect(path) as con:
        return _select_wave(con, table, wave, [c for c, _ in _stored_types(con, table)], columns)


def _select_wave(con: duckdb.DuckDBPyConnection, table: str, wave: str, stored: list[str],
                 columns: list[str] | None) -> pd.DataFrame:
    """:func:`read_wave`'s frame, given the table's stored columns."""
    if not stored:
        return pd.DataFrame()
    wanted = "*" if columns is None else ", ".join(_ident(c) for c in stored if c in set(columns))
    return con.execute(f"SELECT {wanted or '*'} FROM {_qualified(con, table)} WHERE wave = ?", [wave]).df()


# --------------------------------------------------------------------------- answers made once each
# An answer column of a million respondents holds a handful of distinct answers ("Agree", "Strongly
# agree", ...). Handing it to pandas as a million freshly made Python strings is most of what reading
# it costs. read_answers returns the same frame as read_wave (same rows in the same order, same
# columns, same values: text as str, missing as None; tested equal) but has DuckDB code each
# low-cardinality text column as the position of the answer in the column's list of distinct answers;
# the text is then made once per distinct answer (every respondent with the same answer shares one
# string object, so hashing and comparing them later is cheap too). The IO manager reads inputs so.

#: text columns with at most this many distinct answers (DuckDB's approximate count) are coded
MAX_CODED_ANSWERS = 4096
#: up to this many answers, a row's answer is found by a scan of the list; more, by an ENUM lookup
SCANNED_ANSWERS = 64
#: a wave of fewer rows is read by the plain query: coding its answers (three more queries) costs more than
#: it saves (most of a run's ~80 reads are of tables of a few hundred rows)
SMALL_WAVE = 1000


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_answers(path: Path | str, table: str, wave: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of one wave, as :func:`read_wave` returns them (tested equal),
    with the answers of each low-cardinality text column made once per distinct answer
    (a wave of fewer than :data:`SMALL_WAVE` rows: the plain read)."""
    with connect(path) as con:
        stored = _stored_types(con, table)
        coded = _read_coded(con, table, wave, stored, columns)
        if coded is None:  # nothing worth coding: the plain read
            return _select_wave(con, table, wave, [c for c, _ in stored], columns)
    frame, answers = coded
    for c, values in answers.items():
        lookup = np.empty(len(values) + 1, dtype=object)
        lookup[0] = None
        lookup[1:] = values
        frame[c] = lookup[frame[c].to_numpy()]
    return frame


def _read_coded(con: duckdb.DuckDBPyConnection, table: str, wave: str, stored: list[tuple[str, str]],
                columns: list[str] | None) -> tuple[pd.DataFrame, dict[str, list[str]]] | None:
    """The wave's rows with each low-cardinality text column as 1-based positions in its list of
    distinct answers (0: missing), and those lists; None when no column would be coded, or the wave
    has fewer than :data:`SMALL_WAVE` rows. ``stored``: the table's columns and types."""
    wanted = [(c, t) for c, t in stored if columns is None or c in set(columns)]
    text = [c for c, t in wanted if t == "VARCHAR"]
    if not text:  # (also: no such table, or none of the columns: read_wave's answer)
        return None
    source = _qualified(con, table)
    if con.execute(f"SELECT count(*) FROM {source} WHERE wave = ?", [wave]).fetchone()[0] < SMALL_WAVE:
        return None
    con.execute("BEGIN TRANSACTION")  # the answers listed and coded from one snapshot
    try:
        counts = con.execute(
            "SELECT count(*), " + ", ".join(f"approx_count_distinct({_ident(c)})" for c in text)
            + f" FROM {source} WHERE wave = ?", [wave]).fetchone()
        coded = [c for c, k in zip(text, counts[1:]) if k <= MAX_CODED_ANSWERS]
        if counts[0] == 0 or not coded:
            return None
        lists = con.execute(
            "SELECT " + ", ".join(f"list(DISTINCT {_ident(c)})" for c in coded)
            + f" FROM {source} WHERE wave = ?", [wave]).fetchone()
        answers = {c: [v for v in (values or []) if v is not None] for c, values in zip(coded, lists)}
        select = []
        for c, _ in wanted:
            if c in answers:
                values = ", ".join(_literal(v) for v in answers[c] or [""])
                if len(answers[c]) <= SCANNED_ANSWERS:  # a scan of a short list is the quickest
                    code = f"list_position([{values}], {_ident(c)})"
                else:  # the ENUM's hash lookup (a scan per row would cost rows x answers)
                    code = f"CAST(enum_code(CAST({_ident(c)} AS ENUM({values}))) AS INTEGER) + 1"
                select.append(f"coalesce({code}, 0)::INTEGER AS {_ident(c)}")
            else:
                select.append(_ident(c))
        frame = con.execute(f"SELECT {', '.join(select)} FROM {source} WHERE wave = ?", [wave]).df()
    finally:
        con.execute("ROLLBACK")  # read only
    return frame, answers


def read_waves(path: Path | str, table: str, waves: list[str]) -> pd.DataFrame:
    """The rows of several waves in one query (ordered by wave; waves not in the table are absent)."""
    with connect(path) as con:
        if not waves or not _stored_types(con, table):
            return pd.DataFrame()
        marks = ", ".join("?" for _ in waves)
        frame = con.execute(f"SELECT * FROM {_qualified(con, table)} WHERE wave IN ({marks})", list(waves)).df()
    # wave by wave, each in its stored order (as reading them one at a time would give)
    return frame.sort_values("wave", kind="stable").reset_index(drop=True) if len(frame) else frame


def list_tables(path: Path | str) -> list[str]:
    with connect(path) as con:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [SCHEMA]).fetchall()]


def wave_rows(path: Path | str) -> Callable[[str, str], int | None]:
    """A look-up of how many rows each table of the warehouse holds for a wave (None: no such table,
    or no file). Read once, at the call: ``rows(table, wave)``."""
    counts: dict[tuple[str, str], int] = {}
    tables: set[str] = set()
    if Path(path).exists() or str(Path(path).resolve()) in _HELD:
        with connect(path) as con:
            tables = {t for (t,) in con.execute(
                "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = ? "
                "AND column_name = 'wave'", [SCHEMA]).fetchall()}
            if tables:
                query = " UNION ALL ".join(f"SELECT '{t}', CAST(wave AS VARCHAR), count(*) FROM "
                                           f"{_qualified(con, t)} GROUP BY wave" for t in sorted(tables))
                counts = {(t, w): n for t, w, n in con.execute(query).fetchall()}

    def rows(table: str, wave: str) -> int | None:
        return counts.get((table, wave), 0) if table in tables else None

    return rows
