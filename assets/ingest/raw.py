"""The intermediate every export reader produces, and the text-level reading they share.

Whatever the platform (SurveyMonkey, Qualtrics, SPSS, REDCap, a plain spreadsheet), a reader turns
the file into a :class:`RawExport`: a description of each column (the question it belongs to, its
sub-header or option, its own name and any platform import id) plus the answers as text in a
column-per-position table, blank meaning missing. Matching to the codebook and normalising answers
then happen once, in :mod:`assets.ingest.officer_responses`.

Every problem a user can act on is raised as :class:`~pipelines.errors.InputError` naming the file,
the row or column and what to do; no other exception leaves these functions for any input bytes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.errors import InputError

if TYPE_CHECKING:  # imported where a big export is parsed
    import duckdb

#: roles a column can play within its question
ANSWER, CHOICE, OTHER_TEXT = "answer", "choice", "other_text"


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: the question it belongs to and its sub-header.

    ``position`` indexes the column in :attr:`RawExport.table`. ``question`` is the question text
    shared by all columns of one question, ``subheader`` what the platform writes under or after it
    (``Response``, an option label, ``Other (please specify)``, a matrix row). ``name`` is the column's
    own identifier where the platform gives one (Qualtrics short name, REDCap field, SPSS variable),
    ``import_id`` the Qualtrics ImportId of the question (``QID5``), ``choice`` the option code of a
    one-column-per-option layout where the header gives a code rather than a label, ``group`` a key
    shared by the columns of one question (default: the question text) and ``role`` one of
    ``answer``, ``choice`` (one option of a multi-select, or one row of a matrix) and ``other_text``.
    """

    position: int
    question: str
    subheader: str
    name: str = ""
    import_id: str = ""
    choice: str = ""
    group: str = ""
    role: str = ""

    @property
    def group_key(self) -> str:
        return self.group or self.question

    @property
    def kind(self) -> str:
        """The column's role, inferred from a SurveyMonkey-style sub-header when not set."""
        if self.role:
            return self.role
        sub = self.subheader.strip().casefold()
        if sub in ("", "response", "open-ended response", "selected choice"):
            return ANSWER
        if sub.startswith("other"):
            return OTHER_TEXT
        return CHOICE


@dataclass
class RawExport:
    """An export as read: the column descriptions and the answers as text (blank = missing).

    ``table`` holds one column per file column (labelled by position) of stripped-or-not strings;
    ``ids`` maps canonical platform fields (``respondent_id``, ``start_date``, ``status``,
    ``finished``, ``progress``, ...) to positions. ``row_numbers`` gives each record's row in the file
    as a spreadsheet shows it (header rows included), for messages. ``notes`` collects what the reader
    noticed but could load (mixed encodings, duplicate columns, formula-looking cells).
    """

    path: Path
    encoding: str
    columns: list[ExportColumn]
    ids: dict[str, int]
    table: pd.DataFrame | list[list[str]]
    first_data_line: int
    format: str = "surveymonkey"
    container: str = "csv"
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)
    row_numbers: np.ndarray | None = None
    #: answer codes the export itself declares, by column position: code (as
    #: :func:`pipelines.config.code_key` folds it) -> label, e.g. SPSS value labels, a REDCap data
    #: dictionary's choices, a Qualtrics survey file's recode values
    value_labels: dict[int, dict[str, str]] = field(default_factory=dict)
    #: where each column's ``value_labels`` come from ("SPSS value labels", "REDCap data dictionary <file>")
    code_sources: dict[int, str] = field(default_factory=dict)
    #: each column's own heading by position (the first header row; SPSS variable names)
    headers: list[str] = field(default_factory=list)
    #: the metadata files whose codes were attached (None: not looked for yet)
    metadata_files: list[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.table, pd.DataFrame):  # rows as lists of strings (the original API)
            rows = self.table
            width = max([len(r) for r in rows], default=len(self.columns) + len(self.ids))
            self.table = pd.DataFrame([list(r) + [""] * (width - len(r)) for r in rows],
                                      columns=range(width), dtype=object) if rows else \
                pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
        if self.row_numbers is None:
            self.row_numbers = np.arange(self.first_data_line, self.first_data_line + len(self.table))

    @property
    def n_rows(self) -> int:
        return len(self.table)

    @property
    def rows(self) -> list[list[str]]:
        """The answers as lists of strings, one per record (for small exports and tests)."""
        return self.table.astype(object).values.tolist()

    def cells(self, position: int) -> pd.Series:
        """One column's answers as text, blank = '' (not stripped: consumers work per distinct value)."""
        s = self.table[position]  # type: ignore[index]
        if isinstance(s.dtype, pd.CategoricalDtype):
            return s.astype(object).fillna("")
        return s if s.dtype == object else s.astype(str)  # readers store '' for blank; NaN is read as blank too

    def column(self, position: int) -> pd.Series:
        """One column as stored: text, or a Categorical of text for a big export's few-valued column
        (consumers that work per distinct value take its categories and codes as they are)."""
        s = self.table[position]  # type: ignore[index]
        return s if s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype) else s.astype(str)

    def describe_format(self) -> str:
        labels = {"surveymonkey": "SurveyMonkey", "surveymonkey_legacy": "SurveyMonkey (older RespondentID export)",
                  "qualtrics": "Qualtrics (3 header rows)",
                  "qualtrics_legacy": "Qualtrics (legacy 2 header rows)", "spss": "SPSS",
                  "redcap": "REDCap (raw codes)", "redcap_labels": "REDCap (labels)", "plain": "plain table"}
        return f"{labels.get(self.format, self.format)} {self.container.upper()}"

    @property
    def platform(self) -> str:
        """The survey platform that wrote the file (SPSS and plain tables: the container's maker)."""
        return {"surveymonkey": "SurveyMonkey", "surveymonkey_legacy": "SurveyMonkey", "qualtrics": "Qualtrics",
                "qualtrics_legacy": "Qualtrics", "redcap": "REDCap", "redcap_labels": "REDCap",
                "spss": "SPSS (any platform)", "plain": "none recognised (plain table)"}.get(self.format, self.format)


# --------------------------------------------------------------------------- bytes and text


BOMS = ((b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with BOM"), (b"\xff\xfe", "utf-16", "UTF-16"),
        (b"\xfe\xff", "utf-16", "UTF-16"))


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or an InputError saying why they cannot be had. Only a regular file is
    read: a link, FIFO or device is refused before it is opened (:mod:`pipelines.input_files`)."""
    from pipelines.input_files import read_regular

    return read_regular(path)


def _utf16_without_bom(data: bytes) -> str | None:
    head = data[:400]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_text(path: Path, data: bytes) -> tuple[str, str, list[str]]:
    """Decode an export; return (text, encoding label, notes).

    UTF-8 (with or without BOM), UTF-16 (BOM, or detected from its zero bytes) and Windows-1252
    (Excel on Windows). A file that is UTF-8 in some lines and Windows-1252 in others is decoded line
    by line and the mixture is reported. Binary content raises InputError.
    """
    notes: list[str] = []
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), label, notes
            except UnicodeDecodeError as exc:
                line = data[:exc.start].count(b"\n" if codec == "utf-8-sig" else b"\n\x00") + 1
                raise InputError(path, f"the file says it is {label} but is not valid {label} (byte {exc.start})",
                                 row=line, fix="save the export again as UTF-8 CSV") from None
    codec16 = _utf16_without_bom(data)
    if codec16:
        try:
            return data.decode(codec16), "UTF-16", notes
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise InputError(path, "the file is binary, not a text export (it contains zero bytes)",
                         fix="export the responses again as CSV, XLSX or SPSS .sav")
    try:
        return data.decode("utf-8"), "UTF-8", notes
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        whole_cp1252 = True
    except UnicodeDecodeError:
        whole_cp1252 = False
    # lines that are valid UTF-8 next to lines that are not: a file pasted together from two sources
    lines = data.split(b"\n")
    utf8_lines, other_lines, out = 0, [], []
    for i, line in enumerate(lines):
        try:
            s = line.decode("utf-8")
            if any(b > 0x7F for b in line):
                utf8_lines += 1
        except UnicodeDecodeError:
            other_lines.append(i + 1)
            s = line.decode("cp1252", errors="replace")
        out.append(s)
    if utf8_lines and other_lines:
        shown = ", ".join(str(n) for n in other_lines[:5]) + (" ..." if len(other_lines) > 5 else "")
        notes.append(f"mixed encodings: lines {shown} are Windows-1252, the rest UTF-8; each line was "
                     "decoded in its own encoding (save the file as UTF-8 to avoid this)")
        return "\n".join(out), "mixed UTF-8 / Windows-1252", notes
    if whole_cp1252:
        return text, "Windows-1252", notes
    return data.decode("latin-1"), "Latin-1", notes


_DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(text: str) -> str:
    """The delimiter giving the widest, most consistent first lines (comma when nothing fits)."""
    sample = text[:65536]
    cut = sample.rfind("\n")
    if cut > 0 and len(text) > len(sample):
        sample = sample[:cut]
    best, best_score = ",", (0, 0)
    for d in _DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d)][:30]
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = d, score
    return best


csv.field_size_limit(2**31 - 1)  # a free-text answer can be long; the default 128 KiB limit is not a format rule


def _csv_rows(text: str, delimiter: str, strict: bool) -> tuple[list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows, lines = [], []
    start = 1
    for row in reader:
        rows.append(row)
        lines.append(start)
        start = reader.line_num + 1
    return rows, lines


def parse_delimited(path: Path, text: str, delimiter: str, notes: list[str] | None = None) -> pd.DataFrame:
    """Every record of the file as a table of strings (columns by position; NaN = cell absent).

    Python's csv module gives exact cell counts and line numbers for the messages; exports large
    enough for speed to matter go through :func:`parse_delimited_duckdb` instead. A record wider
    than the first raises InputError naming its row.
    """
    if not text.strip():
        raise InputError(path, "the file is empty", fix="export the survey responses again")
    try:
        rows, lines = _csv_rows(text, delimiter, strict=True)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            n_lines = text.count("\n") + 1
            raise InputError(path, "a quoted cell is never closed: the file ends inside it", row=None,
                             fix=f"the file may be truncated (it has {n_lines} lines), or a cell holds an "
                                 "unmatched quote; re-export it") from None
        try:
            rows, lines = _csv_rows(text, delimiter, strict=False)
        except csv.Error as exc2:  # pragma: no cover - the lenient reader only fails on NUL, excluded earlier
            raise InputError(path, f"malformed delimited text ({exc2})", fix="re-export the file as CSV") from None
        if notes is not None:
            notes.append(f"stray quote characters inside cells ({exc}); they were read as ordinary text")
    if not rows:
        raise InputError(path, "the file is empty", fix="export the survey responses again")
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) > width:
            raise InputError(path, f"a row is wider than the header (it has {len(r)} cells, the header rows "
                             f"have {width})", row=i + 1,
                             fix="check the delimiter and for unquoted delimiters inside answers; re-export the file")
    padded = [r if len(r) == width else r + [None] * (width - len(r)) for r in rows]
    grid = pd.DataFrame(padded, columns=range(width), dtype=object)
    grid.index = pd.Index(lines, dtype=np.int64)  # the line each record starts on, for messages
    empty = np.array([len(r) == 0 for r in rows])
    if empty.any():  # an empty line holds no cells: not a record (DuckDB's reader skips them too)
        grid = grid[~empty]
        if notes is not None:
            notes.append(f"{int(empty.sum())} empty line(s) skipped")
    return grid


_HAS_TEXT = np.frompyfunc(lambda v: bool(str(v).strip()), 1, 1)


def _nonblank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with a cell that is not missing or blank (cell by cell, without pandas' per-column overhead)."""
    if not len(frame.columns) or not len(frame):
        return np.zeros(len(frame), bool)
    values = frame.to_numpy(dtype=object)
    return (~pd.isna(values) & _HAS_TEXT(values).astype(bool)).any(axis=1)


def drop_trailing_blank(grid: pd.DataFrame) -> pd.DataFrame:
    """Remove empty lines after the last non-empty row (an editor's trailing newlines)."""
    end = len(grid)
    while end > 0:
        start = max(0, end - 64)
        nonblank = _nonblank_rows(grid.iloc[start:end])
        if nonblank.any():
            return grid.iloc[: start + int(np.flatnonzero(nonblank)[-1]) + 1]
        end = start
    return grid.iloc[:0]


def check_short_rows(path: Path, body: pd.DataFrame, width: int) -> pd.DataFrame:
    """Rows with fewer cells than the header are errors when they hold anything (a cut-off file)."""
    if body.empty:
        return body
    short = np.flatnonzero(body.isna().any(axis=1).to_numpy())
    if short.size:
        content = _nonblank_rows(body.iloc[short])
        bad = short[content]
        if bad.size:
            i = int(bad[0])
            n = int(body.iloc[i].notna().sum())
            raise InputError(path, f"row has {n} cells, the header has {width}", row=int(body.index[i]),
                             fix="the file may be truncated or edited by hand; re-export it")
        return body.fillna("")
    return body


#: text exports larger than this are parsed by DuckDB's parallel CSV reader
BIG_FILE_BYTES = 16 * 2**20
_DUCK_LINE = re.compile(r"Line:\s*(\d+)")


#: a column of a big export with at most this share of distinct cells (in its first rows) is kept
#: dictionary-encoded (a pandas Categorical): its answers are then mapped once per distinct value
CATEGORICAL_MAX_SHARE = 0.5
#: ... and so is a column with at most this many distinct cells in them
CATEGORICAL_MAX_VALUES = 64
#: rows of a big export looked at to tell few-valued columns from ids and timestamps
_SAMPLE_ROWS = 50_000


def parse_delimited_duckdb(path: Path, width: int, delimiter: str) -> pd.DataFrame | None:
    """Parse a large UTF-8 export with DuckDB; every cell text, blank = ''.

    Columns with few distinct cells (answers, collectors) come back as pandas Categoricals built by
    DuckDB (an ENUM per column, so no Python string per row), the others (ids, timestamps) as text.
    Returns None when DuckDB cannot parse the file as plain UTF-8 CSV (the caller then uses the
    pandas path, which gives the detailed message). Rows with a different number of cells raise
    InputError naming the line.
    """
    import duckdb

    cols = "{" + ",".join(f"'c{i}':'VARCHAR'" for i in range(width)) + "}"
    delim = delimiter.replace("'", "''")
    source = (f"read_csv($path, header=false, delim='{delim}', quote='\"', escape='\"', strict_mode=true, "
              f"auto_detect=false, null_padding=false, columns={cols})")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        try:
            grid = _select_columns(con, source, {"path": str(path)}, width)
        except duckdb.Error as exc:
            msg = str(exc)
            if "Expected Number of Columns" in msg or "Too many columns" in msg or "too many columns" in msg:
                m = _DUCK_LINE.search(msg)
                raise InputError(path, f"a row does not have the header's {width} cells",
                                 row=int(m.group(1)) if m else None,
                                 fix="the file may be truncated, use another delimiter, or hold unquoted delimiters "
                                     "inside answers; re-export it") from None
            return None
    finally:
        con.close()
    grid.index = pd.RangeIndex(1, len(grid) + 1)
    return grid


def _select_columns(con: duckdb.DuckDBPyConnection, source: str, params: dict, width: int) -> pd.DataFrame:
    """Every column of ``source``, blank = ''; few-valued ones as Categoricals.

    The distinct cells of the first rows become a DuckDB ENUM per few-valued column, and one pass
    over the whole file returns each row's code into it. A column holding a cell its first rows do
    not is read again as text; which way a column is held never changes its values."""
    con.execute(f"CREATE TEMP TABLE first_rows AS SELECT * FROM {source} LIMIT {_SAMPLE_ROWS}", params)
    sample = con.execute("SELECT count(*), " + ", ".join(f"approx_count_distinct(c{i})" for i in range(width))
                         + " FROM first_rows").fetchone()
    few = [i for i in range(width) if sample[0] and sample[i + 1] <= max(CATEGORICAL_MAX_SHARE * sample[0], CATEGORICAL_MAX_VALUES)]
    categories: dict[int, list[str]] = {}
    for i in few:
        con.execute(f"CREATE TYPE cells_{i} AS ENUM (SELECT DISTINCT coalesce(c{i}, '') FROM first_rows)")
        categories[i] = [r[0] for r in con.execute(f"SELECT unnest(enum_range(NULL::cells_{i}))").fetchall()]
    select = [f"enum_code(TRY_CAST(coalesce(c{i}, '') AS cells_{i})) AS c{i}" if i in few else f"coalesce(c{i}, '') AS c{i}"
              for i in range(width)]
    result = con.execute("SELECT " + ", ".join(select) + f" FROM {source}", params).fetchnumpy()
    columns: dict[int, object] = {}
    again = []
    for i, values in enumerate(result.values()):
        if i not in categories:
            columns[i] = np.asarray(values, dtype=object)
        elif isinstance(values, np.ma.MaskedArray) and values.mask.any():
            again.append(i)  # a cell the first rows do not hold
        else:
            codes = np.asarray(values).astype(np.int32)
            columns[i] = pd.Categorical.from_codes(codes, categories=pd.Index(categories[i], dtype=object))
    if again:
        text = con.execute("SELECT " + ", ".join(f"coalesce(c{i}, '') AS c{i}" for i in again)
                           + f" FROM {source}", params).fetchnumpy()
        for i, values in zip(again, text.values()):
            columns[i] = np.asarray(values, dtype=object)
    index = pd.RangeIndex(len(next(iter(result.values()))) if result else 0)
    return pd.concat({i: pd.Series(columns[i], index=index, copy=False) for i in range(width)}, axis=1, copy=False)
