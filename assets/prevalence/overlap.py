"""Aggregated overlap tables for multiple systems estimation (MSE).

An *overlap table* (also called a capture-history table) has one 0/1 column per list and a
``count`` column: the number of distinct cases seen on exactly that combination of lists.

The log-linear models in :mod:`assets.prevalence.mse` need every one of the ``2**k - 1`` observable
capture histories to be present, with absent combinations kept as explicit zero cells: dropping
zero cells changes the estimate. :func:`complete_overlap_table` does that completion;
:func:`validate_overlap_table` checks a table supplied by a user and raises
:class:`OverlapTableError` (a :class:`ValueError`) naming the problem.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from os import PathLike

import numpy as np
import pandas as pd

COUNT_COLUMN = "count"
STRATUM_COLUMN = "stratum"

__all__ = [
    "COUNT_COLUMN",
    "STRATUM_COLUMN",
    "OverlapTableError",
    "all_histories",
    "complete_overlap_table",
    "drop_list",
    "list_columns",
    "read_overlap_csv",
    "split_strata",
    "validate_overlap_table",
]


class OverlapTableError(ValueError):
    """An overlap (capture-history) table is malformed; the message names the problem."""


def list_columns(table: pd.DataFrame, *, exclude: Sequence[str] = (STRATUM_COLUMN,)) -> list[str]:
    """Names of the list columns of ``table``: every column except ``count`` (and ``exclude``)."""
    return [str(c) for c in table.columns if c != COUNT_COLUMN and c not in exclude]


def all_histories(k: int) -> np.ndarray:
    """All ``2**k - 1`` observable capture histories as a ``(2**k - 1, k)`` 0/1 integer array.

    Rows are ordered by the number of lists a case is on, then with earlier lists first
    (``1,0,0`` before ``0,1,0``), the order SparseMSE's ``tidylists`` uses.
    """
    if k < 1:
        raise OverlapTableError(f"need at least one list, got {k}")
    rows = [h for h in itertools.product((0, 1), repeat=k) if any(h)]
    rows.sort(key=lambda h: (sum(h), tuple(-v for v in h)))
    return np.asarray(rows, dtype=np.int64)


def _as_binary(series: pd.Series, name: str) -> pd.Series:
    if series.isna().any():
        raise OverlapTableError(f"list column {name!r} has missing values; use 0 or 1")
    if series.dtype == bool:
        return series.astype(np.int64)
    numeric = pd.to_numeric(series, errors="coerce")
    bad = numeric.isna() | ~numeric.isin([0, 1])
    if bad.any():
        shown = sorted({repr(v) for v in series[bad].tolist()})[:5]
        raise OverlapTableError(
            f"list column {name!r} must contain only 0/1 values; found {', '.join(shown)}"
        )
    return numeric.astype(np.int64)


def _as_counts(series: pd.Series) -> pd.Series:
    if series.isna().any():
        rows = [int(i) for i in np.flatnonzero(series.isna().to_numpy())][:5]
        raise OverlapTableError(f"'count' has missing values (rows {rows})")
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.isna().any():
        shown = sorted({repr(v) for v in series[numeric.isna()].tolist()})[:5]
        raise OverlapTableError(f"'count' must be numeric; found {', '.join(shown)}")
    values = numeric.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise OverlapTableError("'count' must be finite")
    negative = values < 0
    if negative.any():
        rows = [int(i) for i in np.flatnonzero(negative)][:5]
        raise OverlapTableError(f"'count' must not be negative; negative counts in rows {rows}")
    if not np.all(values == np.round(values)):
        raise OverlapTableError("'count' must hold whole numbers of cases")
    return pd.Series(values.astype(np.int64), index=series.index, name=COUNT_COLUMN)


def validate_overlap_table(
    table: pd.DataFrame, lists: Sequence[str] | None = None
) -> pd.DataFrame:
    """Check an aggregated overlap table and return a clean copy (integer columns, same rows).

    Parameters
    ----------
    table
        One 0/1 column per list plus ``count``.
    lists
        The list columns, in order. Default: every column except ``count``.

    Raises
    ------
    OverlapTableError
        If ``count`` is missing, there are fewer than 2 lists, a list column holds anything other
        than 0/1, a count is negative, missing or fractional, the all-zero history (cases seen on no
        list, which cannot be observed) is present, or a capture history appears more than once.
    """
    if not isinstance(table, pd.DataFrame):
        raise OverlapTableError(f"expected a pandas DataFrame, got {type(table).__name__}")
    if COUNT_COLUMN not in table.columns:
        raise OverlapTableError("overlap table has no 'count' column")
    if table.columns.duplicated().any():
        dup = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
        raise OverlapTableError(f"duplicate column names: {dup}")
    names = [str(c) for c in lists] if lists is not None else list_columns(table, exclude=())
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise OverlapTableError(f"list columns not found in table: {missing}")
    if len(names) != len(set(names)):
        raise OverlapTableError(f"list names repeat: {names}")
    if len(names) < 2:
        raise OverlapTableError(
            f"multiple systems estimation needs at least 2 lists; got {len(names)} ({names})"
        )
    if len(table) == 0:
        raise OverlapTableError("overlap table has no rows")

    out = pd.DataFrame({name: _as_binary(table[name], name) for name in names})
    out[COUNT_COLUMN] = _as_counts(table[COUNT_COLUMN])
    out = out.reset_index(drop=True)

    hist = out[names].to_numpy()
    zero_rows = np.flatnonzero(hist.sum(axis=1) == 0)
    if zero_rows.size:
        raise OverlapTableError(
            "the all-zero capture history (cases on no list) cannot be observed and must not be "
            f"in the table (row {int(zero_rows[0])}); the model estimates it"
        )
    dup_mask = out.duplicated(subset=names, keep=False)
    if dup_mask.any():
        dups = sorted({"".join(str(v) for v in row) for row in hist[dup_mask.to_numpy()]})[:5]
        raise OverlapTableError(
            f"duplicate capture histories (aggregate them first): {dups} over lists {names}"
        )
    return out


def complete_overlap_table(
    table: pd.DataFrame, lists: Sequence[str] | None = None
) -> pd.DataFrame:
    """Validate ``table`` and return all ``2**k - 1`` observable histories, absent ones with count 0.

    Row order is that of :func:`all_histories`; columns are the lists (in order) then ``count``.
    """
    clean = validate_overlap_table(table, lists)
    names = list_columns(clean, exclude=())
    hist = all_histories(len(names))
    weights = 1 << np.arange(len(names))[::-1]
    index = {int(code): i for i, code in enumerate(hist @ weights)}
    counts = np.zeros(len(hist), dtype=np.int64)
    codes = clean[names].to_numpy() @ weights
    for code, c in zip(codes, clean[COUNT_COLUMN].to_numpy(), strict=True):
        counts[index[int(code)]] += int(c)
    out = pd.DataFrame(hist, columns=names)
    out[COUNT_COLUMN] = counts
    return out


def read_overlap_csv(path: str | PathLike[str], lists: Sequence[str] | None = None) -> pd.DataFrame:
    """Read an aggregated overlap table from CSV, validate it and complete it to all histories."""
    try:
        raw = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise OverlapTableError(f"cannot read overlap table {path!s}: {exc}") from exc
    return complete_overlap_table(raw, lists)


def drop_list(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Overlap table without list ``name``: cases seen only on ``name`` become unobserved.

    Used for leave-one-list-out sensitivity analysis; the result is completed.
    """
    names = list_columns(table, exclude=())
    if name not in names:
        raise OverlapTableError(f"list {name!r} not in table lists {names}")
    keep = [c for c in names if c != name]
    if len(keep) < 2:
        raise OverlapTableError(f"dropping {name!r} would leave fewer than 2 lists")
    clean = validate_overlap_table(table, names)
    agg = clean.groupby(keep, as_index=False)[COUNT_COLUMN].sum()
    agg = agg[agg[keep].sum(axis=1) > 0]
    if agg.empty:  # every case was only on the dropped list
        out = pd.DataFrame(all_histories(len(keep)), columns=keep)
        out[COUNT_COLUMN] = 0
        return out
    return complete_overlap_table(agg, keep)


def split_strata(
    table: pd.DataFrame, stratum_col: str = STRATUM_COLUMN
) -> Mapping[object, pd.DataFrame]:
    """Split a stratified overlap table (from :func:`assets.prevalence.linkage.overlap_from_records`)
    into one completed table per stratum, in order of first appearance."""
    if stratum_col not in table.columns:
        raise OverlapTableError(f"no stratum column {stratum_col!r} in table")
    names = list_columns(table, exclude=(stratum_col,))
    return {
        key: complete_overlap_table(group.drop(columns=[stratum_col]), names)
        for key, group in table.groupby(stratum_col, sort=False)
    }
