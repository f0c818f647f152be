"""Overlap (capture-history) tables: validation, completion, building from records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.prevalence.linkage import overlap_from_records
from assets.prevalence.overlap import (
    OverlapTableError,
    all_histories,
    complete_overlap_table,
    drop_list,
    read_overlap_csv,
    split_strata,
    validate_overlap_table,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mse"


def _table(rows: list[list[int]], names: str = "ABC") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*names, "count"])


def test_complete_western_keeps_all_histories_with_zeros() -> None:
    raw = pd.read_csv(FIXTURES / "western_5lists.csv")
    full = complete_overlap_table(raw)
    assert list(full.columns) == ["A", "B", "C", "D", "E", "count"]
    assert len(full) == 2**5 - 1 == 31
    assert full["count"].sum() == 345
    assert (full["count"] == 0).sum() == 31 - len(raw)
    hist = full[list("ABCDE")].to_numpy()
    assert not (hist.sum(axis=1) == 0).any()
    assert len({tuple(h) for h in hist}) == 31
    # every raw row survives with its count
    merged = raw.merge(full, on=list("ABCDE"), suffixes=("_raw", "_full"))
    assert (merged["count_raw"] == merged["count_full"]).all() and len(merged) == len(raw)
    # a combination absent from the raw file is an explicit zero
    ae_only = full[(full.A == 1) & (full.E == 1) & (full[list("BCD")].sum(axis=1) == 0)]
    assert ae_only["count"].tolist() == [5]
    abcde = full[full[list("ABCDE")].sum(axis=1) == 5]
    assert abcde["count"].tolist() == [0]


def test_read_overlap_csv_completes() -> None:
    hiv = read_overlap_csv(FIXTURES / "hiv_4lists.csv")
    assert len(hiv) == 15 and hiv["count"].sum() == 1896


def test_all_histories_order() -> None:
    h = all_histories(3)
    assert h.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1],
                          [1, 1, 1]]


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (_table([[1, 0, 2, 5], [0, 1, 0, 3]]), r"'C'.*0/1"),
        (_table([[1, 0, 0, -5], [0, 1, 0, 3]]), r"negative"),
        (_table([[0, 0, 0, 5], [0, 1, 0, 3]]), r"all-zero"),
        (_table([[1, 1, 0, 5], [1, 1, 0, 3]]), r"duplicate capture histories.*110"),
        (pd.DataFrame({"A": [1], "count": [3]}), r"at least 2 lists"),
        (pd.DataFrame({"A": [1, 0], "B": [0, 1]}), r"no 'count' column"),
        (_table([[1, 0, 0, 2.5], [0, 1, 0, 3]]), r"whole numbers"),
        (_table([[1, 0, None, 2], [0, 1, 0, 3]]), r"missing"),
    ],
)
def test_validation_errors_name_the_problem(table: pd.DataFrame, match: str) -> None:
    with pytest.raises(OverlapTableError, match=match):
        validate_overlap_table(table)


def test_overlap_table_error_is_value_error() -> None:
    assert issubclass(OverlapTableError, ValueError)
    with pytest.raises(ValueError):
        complete_overlap_table(_table([[1, 0, 7, 1]]))


def test_validate_accepts_bool_and_float_01() -> None:
    t = pd.DataFrame({"A": [True, False], "B": [0.0, 1.0], "count": [2.0, 3]})
    out = validate_overlap_table(t)
    assert out.dtypes.tolist() == [np.int64] * 3
    assert out.to_numpy().tolist() == [[1, 0, 2], [0, 1, 3]]


def test_drop_list_moves_single_list_cases_to_unseen() -> None:
    west = read_overlap_csv(FIXTURES / "western_5lists.csv")
    sub = drop_list(west, "E")
    assert list(sub.columns) == ["A", "B", "C", "D", "count"]
    assert len(sub) == 15
    assert sub["count"].sum() == 345 - 21  # the 21 cases only on E are no longer seen
    # A+E (5) and A+C+E (1) collapse onto A-only and A+C
    a_only = sub[(sub.A == 1) & (sub[["B", "C", "D"]].sum(axis=1) == 0)]["count"].item()
    assert a_only == 52 + 5


def test_overlap_from_records_dedupes_within_list() -> None:
    records = pd.DataFrame(
        {
            "list": ["A", "A", "A", "B", "B", "C", "C", "C"],
            "key": ["k1", "k1", "k2", "k1", "k3", "k3", "k4", "k4"],
        }
    )
    table = overlap_from_records(records)
    assert list(table.columns) == ["A", "B", "C", "count"]
    counts = {tuple(r[:3]): r[3] for r in table.to_numpy().tolist()}
    assert counts[(1, 1, 0)] == 1  # k1 (twice on A) counted once, on A and B
    assert counts[(1, 0, 0)] == 1  # k2
    assert counts[(0, 1, 1)] == 1  # k3
    assert counts[(0, 0, 1)] == 1  # k4 twice on C
    assert table["count"].sum() == 4
    assert len(table) == 7


def test_overlap_from_records_declared_empty_list_and_errors() -> None:
    records = pd.DataFrame({"list": ["A", "B"], "key": ["k1", "k1"]})
    t = overlap_from_records(records, lists=["A", "B", "C"])
    assert list(t.columns) == ["A", "B", "C", "count"] and t["C"].mul(t["count"]).sum() == 0
    with pytest.raises(OverlapTableError, match="not in `lists`"):
        overlap_from_records(records, lists=["A"])
    with pytest.raises(OverlapTableError, match="at least 2 lists"):
        overlap_from_records(pd.DataFrame({"list": ["A"], "key": ["k"]}))
    with pytest.raises(OverlapTableError, match="missing"):
        overlap_from_records(pd.DataFrame({"list": ["A", "B"], "key": ["k", None]}))


def test_overlap_from_records_stratified() -> None:
    records = pd.DataFrame(
        {
            "list": ["A", "B", "A", "B", "B"],
            "key": ["k1", "k1", "k2", "k3", "k3"],
            "stratum": ["adult", "adult", "minor", "minor", "minor"],
        }
    )
    table = overlap_from_records(records)
    assert list(table.columns) == ["stratum", "A", "B", "count"]
    parts = split_strata(table)
    assert set(parts) == {"adult", "minor"}
    adult = {tuple(r[:2]): r[2] for r in parts["adult"].to_numpy().tolist()}
    minor = {tuple(r[:2]): r[2] for r in parts["minor"].to_numpy().tolist()}
    assert adult == {(1, 0): 0, (0, 1): 0, (1, 1): 1}
    assert minor == {(1, 0): 1, (0, 1): 1, (1, 1): 0}
    # a person may not change stratum between lists
    bad = records.assign(stratum=["adult", "minor", "minor", "minor", "minor"])
    with pytest.raises(OverlapTableError, match="different 'stratum'"):
        overlap_from_records(bad)
    # ignoring the stratum column gives the pooled table
    pooled = overlap_from_records(records, stratum_col=None)
    assert pooled["count"].sum() == 3
