"""Disclosure control for published tables: primary and complementary cell suppression.

Every published table goes through :func:`suppress`.

* **Primary suppression**: a cell whose unweighted count is below ``min_count`` (default 6) is
  suppressed.
* **Complementary suppression**: a suppressed cell must not be recoverable by subtraction from a
  published total.  Cells are grouped into *equations* "parts sum to a total": for a one-way table
  the levels and their total; for a two-way table every row (cells and row total) and every column
  (cells and column total), the margins included.  While some equation has exactly one suppressed
  member, the unsuppressed *part* of that equation with the smallest count is also suppressed (the
  total only when no part is left).  When every equation has 0 or at least 2 suppressed members a
  final linear-algebra audit checks that no suppressed count is determined by the published ones
  (in a two-way table suppressed cells can still be pinned down through chains of rows and
  columns); if one is, the smallest unsuppressed cell sharing an equation with it is suppressed
  and the procedure repeats.
* A total that is not in the table (e.g. published elsewhere) is treated as published: its parts
  still need 0 or at least 2 suppressed cells.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = ["derivable_cells", "suppress", "suppress_cells"]

PRIMARY = "primary"
COMPLEMENTARY = "complementary"


def _equations(sub: pd.DataFrame, row_col: str | None, col_col: str | None, total_label: Hashable) -> list[tuple[list[int], int | None]]:
    """Equations of a table as (positions of parts, position of the total or None if implicit)."""
    pos = np.arange(len(sub))
    if row_col is None:
        return [(pos.tolist(), None)]
    rows = sub[row_col].to_numpy()
    if col_col is None:
        is_total = rows == total_label
        totals = pos[is_total]
        if len(totals) > 1:
            raise ValueError("more than one total row in a one-way table group")
        return [(pos[~is_total].tolist(), int(totals[0]) if len(totals) else None)]
    cols = sub[col_col].to_numpy()
    key = {}
    for i, (r, c) in enumerate(zip(rows, cols)):
        if (r, c) in key:
            raise ValueError(f"duplicate cell ({r!r}, {c!r}) in a two-way table group")
        key[(r, c)] = i
    row_levels = list(dict.fromkeys(r for r in rows))
    col_levels = list(dict.fromkeys(c for c in cols))
    eqs: list[tuple[list[int], int | None]] = []
    for r in row_levels:  # each row, including the row of column totals
        parts = [key[(r, c)] for c in col_levels if c != total_label and (r, c) in key]
        if parts:
            eqs.append((parts, key.get((r, total_label))))
    for c in col_levels:  # each column, including the column of row totals
        parts = [key[(r, c)] for r in row_levels if r != total_label and (r, c) in key]
        if parts:
            eqs.append((parts, key.get((total_label, c))))
    return eqs


def derivable_cells(
    equations: Sequence[tuple[Sequence[int], int | None]], suppressed: np.ndarray, tol: float = 1e-9
) -> np.ndarray:
    """Which suppressed cells are uniquely determined by the published cells and the equations.

    Each equation says ``sum(parts) - total = 0`` (the total is known when ``None``).  A suppressed
    cell is determined iff it is zero on every vector of the null space of the equations restricted
    to the suppressed cells.  Returns a boolean array over all cells (False for published ones).
    """
    supp_idx = np.flatnonzero(suppressed)
    out = np.zeros(suppressed.shape[0], dtype=bool)
    if supp_idx.size == 0:
        return out
    col_of = {int(c): j for j, c in enumerate(supp_idx)}
    rows = []
    for parts, total in equations:
        row = np.zeros(supp_idx.size)
        for p in parts:
            if p in col_of:
                row[col_of[p]] += 1.0
        if total is not None and total in col_of:
            row[col_of[total]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return out
    a = np.vstack(rows)
    _, s, vt = np.linalg.svd(a)
    rank = int((s > tol * max(1.0, s.max())).sum())
    null = vt[rank:].T  # columns span the null space
    determined = np.linalg.norm(null, axis=1) < 1e-7 if null.size else np.ones(supp_idx.size, dtype=bool)
    out[supp_idx[determined]] = True
    return out


def _suppress_group(
    counts: np.ndarray, equations: list[tuple[list[int], int | None]], min_count: int, suppress_zeros: bool,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Reason per cell ('' / 'primary' / 'complementary') for one table.

    ``initial`` optionally gives reasons already decided (e.g. by an earlier pass); they are kept.
    """
    reason = np.full(counts.shape[0], "", dtype=object)
    primary = counts < min_count
    if not suppress_zeros:
        primary &= counts > 0
    reason[primary] = PRIMARY
    if initial is not None:
        given = np.asarray(initial, dtype=object)
        keep = (given != "") & (reason == "")
        reason[keep] = given[keep]
    order = np.lexsort((np.arange(counts.size), counts))  # smallest count first, then position
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)

    def supp() -> np.ndarray:
        return reason != ""

    for _ in range(10 * counts.size + 10):
        changed = True
        while changed:
            changed = False
            s = supp()
            for parts, total in equations:
                members = list(parts) + ([total] if total is not None else [])
                n_supp = int(s[members].sum())
                if n_supp != 1:
                    continue
                candidates = [p for p in parts if not s[p]]
                if not candidates and total is not None and not s[total]:
                    candidates = [total]
                if not candidates:
                    continue
                pick = min(candidates, key=lambda i: rank[i])
                reason[pick] = COMPLEMENTARY
                s[pick] = True
                changed = True
        s = supp()
        determined = derivable_cells(equations, s)
        if not determined.any():
            return reason
        k = int(np.flatnonzero(determined)[0])
        neighbours = set()
        for parts, total in equations:
            members = list(parts) + ([total] if total is not None else [])
            if k in members:
                neighbours.update(m for m in members if not s[m])
        if not neighbours:
            return reason  # everything around it is suppressed already
        pick = min(neighbours, key=lambda i: rank[i])
        reason[pick] = COMPLEMENTARY
    return reason


def suppress_cells(
    counts: Sequence[float] | np.ndarray,
    equations: Sequence[tuple[Sequence[int], int | None]],
    *,
    min_count: int = 6,
    suppress_zeros: bool = True,
    initial: Sequence[str] | np.ndarray | None = None,
) -> np.ndarray:
    """Primary and complementary suppression of cells linked by arbitrary additive equations.

    The engine behind :func:`suppress`, for tables whose structure is not a one- or two-way table
    (e.g. nested domains: counties that add up to county groups that add up to the total).
    ``counts`` are the cells' protected counts (a missing count is treated as 0, i.e. suppressed);
    each equation is ``(positions of the parts, position of their total or None when the total is
    published elsewhere)``; ``initial`` holds reasons decided earlier, which are kept. Returns the
    reason per cell: ``"primary"``, ``"complementary"``, an ``initial`` reason, or ``""``.
    """
    c = np.asarray(counts, dtype=float)
    c = np.where(np.isnan(c), 0.0, c)
    eqs = [([int(p) for p in parts], None if total is None else int(total)) for parts, total in equations]
    return _suppress_group(c, eqs, min_count, suppress_zeros, None if initial is None else np.asarray(initial, dtype=object))


def suppress(
    table: pd.DataFrame,
    count_col: str = "n",
    group_cols: Sequence[str] = (),
    *,
    row_col: str | None = None,
    col_col: str | None = None,
    total_label: Hashable = "Total",
    min_count: int = 6,
    value_cols: Sequence[str] | None = None,
    suppress_zeros: bool = True,
) -> pd.DataFrame:
    """Apply primary and complementary suppression to a published table.

    Parameters
    ----------
    table:
        One row per published cell, with its unweighted count in ``count_col``.
    group_cols:
        Columns identifying separate tables stacked in ``table`` (e.g. indicator, wave); each
        group is protected on its own.
    row_col, col_col:
        The category columns.  With neither, the rows of a group are the parts of a total
        published elsewhere.  With ``row_col`` only, a one-way table whose row labelled
        ``total_label`` (if present) is the total.  With both, a two-way table whose
        ``total_label`` row/column hold the margins (absent margins count as published).
    min_count:
        Cells with an unweighted count below this are suppressed (primary).
    value_cols:
        Columns blanked (set to NaN) in suppressed rows; by default ``count_col`` and every other
        numeric column that is not a key column.
    suppress_zeros:
        Whether zero counts are below the threshold too (default True; set False when zeros are
        structural and publishable).

    Returns a copy with boolean ``suppressed`` and ``suppression_reason``
    (``"primary"``/``"complementary"``/``""``) columns and the value columns blanked.
    """
    if count_col not in table.columns:
        raise KeyError(f"count column {count_col!r} not in table")
    counts_all = table[count_col].to_numpy(dtype=float)
    if np.isnan(counts_all).any():
        raise ValueError("counts must not be missing")
    keys = list(group_cols) + [c for c in (row_col, col_col) if c is not None]
    if value_cols is None:
        value_cols = [count_col] + [
            c for c in table.columns
            if c != count_col and c not in keys and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])
        ]
    out = table.copy()
    reasons = np.full(len(table), "", dtype=object)
    positions = np.arange(len(table))
    if group_cols:
        grouped = [np.asarray(ix) for ix in table.groupby(list(group_cols), sort=False, dropna=False).indices.values()]
    else:
        grouped = [positions]
    for idx in grouped:
        sub = table.iloc[idx]
        eqs = _equations(sub, row_col, col_col, total_label)
        reasons[idx] = _suppress_group(counts_all[idx], eqs, min_count, suppress_zeros)
    suppressed = reasons != ""
    out["suppressed"] = suppressed
    out["suppression_reason"] = reasons.astype(str)
    for col in value_cols:
        if suppressed.any():
            out[col] = out[col].astype(float)
            out.loc[suppressed, col] = np.nan
    return out
