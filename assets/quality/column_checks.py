"""Column expectations evaluated per distinct value, with the result Great Expectations would report.

A values-in-set, not-null or unique expectation on one column (no ``row_condition``) depends only on
the column's distinct values and where each occurs: the column is factorised once (text columns
arrive as categories already, so that is cheap), the test runs on the few distinct values, and the
failing rows are the rows whose value failed. The result dict is built the way GX 1.x builds it for
the pandas engine (``ColumnMapExpectation._validate`` / ``_format_map_output``: counts, the
percentage of non-null rows, ``mostly``, failing row numbers in row order), so the outcome is the
one GX would give; ``tests/unit/test_quality_column_checks.py`` compares the two on awkward data.
Values-between on a plain int64/float64 column with numeric bounds is GX's own vectorised comparison.

Anything else (other expectation types, a ``row_condition``, a column GX would reject) goes to GX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assets.quality.suites import Check

#: expectation types evaluated here (when the check has no row_condition)
NATIVE_TYPES = frozenset({"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_null",
                          "expect_column_values_to_be_unique", "expect_column_values_to_be_between"})


@dataclass
class NativeResult:
    """What GX's validation result carries that the outcome reads (``success``, ``result``)."""

    success: bool
    result: dict[str, Any]
    exception_info: None = None


def can_evaluate(check: Check) -> bool:
    """Whether ``check`` is one of the column expectations evaluated per distinct value here."""
    k = check.kwargs
    return (check.kind == "expectation" and check.type in NATIVE_TYPES and isinstance(k.get("column"), str)
            and k.get("row_condition") is None
            and set(k) <= {"column", "value_set", "mostly", "row_condition", "condition_parser", "min_value",
                           "max_value", "strict_min", "strict_max"})


def _factorize(values: Any) -> tuple[np.ndarray, Any]:
    """Codes (-1: blank) and distinct values; a categorical's own codes and each of its categories."""
    if isinstance(values, pd.Categorical):
        every = pd.Categorical.from_codes(np.arange(len(values.categories)), dtype=values.dtype)
        return values.codes, every
    return pd.factorize(values, use_na_sentinel=True)


def _unexpected_in_set(values: Any, value_set: Any) -> tuple[np.ndarray, np.ndarray]:
    """(null mask, unexpected mask) of values-in-set: ``isin`` on the distinct non-null values."""
    codes, uniques = _factorize(values)
    null = codes < 0
    if value_set is None:  # GX: vacuously true
        return null, np.zeros(len(codes), dtype=bool)
    ok = pd.Series(uniques).isin(value_set).to_numpy(dtype=bool)
    bad_code = np.append(~ok, False)  # code -1 (null) maps to the last entry: never unexpected
    return null, bad_code[codes]


def _unexpected_duplicated(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(null mask, unexpected mask) of uniqueness: non-null values that occur more than once."""
    codes, uniques = _factorize(values)
    null = codes < 0
    counts = np.bincount(codes[~null], minlength=len(uniques))
    repeated = np.append(counts > 1, False)
    return null, repeated[codes]


def _number(x: Any) -> bool:
    return x is None or (isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool))


def _unexpected_outside(values: Any, expectation: Any) -> tuple[np.ndarray, np.ndarray]:
    """(null mask, unexpected mask) of values-between on a plain int64 or float64 column with numeric
    bounds (GX's vectorised comparison of the non-null values; anything else is left to GX)."""
    values = np.asarray(values) if isinstance(values, np.ndarray) else None
    lo, hi = expectation.min_value, expectation.max_value
    strict_min, strict_max = expectation.strict_min, expectation.strict_max
    if values is None or values.dtype not in (np.dtype("int64"), np.dtype("float64")):
        raise ValueError("not a plain numeric column")
    if not (_number(lo) and _number(hi)) or (lo is None and hi is None) or (
            lo is not None and hi is not None and lo > hi):
        raise ValueError("bounds GX checks itself")
    if not all(isinstance(f, (bool, type(None))) for f in (strict_min, strict_max)):
        raise ValueError("a suite parameter")
    null = np.asarray(pd.isna(values), dtype=bool)
    ok = np.ones(len(values), dtype=bool)
    if lo is not None:
        ok &= (lo < values) if strict_min else (lo <= values)
    if hi is not None:
        ok &= (values < hi) if strict_max else (values <= hi)
    return null, ~null & ~ok


def _map_result(success: bool, element_count: int, nonnull_count: int | None, unexpected: np.ndarray,
                ids: np.ndarray, all_rows: bool, examples: int) -> dict[str, Any]:
    """The ``result`` dict of GX's ``_format_map_output`` (the keys the outcome reads)."""
    unexpected_count = int(unexpected.sum())
    percent = None
    if element_count > 0:
        total = unexpected_count / element_count * 100
        if nonnull_count is None:
            percent = total
        elif nonnull_count > 0:
            percent = unexpected_count / nonnull_count * 100
    rows = ids[unexpected].tolist()
    result: dict[str, Any] = {"element_count": element_count, "unexpected_count": unexpected_count,
                              "unexpected_percent": percent, "partial_unexpected_index_list": rows[:examples]}
    if all_rows:
        result["unexpected_index_list"] = rows
    return result


def evaluate(check: Check, expectation: Any, values: Any, ids: np.ndarray, all_rows: bool,
             examples: int) -> NativeResult:
    """GX's result for ``check`` (see :func:`can_evaluate`) on one column's ``values`` (rows ``ids``);
    ``expectation`` is the GX expectation built from it (its validated ``mostly`` and ``value_set``)."""
    mostly = getattr(expectation, "mostly", None)
    mostly = 1.0 if mostly is None else mostly
    if isinstance(values, pd.arrays.NumpyExtensionArray):  # a plain column as the frame holds it
        values = values.to_numpy()
    n = len(values)
    if check.type == "expect_column_values_to_not_be_null":
        unexpected = np.asarray(pd.isna(values), dtype=bool)
        k = int(unexpected.sum())
        success = True if n == 0 else (n - k) / n >= mostly
        return NativeResult(success, _map_result(success, n, None, unexpected, ids, all_rows, examples))
    if check.type == "expect_column_values_to_be_in_set":
        value_set = expectation.value_set
        if isinstance(value_set, dict):  # a suite parameter: GX resolves it
            raise ValueError("value_set is a suite parameter")
        null, unexpected = _unexpected_in_set(values, value_set)
    elif check.type == "expect_column_values_to_be_unique":
        null, unexpected = _unexpected_duplicated(values)
    elif check.type == "expect_column_values_to_be_between":
        null, unexpected = _unexpected_outside(values, expectation)
    else:
        raise ValueError(f"not evaluated per distinct value: {check.type}")
    nonnull = n - int(null.sum())
    k = int(unexpected.sum())
    if n == 0 or nonnull == 0:
        success = True
    else:
        success = (float(nonnull) - float(k)) / float(nonnull) >= mostly
    return NativeResult(success, _map_result(success, n, nonnull, unexpected, ids, all_rows, examples))
