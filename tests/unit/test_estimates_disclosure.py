"""Primary and complementary cell suppression (assets/estimates/disclosure.py).

The key property is checked independently of the implementation: for every suppressed cell a
linear program finds its smallest and largest value consistent with the published cells and the
table's additivity; a cell is disclosed if both coincide.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from assets.estimates.disclosure import suppress

TOTAL = "Total"


def one_way(counts: dict[str, int], with_total: bool = True) -> pd.DataFrame:
    total = sum(counts.values())
    rows = [{"level": k, "n": v, "pct": 100 * v / total if total else 0.0} for k, v in counts.items()]
    if with_total:
        rows.append({"level": TOTAL, "n": sum(counts.values()), "pct": 100.0})
    return pd.DataFrame(rows)


def two_way(cells: np.ndarray) -> pd.DataFrame:
    r, c = cells.shape
    rows = []
    for i in range(r + 1):
        for j in range(c + 1):
            row = f"r{i}" if i < r else TOTAL
            col = f"c{j}" if j < c else TOTAL
            if i < r and j < c:
                n = cells[i, j]
            elif i < r:
                n = cells[i].sum()
            elif j < c:
                n = cells[:, j].sum()
            else:
                n = cells.sum()
            rows.append({"row": row, "col": col, "n": int(n), "estimate": float(n) / 7.0})
    return pd.DataFrame(rows)


def equations_two_way(df: pd.DataFrame) -> list[tuple[list[int], int]]:
    key = {(r, c): i for i, (r, c) in enumerate(zip(df["row"], df["col"]))}
    rows = sorted({r for r in df["row"] if r != TOTAL})
    cols = sorted({c for c in df["col"] if c != TOTAL})
    eqs = []
    for r in rows + [TOTAL]:
        eqs.append(([key[(r, c)] for c in cols], key[(r, TOTAL)]))
    for c in cols + [TOTAL]:
        eqs.append(([key[(r, c)] for r in rows], key[(TOTAL, c)]))
    return eqs


def disclosed(original: pd.DataFrame, published: pd.DataFrame, eqs) -> list[int]:
    """Suppressed cells whose value is pinned down by the published ones (LP min == max)."""
    supp = np.flatnonzero(published["suppressed"].to_numpy())
    if supp.size == 0:
        return []
    col = {int(k): j for j, k in enumerate(supp)}
    known = original["n"].to_numpy(dtype=float)
    a_eq, b_eq = [], []
    for parts, total in eqs:
        row = np.zeros(supp.size)
        rhs = 0.0
        for p in parts:
            if p in col:
                row[col[p]] += 1
            else:
                rhs -= known[p]
        if total is not None:
            if total in col:
                row[col[total]] -= 1
            else:
                rhs += known[total]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    out = []
    bounds = [(-1e6, 1e6)] * supp.size
    for j, cell in enumerate(supp):
        c = np.zeros(supp.size)
        c[j] = 1
        lo = linprog(c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
        assert lo.status == 0 and hi.status == 0
        if -hi.fun - lo.fun < 1e-6:
            out.append(int(cell))
    return out


# ---------------------------------------------------------------------------------------------
# one-way tables
# ---------------------------------------------------------------------------------------------


def test_one_way_single_small_cell_gets_a_complement():
    t = one_way({"A": 40, "B": 3, "C": 12, "D": 9})
    out = suppress(t, row_col="level")
    reasons = dict(zip(out["level"], out["suppression_reason"]))
    assert reasons == {"A": "", "B": "primary", "C": "", "D": "complementary", TOTAL: ""}
    # the published figures no longer determine B: Total - A - C = B + D = 12
    assert out["n"].isna().sum() == 2 and out["pct"].isna().sum() == 2
    assert out.loc[out["level"] == TOTAL, "n"].item() == 64
    assert disclosed(t, out, [([0, 1, 2, 3], 4)]) == []


def test_one_way_two_small_cells_need_no_complement():
    t = one_way({"A": 40, "B": 3, "C": 12, "D": 2})
    out = suppress(t, row_col="level")
    assert list(out["suppression_reason"]) == ["", "primary", "", "primary", ""]


def test_one_way_nothing_small():
    out = suppress(one_way({"A": 40, "B": 30}), row_col="level")
    assert not out["suppressed"].any() and out["n"].notna().all()


def test_one_way_total_published_elsewhere():
    t = one_way({"A": 40, "B": 3, "C": 12}, with_total=False)
    out = suppress(t)
    assert list(out["suppression_reason"]) == ["", "primary", "complementary"]


def test_small_total_suppresses_everything():
    out = suppress(one_way({"A": 2, "B": 3}), row_col="level")
    assert out["suppressed"].all()


def test_groups_are_protected_separately():
    t = pd.concat([one_way({"A": 40, "B": 3, "C": 12}).assign(q="q1"),
                   one_way({"A": 40, "B": 30, "C": 12}).assign(q="q2")], ignore_index=True)
    out = suppress(t, group_cols=["q"], row_col="level")
    assert out.loc[out["q"] == "q1", "suppressed"].sum() == 2
    assert out.loc[out["q"] == "q2", "suppressed"].sum() == 0


def test_min_count_and_zero_options():
    t = one_way({"A": 40, "B": 0, "C": 0, "D": 7})
    assert list(suppress(t, row_col="level")["suppression_reason"]) == ["", "primary", "primary", "", ""]
    assert not suppress(t, row_col="level", suppress_zeros=False)["suppressed"].any()
    assert suppress(t, row_col="level", min_count=8)["suppressed"].sum() == 3


def test_input_is_not_modified_and_count_must_exist():
    t = one_way({"A": 40, "B": 3, "C": 12})
    before = t.copy()
    suppress(t, row_col="level")
    pd.testing.assert_frame_equal(t, before)
    with pytest.raises(KeyError):
        suppress(t, count_col="count")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8))
def test_one_way_property_no_lone_suppressed_cell(counts):
    t = one_way({f"L{i}": v for i, v in enumerate(counts)})
    out = suppress(t, row_col="level")
    n_supp = int(out["suppressed"].sum())
    assert n_supp != 1
    assert (out.loc[t["n"] < 6, "suppressed"]).all()
    assert disclosed(t, out, [(list(range(len(counts))), len(counts))]) == []


# ---------------------------------------------------------------------------------------------
# two-way tables
# ---------------------------------------------------------------------------------------------


def _row_col_counts(out: pd.DataFrame) -> list[int]:
    counts = []
    for col in ("row", "col"):
        for _, g in out.groupby(col):
            counts.append(int(g["suppressed"].sum()))
    return counts


def test_two_way_classic_example():
    cells = np.array([[20, 3, 15], [18, 25, 30], [12, 22, 9]])
    t = two_way(cells)
    out = suppress(t, row_col="row", col_col="col")
    assert all(k == 0 or k >= 2 for k in _row_col_counts(out))
    assert disclosed(t, out, equations_two_way(t)) == []
    primary = out["suppression_reason"] == "primary"
    assert list(out.loc[primary, ["row", "col"]].itertuples(index=False, name=None)) == [("r0", "c1")]
    assert out["suppressed"].sum() == 4  # the smallest 2x2 rectangle through the small cell
    assert out.loc[out["suppressed"], "estimate"].isna().all()


def test_two_way_chain_that_the_row_column_rule_misses():
    """Two suppressed 2x2 blocks joined by one cell: every row and column has 0 or >= 2
    suppressed cells, yet the joining cell equals (rows r0+r1) - (columns c0+c1).  The audit
    must catch it."""
    small = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    cells = np.array([[3 if (i, j) in small else 20 + i + j for j in range(4)] for i in range(4)])
    t = two_way(cells)
    out = suppress(t, row_col="row", col_col="col")
    assert disclosed(t, out, equations_two_way(t)) == []
    assert out["suppressed"].sum() > len(small)


def test_two_way_small_margin():
    cells = np.array([[1, 2, 1], [3, 40, 30], [25, 40, 30]])
    t = two_way(cells)
    out = suppress(t, row_col="row", col_col="col")
    margin = (out["row"] == "r0") & (out["col"] == TOTAL)
    assert out.loc[margin, "suppression_reason"].item() == "primary"
    assert all(k == 0 or k >= 2 for k in _row_col_counts(out))
    assert disclosed(t, out, equations_two_way(t)) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=2, max_value=5).flatmap(
        lambda r: st.integers(min_value=2, max_value=5).flatmap(
            lambda c: st.lists(st.integers(min_value=0, max_value=30), min_size=r * c, max_size=r * c).map(
                lambda v: np.array(v).reshape(r, c)
            )
        )
    )
)
def test_two_way_property_nothing_derivable(cells):
    t = two_way(cells)
    out = suppress(t, row_col="row", col_col="col")
    assert (out.loc[t["n"] < 6, "suppressed"]).all()
    assert all(k == 0 or k >= 2 for k in _row_col_counts(out))
    assert disclosed(t, out, equations_two_way(t)) == []
    published = ~out["suppressed"]
    assert (out.loc[published, "n"] == t.loc[published, "n"]).all()


def test_complement_prefers_smallest_part():
    t = one_way({"A": 50, "B": 2, "C": 9, "D": 7})
    out = suppress(t, row_col="level")
    assert out.loc[out["level"] == "D", "suppression_reason"].item() == "complementary"


def test_every_combination_of_a_small_one_way_table():
    for counts in itertools.product([0, 3, 6, 20], repeat=3):
        t = one_way({"A": counts[0], "B": counts[1], "C": counts[2]})
        out = suppress(t, row_col="level")
        assert out["suppressed"].sum() != 1
        assert disclosed(t, out, [([0, 1, 2], 3)]) == []
