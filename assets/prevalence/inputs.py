"""A wave's agency case lists, read from the drop folder and reduced to an overlap table.

A wave's lists are in ``<data_dir>/incoming/<wave>/`` as one of

* ``case_lists_overlap.csv`` — already aggregated: one 0/1 column per list and ``count`` (the
  format of ``tests/fixtures/mse/``), optionally a stratum column; or
* ``case_lists.csv`` — case level: one row per case on a list, with the list's name (``list``), the
  identifiers configured in ``prevalence.identifiers`` (e.g. first name, last name, date of birth)
  and optionally the ``prevalence.stratum`` column (e.g. age group).

Case-level identifiers are replaced by a keyed linkage key (HMAC-SHA256 under the secret in
``HTNA_LINKAGE_SECRET``, see :mod:`assets.prevalence.linkage`) as soon as the file is read, and
dropped: only counts leave this module. Error messages name the file, the row and the column but
never a value from a case-level file, since the value could identify a person.

Plain code: no Dagster. Problems the user can fix raise :class:`pipelines.errors.InputError`
(file, row, column) or :class:`pipelines.errors.ConfigError`.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import InputLimits
from pipelines.errors import HtnaError, InputError

from .linkage import (
    MIN_SECRET_BYTES,
    SECRET_ENV_VAR,
    LinkageError,
    LinkageSecretError,
    _is_date_field,
    linkage_key,
    secret_from_env,
    weak_secret_problem,
)
from .overlap import COUNT_COLUMN, OverlapTableError, all_histories, complete_overlap_table

__all__ = [
    "ALL_STRATA",
    "CASE_LISTS_FILE",
    "OVERLAP_FILE",
    "WaveLists",
    "linkage_secret_for",
    "read_case_lists",
    "read_overlap_file",
    "read_wave_lists",
]

CASE_LISTS_FILE = "case_lists.csv"
OVERLAP_FILE = "case_lists_overlap.csv"
MANIFEST = "SYNTHETIC.json"
LIST_COLUMN = "list"
ALL_STRATA = "all"  # the stratum label of the pooled table
_COUNT_ALIASES = ("count", "freq", "frequency", "n", "cases")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ----------------------------------------------------------------------------- helpers


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV as text (UTF-8, with or without BOM; Windows-1252 as a fallback). Only a regular
    file is read (:func:`pipelines.input_files.read_regular`); messages never quote the file."""
    from pipelines.input_files import read_regular

    data = read_regular(path)
    last: Exception | None = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with warnings.catch_warnings():  # rows wider than the header: an error, not shifted columns
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding=encoding,
                                   index_col=False, **kwargs)
        except UnicodeDecodeError as exc:
            last = exc
        except pd.errors.ParserWarning:
            raise InputError(path, "a row has more cells than the header row",
                             fix="check for an unquoted comma inside a cell or a missing column name") from None
        except pd.errors.EmptyDataError:
            raise InputError(path, "the file is empty", fix="export the table with a header row") from None
        except pd.errors.ParserError as exc:
            where = re.search(r"\bline (\d+)", str(exc))  # the parser's text may quote the file: its line only
            raise InputError(path, "not a readable CSV table" + (f" (the parser stopped at line {where.group(1)})"
                                                                  if where else ""),
                             fix="save the table as comma-separated values, one header row") from None
    raise InputError(path, f"cannot decode the file as text ({type(last).__name__})",
                     fix="save it as UTF-8 CSV")


def _is_row_index(name: str, values: pd.Series) -> bool:
    """R's ``write.csv`` row names: an unnamed first column holding 1, 2, 3, ..."""
    if name.strip() != "" and not name.startswith("Unnamed: "):
        return False
    nums = pd.to_numeric(values.str.strip(), errors="coerce")
    return bool(nums.notna().all() and (nums.to_numpy() == np.arange(1, len(values) + 1)).all())


def column_name(label: str) -> str:
    """A list name usable as a warehouse column (kept if it is one; else lower case, ``_``s)."""
    if re.match(r"^[A-Za-z][A-Za-z0-9_]*$", str(label).strip()):
        return str(label).strip()
    name = re.sub(r"[^0-9a-z]+", "_", str(label).strip().casefold()).strip("_")
    if not name or not name[0].isalpha():
        name = f"list_{name}" if name else "list"
    return name


def _match_lists(found: Sequence[str], configured: Sequence[tuple[str, str]],
                 path: Path, sanitize: bool = True) -> dict[str, str]:
    """Map names found in a file to configured list names (name or label, case-blind). Without
    configured lists, names are kept (``sanitize``: made usable as column names)."""
    if not configured:
        out = {f: column_name(f) if sanitize else str(f).strip() for f in found}
        clash = sorted({v for v in out.values() if list(out.values()).count(v) > 1})
        if clash:  # the names are not shown: in a damaged case-level file they may be anything
            raise InputError(path, f"{len(found)} list names include some that differ only in case, spaces or "
                             "punctuation (they would make the same column)",
                             fix="give the lists distinct names (letters, digits, underscores)")
        return out
    lookup: dict[str, str] = {}
    for name, label in configured:
        lookup[name.casefold()] = name
        lookup[label.strip().casefold()] = name
        lookup[column_name(label)] = name
    out = {}
    for f in found:
        key = str(f).strip().casefold()
        if key in lookup:
            out[f] = lookup[key]
        elif column_name(f) in lookup:
            out[f] = lookup[column_name(f)]
    return out


# ----------------------------------------------------------------------------- overlap tables


def read_overlap_file(
    path: Path | str,
    *,
    lists: Sequence[tuple[str, str]] = (),
    stratum: str | None = None,
    sanitize: bool = False,
) -> pd.DataFrame:
    """Read an aggregated overlap table; return it completed (all ``2**k - 1`` histories).

    ``lists`` are the configured ``(name, label)`` pairs; columns are matched to them by name or
    label (case-blind) and renamed to the names. Without ``lists``, every column other than the
    count (``count``; also accepted: ``freq``, ``frequency``, ``n``, ``cases``, in any case) and the
    stratum is a list. An unnamed first column of row numbers (R's ``write.csv``) is ignored.
    Repeated capture histories are added up (as SparseMSE's ``tidylists`` does; a note in
    ``result.attrs["notes"]`` says so); a row for the all-zero history must have count 0 or be
    empty. ``sanitize`` makes list names without a configuration usable as warehouse columns.

    The result has a ``stratum`` column when ``stratum`` names a column of the file. Errors name
    the file, the row (line number in the file) and the column.
    """
    path = Path(path)
    raw = _read_csv(path)
    raw.columns = [str(c) for c in raw.columns]
    if len(raw.columns) and _is_row_index(raw.columns[0], raw.iloc[:, 0]):
        raw = raw.iloc[:, 1:]
    cols = [c.strip() for c in raw.columns]
    raw.columns = cols
    count_col = next((c for c in cols if c.casefold() == "count"), None) or \
        next((c for c in cols if c.casefold() in _COUNT_ALIASES), None)
    if count_col is None:
        raise InputError(path, f"no count column (columns: {', '.join(cols)})", row=1,
                         fix="add a 'count' column: the number of cases with each combination of lists")
    strat_col = next((c for c in cols if stratum and c.casefold() == stratum.casefold()), None)
    list_cols = [c for c in cols if c not in (count_col, strat_col)]
    empty = [c for c in list_cols if c == "" or c.startswith("Unnamed:")]
    if empty:
        raise InputError(path, "a column has no name", row=1, fix="name every column in the header row")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise InputError(path, f"columns named twice: {', '.join(dup)}", row=1)
    mapping = _match_lists(list_cols, lists, path, sanitize)
    unknown = [c for c in list_cols if c not in mapping]
    if unknown:
        names = ", ".join(n for n, _ in lists)
        raise InputError(path, f"column {unknown[0]!r} is not a list of prevalence.lists ({names})",
                         row=1, column=unknown[0],
                         fix="name each list column as in the config, or add the list to prevalence.lists")
    if len(set(mapping.values())) != len(mapping):
        raise InputError(path, "two columns name the same list", row=1)
    if len(list_cols) < 2:
        raise InputError(path, f"multiple systems estimation needs at least 2 lists; found {list_cols}",
                         row=1, fix="one 0/1 column per list, plus 'count'")

    values = {}
    for c in list_cols:
        text = raw[c].str.strip()
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna() | ~num.isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, "a list cell is not 0 or 1", row=i + 2, column=c, value=raw[c].iloc[i],
                             fix="mark 1 if the cases were on the list, 0 if not")
        values[mapping[c]] = num.astype(np.int64).to_numpy()
    table = pd.DataFrame(values)
    text = raw[count_col].str.strip()
    num = pd.to_numeric(text.replace("", None), errors="coerce")
    hist_zero = table.sum(axis=1).to_numpy() == 0
    blank = (text == "").to_numpy()
    filled = num.fillna(0).to_numpy(dtype=float)
    bad = (num.isna().to_numpy() & ~(blank & hist_zero)) | (filled < 0) | (filled != np.round(filled)) | \
        ~(filled < 2.0**53)  # infinite, or beyond exact whole numbers
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, "the count is not a whole number of cases", row=i + 2, column=count_col,
                         value=raw[count_col].iloc[i], fix="counts are whole numbers, 0 or more")
    counts = num.fillna(0).astype(np.int64).to_numpy()
    seen_nowhere = hist_zero & (counts > 0)
    if seen_nowhere.any():
        i = int(np.flatnonzero(seen_nowhere)[0])
        raise InputError(path, "a positive count for cases on no list: that number cannot be observed",
                         row=i + 2, column=count_col,
                         fix="remove the all-zero row; the model estimates the cases no list saw")
    table[COUNT_COLUMN] = counts
    keep = ~hist_zero
    names = list(values)
    key = table[names].copy()
    if strat_col is not None:
        key["stratum"] = raw[strat_col].str.strip().to_numpy()
    repeated = int(key[keep].duplicated().sum())
    notes = [f"{repeated} row(s) repeat a combination of lists already in the table; their counts "
             "were added up"] if repeated else []
    try:
        if strat_col is None:
            out = complete_overlap_table(table[keep].groupby(names, as_index=False)[COUNT_COLUMN].sum(),
                                         names)
            out.attrs["notes"] = notes
            return out
        strata = raw[strat_col].str.strip()
        bad = ((strata == "") | (strata.str.casefold() == ALL_STRATA)).to_numpy() & keep
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, f"the stratum is blank or the reserved {ALL_STRATA!r} (all cases together)",
                             row=i + 2, column=strat_col,
                             fix="give every row its stratum; the pooled table is made for you")
        table.insert(0, "stratum", strata.to_numpy())
        parts = []
        for value, group in table[keep].groupby("stratum", sort=False):
            agg = group.groupby(names, as_index=False)[COUNT_COLUMN].sum()
            done = complete_overlap_table(agg, names)
            done.insert(0, "stratum", value)
            parts.append(done)
        out = pd.concat(parts, ignore_index=True)
        out.attrs["notes"] = notes
        return out
    except OverlapTableError as exc:  # pragma: no cover - the checks above come first
        raise InputError(path, str(exc)) from None


# ----------------------------------------------------------------------------- case-level lists


def _manifest_says_synthetic(folder: Path) -> bool:
    """True only for a readable SYNTHETIC.json, a regular file of the folder, whose ``synthetic`` is
    literally true (a link or anything else is not enough for the public demo key)."""
    from pipelines.input_files import read_regular

    try:
        data = read_regular(folder / MANIFEST, folder, max_bytes=64 * 1024)
        return json.loads(data.decode("utf-8")).get("synthetic") is True
    except (HtnaError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class Secret:
    key: bytes = field(repr=False)
    source: str  # "environment" or "demo"


def linkage_secret_for(folder: Path, path: Path | None = None) -> Secret:
    """The linkage key for a wave folder: ``HTNA_LINKAGE_SECRET`` if set; otherwise, for a folder of
    synthetic demonstration data only, the public demo key; otherwise an :class:`InputError`."""
    value = os.environ.get(SECRET_ENV_VAR)
    where = path or folder / CASE_LISTS_FILE
    synthetic = _manifest_says_synthetic(folder)
    if value is not None and value.strip():
        try:
            key = secret_from_env()
        except LinkageSecretError as exc:
            raise InputError(where, str(exc), fix=_SECRET_FIX) from None
        problem = None if synthetic else weak_secret_problem(key)  # real case lists: a real secret
        if problem:
            raise InputError(where, problem, fix=_SECRET_FIX)
        return Secret(key, "environment")
    if synthetic:
        from .demo import DEMO_LINKAGE_SECRET

        return Secret(DEMO_LINKAGE_SECRET, "demo")
    raise InputError(where, f"case-level lists need the linkage secret, and {SECRET_ENV_VAR} is not set",
                     fix=_SECRET_FIX)


_SECRET_FIX = (f"set {SECRET_ENV_VAR} to at least {MIN_SECRET_BYTES} random bytes kept out of the "
               "repository, e.g. `export HTNA_LINKAGE_SECRET=$(python -c \"import secrets; "
               "print(secrets.token_hex(32))\")`, and use the same value every year so keys stay "
               "comparable; or supply the aggregated case_lists_overlap.csv instead")


@dataclass
class CaseListSummary:
    """What was read from a case-level file (counts only, nothing identifying)."""

    rows: int = 0
    within_list_duplicates: int = 0
    cases: int = 0
    dropped_columns: list[str] = field(default_factory=list)


def read_case_lists(
    path: Path | str,
    secret: bytes,
    *,
    identifiers: Sequence[str],
    lists: Sequence[tuple[str, str]] = (),
    stratum: str | None = None,
) -> tuple[pd.DataFrame, CaseListSummary]:
    """Read case-level list records, key them and return the completed overlap table.

    Each row is one case on one list: the list's name or label in column ``list``, the
    ``identifiers`` columns (all required; a field may be blank on some rows), and optionally the
    ``stratum`` column. The identifiers of each row become an HMAC-SHA256 linkage key under
    ``secret`` and are discarded immediately; other columns are ignored. A case repeated on one
    list counts once; a case must have one stratum.

    Returns the overlap table (with a ``stratum`` column when the file has the stratum column) and
    a summary with counts only.
    """
    path = Path(path)
    raw = _read_csv(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    by_fold = {c.casefold(): c for c in raw.columns}
    if LIST_COLUMN not in by_fold:
        raise InputError(path, f"no {LIST_COLUMN!r} column naming the list each case is on", row=1,
                         column=LIST_COLUMN, fix="add a 'list' column (e.g. hotline, advocates, ...)")
    missing = [c for c in identifiers if c.casefold() not in by_fold]
    if missing:
        raise InputError(path, f"identifier column(s) missing: {', '.join(missing)}", row=1,
                         column=missing[0],
                         fix="the columns named in prevalence.identifiers are needed to link lists")
    id_cols = [by_fold[c.casefold()] for c in identifiers]
    list_col = by_fold[LIST_COLUMN]
    strat_col = by_fold.get(stratum.casefold()) if stratum else None
    summary = CaseListSummary(rows=len(raw))
    summary.dropped_columns = [c for c in raw.columns if c not in (list_col, strat_col, *id_cols)]

    # List names -> configured names
    names_in = raw[list_col].str.strip()
    blank = (names_in == "").to_numpy()
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise InputError(path, "no list name", row=i + 2, column=list_col)
    found = sorted(names_in.unique().tolist())
    mapping = _match_lists(found, lists, path)
    unknown = [f for f in found if f not in mapping]
    if unknown:
        i = int(np.flatnonzero((names_in == unknown[0]).to_numpy())[0])
        known = ", ".join(n for n, _ in lists)
        raise InputError(path, f"the list name is not one of prevalence.lists ({known})", row=i + 2,
                         column=list_col, value=unknown[0],
                         fix="use the list names of the config, or add the list there; if the row is short, a "
                             "cell is missing and the others have moved left")
    present = set(mapping.values())  # a configured list with no records is left out, not a zero list
    list_names = [n for n, _ in lists if n in present] if lists else sorted(present)

    # Key each row; keep no identifier. Errors name row and column, never the value.
    keys: list[str] = []
    failed: tuple[int, str] | None = None
    for i, row in enumerate(raw[id_cols].itertuples(index=False, name=None)):
        try:
            keys.append(linkage_key(dict(zip(identifiers, row, strict=True)), secret))
        except LinkageError as exc:
            failed = (i, str(exc))
            break
        except LinkageSecretError as exc:
            raise InputError(path, str(exc), fix=_SECRET_FIX) from None
    if failed is not None:
        i, message = failed
        del raw
        if message.startswith("cannot read"):
            col = next((c for c in id_cols if _is_date_field(c)), None)
            raise InputError(path, "a date of birth cannot be read as a date", row=i + 2, column=col,
                             fix="write dates as YYYY-MM-DD (or MM/DD/YYYY)")
        raise InputError(path, "every identifier of the case is blank", row=i + 2,
                         fix="give at least one identifier; rows with none cannot be linked")
    records = pd.DataFrame({"list": names_in.map(mapping).to_numpy(), "key": keys})
    if strat_col is not None:
        strata = raw[strat_col].str.strip()
        blank = (strata == "").to_numpy()
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(path, f"no {stratum} given", row=i + 2, column=strat_col,
                             fix="give every case its stratum, or leave prevalence.stratum unset")
        if (strata.str.casefold() == ALL_STRATA).any():
            i = int(np.flatnonzero((strata.str.casefold() == ALL_STRATA).to_numpy())[0])
            raise InputError(path, f"{ALL_STRATA!r} is reserved for all cases together", row=i + 2,
                             column=strat_col)
        records["stratum"] = strata.to_numpy()
    del raw, names_in  # identifiers go out of scope here

    summary.within_list_duplicates = int(records.duplicated(subset=["list", "key"]).sum())
    summary.cases = int(records["key"].nunique())
    from .linkage import overlap_from_records

    try:
        table = overlap_from_records(records, lists=list_names,
                                     stratum_col="stratum" if strat_col is not None else None)
    except OverlapTableError as exc:
        raise InputError(path, str(exc), column=strat_col) from None
    return table, summary


# ----------------------------------------------------------------------------- a wave


@dataclass
class WaveLists:
    """The overlap table of a wave (``None`` when the wave has no case lists) and how it was made."""

    table: pd.DataFrame | None
    source: str = ""  # file name, or "" when there is none
    lists: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, object] = field(default_factory=dict)


def empty_overlap(lists: Sequence[str]) -> pd.DataFrame:
    table = pd.DataFrame(all_histories(len(lists)), columns=list(lists))
    table[COUNT_COLUMN] = 0
    return table


def read_wave_lists(
    folder: Path,
    *,
    identifiers: Sequence[str],
    lists: Sequence[tuple[str, str]] = (),
    stratum: str | None = None,
    limits: InputLimits | None = None,
) -> WaveLists:
    """Find and read the wave's case lists in ``folder`` (the overlap file wins if both exist).

    The file read is first checked to be a regular file of the folder within ``limits``
    (:func:`pipelines.input_files.check_input_file`): a link or FIFO in its place is refused."""
    from pipelines.input_files import check_input_file

    overlap, cases = folder / OVERLAP_FILE, folder / CASE_LISTS_FILE
    if not os.path.lexists(overlap) and not os.path.lexists(cases):
        return WaveLists(None, notes=[f"no case lists for this wave: neither {OVERLAP_FILE} nor "
                                      f"{CASE_LISTS_FILE} in {folder}; the prevalence tables are empty"])
    notes: list[str] = []
    if os.path.lexists(overlap):
        if os.path.lexists(cases):
            notes.append(f"both {OVERLAP_FILE} and {CASE_LISTS_FILE} are present; using {OVERLAP_FILE}")
        check_input_file(overlap, folder, limits)
        table = read_overlap_file(overlap, lists=lists, stratum=stratum, sanitize=True)
        meta: dict[str, object] = {"source": OVERLAP_FILE, "linkage": "none (aggregated table)"}
        source = OVERLAP_FILE
    else:
        check_input_file(cases, folder, limits)
        secret = linkage_secret_for(folder, cases)
        if secret.source == "demo":
            notes.append("synthetic wave: case lists keyed with the public DEMO linkage key "
                         f"(set {SECRET_ENV_VAR} to use your own)")
        table, summary = read_case_lists(cases, secret.key, identifiers=identifiers, lists=lists,
                                         stratum=stratum)
        if summary.dropped_columns:
            notes.append(f"columns not used and not kept: {', '.join(summary.dropped_columns)}")
        meta = {"source": CASE_LISTS_FILE, "linkage": f"HMAC-SHA256, {secret.source} key",
                "records": summary.rows, "within_list_duplicates": summary.within_list_duplicates,
                "distinct_cases": summary.cases}
        source = CASE_LISTS_FILE
    names = [c for c in table.columns if c not in ("stratum", COUNT_COLUMN)]
    configured = [n for n, _ in lists]
    absent = [n for n in configured if n not in names]
    if absent:
        notes.append(f"lists configured but not in {source}: {', '.join(absent)}")
    return WaveLists(table, source, names, notes, meta)
