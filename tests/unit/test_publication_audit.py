"""The gate's intruder model: ranges of hidden counts, and the protection that widens them."""

from __future__ import annotations

import numpy as np
import pytest

from assets.publication.audit import (LinkedCounts, ProtectionFailed, Secrets, WeightedShare, _lp_bounds,
                                      _star_ranges, _system, count_ranges, protect, violations)


def _lp(counts: LinkedCounts, hidden: np.ndarray) -> dict[int, dict[str, tuple[float, float]]]:
    col, nv, aeq, beq, aub, bub, _ = _system(counts, hidden, np.ones(len(counts.weighted), dtype=bool))
    objs, where = [], []
    for c in np.flatnonzero(hidden):
        i = col[int(c)]
        for name, cf in (("k", [2 * i]), ("m", [2 * i + 1]), ("n", [2 * i, 2 * i + 1])):
            o = np.zeros(nv)
            o[cf] = 1
            objs.append(o)
            where.append((int(c), name))
    out: dict = {}
    for (c, name), rng in zip(where, _lp_bounds(aeq, beq, aub, bub, nv, objs, False)):
        out.setdefault(c, {})[name] = rng
    return out


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_ranges_equal_the_linear_program(seed):
    """One published parent, children hidden, some with known n: the closed form the gate uses
    gives exactly the linear program's ranges."""
    rng = np.random.default_rng(seed)
    for _ in range(60):
        size = int(rng.integers(2, 7))
        n = np.concatenate([[0.0], rng.integers(0, 30, size).astype(float)])
        k = np.array([rng.integers(0, x + 1) for x in n], dtype=float)
        n[0], k[0] = n[1:].sum(), k[1:].sum()
        counts = LinkedCounts(n, k, [(0, tuple(range(1, len(n))))], rng.random(len(n)) < 0.5)
        hidden = np.zeros(len(n), dtype=bool)
        hidden[rng.choice(np.arange(1, len(n)), size=int(rng.integers(1, size + 1)), replace=False)] = True
        star = _star_ranges(counts, [int(c) for c in np.flatnonzero(hidden)])
        lp = _lp(counts, hidden)
        for c in np.flatnonzero(hidden):
            for name in ("k", "m", "n"):
                assert star[int(c)][name] == pytest.approx(lp[int(c)][name], abs=1e-7), (c, name)


def _group(n, k, known=None):
    """A published parent (cell 0) and its children."""
    n = np.array([sum(n), *n], dtype=float)
    k = np.array([sum(k), *k], dtype=float)
    return LinkedCounts(n, k, [(0, tuple(range(1, len(n))))], None if known is None else np.array([False, *known]))


def test_one_hidden_child_is_given_back_and_protection_hides_another():
    counts = _group([3, 20, 30], [1, 10, 12])
    secrets = Secrets.of(counts, 6)
    hidden = np.array([False, True, False, False])
    assert violations(counts, hidden, secrets, 6)  # 3 = parent minus the others
    reasons, _ = protect(counts, secrets, 6, min_count=6)
    assert list(reasons) == ["", "primary", "complementary", ""]  # the cheapest sibling (20) joins it
    assert not violations(counts, reasons != "", secrets, 6, min_count=6)


def test_small_cells_hidden_together_must_not_add_up_to_a_small_total():
    """Two hidden cells where 2 and 3 answered yes: each count could be 0 to 5 (six values), but
    together they are known to be 5 people; a third cell is hidden."""
    counts = _group([10, 12, 40, 50], [2, 3, 20, 25])
    secrets = Secrets.of(counts, 6)
    hidden = np.array([False, True, True, False, False])
    assert not violations(counts, hidden, secrets, 6)
    assert violations(counts, hidden, secrets, 6, min_count=6)
    reasons, _ = protect(counts, secrets, 6, min_count=6)
    assert (reasons != "").sum() == 3


def test_known_n_narrows_what_the_intruder_learns():
    """With the other hidden cell's respondents printed elsewhere, the split is tighter: 2 of 30
    and 9 of 10 hidden together give the first 1 to 11 successes, not 0 to 11."""
    counts = _group([30, 10], [2, 9], known=[True, True])
    r = count_ranges(counts, np.array([False, True, True]))
    assert r[1]["k"] == (1.0, 11.0)
    unknown = _group([30, 10], [2, 9])
    assert count_ranges(unknown, np.array([False, True, True]))[1]["k"] == (0.0, 11.0)


def test_a_remainder_the_intruder_only_bounds_widens_the_ranges():
    """A parent of 41 with children of 20 and 20: one person answered no county. With both children
    hidden, their total is known only to within that person."""
    n = np.array([41.0, 20, 20])
    k = np.array([21.0, 10, 10])
    counts = LinkedCounts(n, k, [(0, (1, 2))], np.array([False, True, True]))
    r = count_ranges(counts, np.array([False, True, True]))
    assert r[1]["k"] == pytest.approx((0.0, 20.0))
    exact = LinkedCounts(np.array([40.0, 20, 20]), np.array([20.0, 10, 10]), [(0, (1, 2))],
                         np.array([False, True, True]))
    assert count_ranges(exact, np.array([False, True, True]))[1]["k"] == pytest.approx((0.0, 20.0))


def test_a_weighted_share_with_unequal_weights_gives_a_split_away_and_is_withheld():
    """Two hidden counties of one published group, weights 10 and 40 (headcount / respondents): the
    group's unweighted count fixes their sum, its weighted share (rounded to whole percent) a
    second equation. The protection withholds the weighted share rather than hide the group."""
    n = np.array([60.0, 30, 30])
    k = np.array([30.0, 8, 22])
    a = (10.0, 40.0)
    share = (a[0] * 8 + a[1] * 22) / (a[0] * 30 + a[1] * 30)
    low, high = round(share, 2) - 0.005, round(share, 2) + 0.005
    counts = LinkedCounts(n, k, [(0, (1, 2))], np.array([False, True, True]),
                          [WeightedShare(0, (1, 2), a, low, high)])
    hidden = np.array([False, True, True])
    with_share = count_ranges(counts, hidden, [1])[1]["k"]
    without = count_ranges(counts, hidden, [1], weighted_ok=np.array([False]))[1]["k"]
    assert with_share[1] - with_share[0] < 2 and without == (0.0, 30.0)
    secrets = Secrets.of(counts, 6, sensitive=np.array([False, True, False]))
    reasons, ok = protect(counts, secrets, 6, min_count=6)
    assert list(reasons) == ["", "primary", "complementary"] and list(ok) == [False]


def test_equal_weights_tell_nothing_more():
    n = np.array([60.0, 30, 30])
    k = np.array([30.0, 8, 22])
    counts = LinkedCounts(n, k, [(0, (1, 2))], np.array([False, True, True]),
                          [WeightedShare(0, (1, 2), (20.0, 20.0), 0.495, 0.505)])
    assert count_ranges(counts, np.array([False, True, True]), [1])[1]["k"] == pytest.approx((0.0, 30.0))


def test_a_cell_nothing_can_protect_fails_loudly():
    """A small cell whose only sibling... is none, under a total that is public whatever happens
    (a weighting cell's respondents): no further suppression can widen it."""
    counts = LinkedCounts(np.array([3.0, 3.0]), np.array([3.0, 3.0]), [(0, (1,))])
    with pytest.raises(ProtectionFailed):
        protect(counts, Secrets.frame(np.array([False, True])), 6, fixed=np.array([True, False]))
    lone = LinkedCounts(np.array([3.0]), np.array([1.0]), [])  # linked to nothing: hiding it is enough
    reasons, _ = protect(lone, Secrets.of(lone, 6), 6)
    assert list(reasons) == ["primary"]


def _two_level_table(rng: np.random.Generator) -> tuple[LinkedCounts, np.ndarray]:
    """Overall (0) = groups, each group = its counties, some respondents in no county (a remainder),
    some counties with n known elsewhere, a weighted share on one group; a random hidden pattern."""
    groups = int(rng.integers(2, 4))
    n, k, eqs, weighted = [0.0], [0.0], [], []
    children_of_total = []
    for _ in range(groups):
        g = len(n)
        n.append(0.0)
        k.append(0.0)
        children_of_total.append(g)
        counties = []
        for _ in range(int(rng.integers(2, 5))):
            nc = float(rng.integers(1, 25))
            counties.append(len(n))
            n.append(nc)
            k.append(float(rng.integers(0, nc + 1)))
        rest = float(rng.integers(0, 3))
        n[g] = sum(n[c] for c in counties) + rest
        k[g] = sum(k[c] for c in counties) + float(rng.integers(0, rest + 1))
        eqs.append((g, tuple(counties)))
        if rng.random() < 0.5:
            wts = tuple(float(x) for x in rng.integers(5, 40, len(counties)))
            share = sum(w * k[c] for w, c in zip(wts, counties)) / sum(w * n[c] for w, c in zip(wts, counties))
            weighted.append(WeightedShare(g, tuple(counties), wts, round(share, 2) - 0.005, round(share, 2) + 0.005))
    n[0], k[0] = sum(n[g] for g in children_of_total), sum(k[g] for g in children_of_total)
    eqs.append((0, tuple(children_of_total)))
    size = len(n)
    counts = LinkedCounts(np.array(n), np.array(k), eqs, rng.random(size) < 0.3, weighted)
    hidden = rng.random(size) < 0.45
    hidden[0] = False
    return counts, hidden


@pytest.mark.parametrize("whole", [False, True])
def test_ranges_asked_for_some_counts_equal_those_of_the_full_solve(whole):
    """The gate asks the linear programs only for the counts a cell keeps secret (a frame: its count;
    a share: both ways): each of those ranges equals the one the full solve gives, and a later full
    request on the same (memoised) table still gets every count."""
    rng = np.random.default_rng(24)
    checked = 0
    for _ in range(40):
        counts, hidden = _two_level_table(rng)
        cells = [int(c) for c in np.flatnonzero(hidden)]
        if not cells:
            continue
        choice = [("k",), ("k", "m"), ("n",), ("m", "n")]
        names = {c: choice[int(rng.integers(0, len(choice)))] for c in cells}
        fresh = LinkedCounts(counts.n, counts.k, counts.equations, counts.n_known, counts.weighted)
        full = count_ranges(fresh, hidden, whole=whole, min_values=6)
        some = count_ranges(counts, hidden, whole=whole, min_values=6, names=names)
        for c in cells:
            for name in names[c]:
                assert some[c][name] == pytest.approx(full[c][name], abs=1e-7), (c, name)
                checked += 1
        again = count_ranges(counts, hidden, whole=whole, min_values=6)
        for c in cells:
            for name in ("k", "m", "n"):
                assert again[c][name] == pytest.approx(full[c][name], abs=1e-7), (c, name)
    assert checked > 100


@pytest.mark.parametrize("whole", [False, True])
def test_the_first_violation_is_the_first_of_the_full_list(whole):
    """The protection acts on the first violation only; asking for it alone (solving the hidden cells in
    short runs and stopping at the first) gives that same violation, or none when there is none."""
    rng = np.random.default_rng(7)
    seen = {"some": 0, "none": 0}
    for _ in range(40):
        counts, hidden = _two_level_table(rng)
        secrets = Secrets.of(counts, 6)
        hidden |= secrets.any
        full = violations(LinkedCounts(counts.n, counts.k, counts.equations, counts.n_known, counts.weighted),
                          hidden, secrets, 6, whole=whole, min_count=6)
        first = violations(counts, hidden, secrets, 6, whole=whole, min_count=6, first=True)
        assert len(first) <= 1
        if full:
            assert first and first[0][:2] == full[0][:2] and first[0][2] == pytest.approx(full[0][2], abs=1e-7)
        else:
            assert first == []
        seen["some" if full else "none"] += 1
    assert seen["some"] >= 5 and seen["none"] >= 1, seen
