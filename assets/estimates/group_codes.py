"""Numbering the groups of one or more columns: R's ``rowsum`` and the cross-classification codes the
design, its calibration and the domain estimators share.

Everything here is vectorised over rows (``numpy.bincount``, ``pandas.factorize``), so a million-row
design costs a few passes over the data, never a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["combine_codes"]


def _rowsum(x: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Column sums of ``x`` (n x p) within groups ``index`` (0..size-1): R's ``rowsum``."""
    out = np.empty((size, x.shape[1]), dtype=float)
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(index, weights=x[:, j], minlength=size)
    return out


def _has_missing(values: np.ndarray) -> bool:
    return bool(pd.isna(pd.Series(values)).any()) if values.dtype == object else bool(
        pd.isna(values).any()
    )


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    if (codes < 0).any():
        raise ValueError("missing values are not allowed here")
    return codes.astype(np.int64), np.asarray(uniques)


def _joint_codes(data: pd.DataFrame, variables: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Codes of the cross-classification of ``variables`` and the level tuple of each code."""
    codes = np.zeros(len(data), dtype=np.int64)
    parts: list[np.ndarray] = []
    for var in variables:
        if var not in data.columns:
            raise KeyError(f"calibration variable {var!r} is not in the data")
        values = data[var].to_numpy()
        if _has_missing(values):
            raise ValueError(f"calibration variable {var!r} has missing values")
        c, u = _factorize(values)
        codes = codes * len(u) + c
        parts.append(u)
    # dense codes in the order of the sorted joint codes (as np.unique would number them), by hashing
    if len(parts) == 1:
        dense = codes  # one variable: its sorted factorisation is dense already
    else:
        dense, _ = pd.factorize(codes, sort=True)
        dense = dense.astype(np.int64)
    firsts = np.flatnonzero(~pd.Series(dense).duplicated().to_numpy())
    first = np.empty(len(firsts), dtype=np.int64)
    first[dense[firsts]] = firsts  # each code's first row
    levels: list[tuple] = []
    for row in first:
        levels.append(tuple(data[var].iloc[row] for var in variables))
    return dense, levels


def combine_codes(arrays: Sequence[np.ndarray], sizes: Sequence[int | None] | None = None) -> tuple[np.ndarray, int]:
    """Dense codes (0..k-1, numbered in order of first appearance) of the cross-classification of
    several arrays, and k.

    An array with a size given is taken as codes already (0..size-1); others are factorised.
    """
    code, size = _mixed_radix(arrays, sizes)
    if code is None:
        return np.zeros(0, np.int64), 0
    dense, first = _first_appearance(code, size)
    return dense, len(first)


#: a mixed-radix code space up to this size is numbered with an array over it rather than by hashing
_DIRECT_NUMBERING = 1 << 21


def _first_appearance(code: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``code`` (values in 0..size-1) renumbered 0..k-1 in order of first appearance (as
    ``pd.factorize`` numbers them), and the row where each new code first appears."""
    n = len(code)
    if size <= max(_DIRECT_NUMBERING, 2 * n) and (n == 0 or (code.min() >= 0 and code.max() < size)):
        first_row = np.full(size, n, dtype=np.int64)
        np.minimum.at(first_row, code, np.arange(n, dtype=np.int64))
        first = np.sort(first_row[first_row < n])
        number = np.empty(size, dtype=np.int64)
        number[code[first]] = np.arange(len(first), dtype=np.int64)
        return number[code], first
    dense, _ = pd.factorize(code)
    dense = dense.astype(np.int64)
    return dense, np.flatnonzero(~pd.Series(dense).duplicated().to_numpy())


def _mixed_radix(arrays: Sequence[np.ndarray], sizes: Sequence[int | None] | None = None) -> tuple[np.ndarray | None, int]:
    """An int64 code of the cross-classification of ``arrays`` (one code per distinct combination,
    not dense) and the size of its code space (see :func:`combine_codes`)."""
    code: np.ndarray | None = None
    k = 1
    for i, a in enumerate(arrays):
        size = sizes[i] if sizes is not None else None
        if size is None:
            c, u = pd.factorize(np.asarray(a), use_na_sentinel=False)
            c, size = c.astype(np.int64), max(len(u), 1)
        else:
            c = np.asarray(a, dtype=np.int64)
        if code is None:
            code, k = c, size
            continue
        if k * size >= 2**62:  # keep the mixed-radix code within int64
            code, u = pd.factorize(code)
            k = len(u)
        code = code * size + c
        k = k * size
    return code, k
