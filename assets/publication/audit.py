"""The intruder the publication gate defends against, as a linear program.

A *measure* (an indicator, an interview theme, a frame of respondents) is published as cells
(overall, each county group, each county, each experience band, ...). Each cell ``c`` rests on
``n[c]`` people of whom ``k[c]`` answered one way and ``m[c] = n[c] - k[c]`` the other way. The
cells are linked: the children of an equation add up to its parent, up to a remainder (people in
the parent but in no child: no answer to the domain question, an unknown county). A published
weighted share of a cell is one more linear constraint on the counts of the weighting
atoms (counties) below it, because the weights (headcount / respondents of a county) are public.

What the intruder knows about a hidden cell is the range of each of its counts over every set of
counts that agrees with everything published: the minimum and maximum of a linear program
(:func:`count_ranges`). The rule (Hundepool et al., *Statistical Disclosure Control*, 2012, ch. 4
"protection intervals"; the audit step of tau-Argus and sdcTable): for every hidden cell whose own
counts are small (a *sensitive* cell), each of its counts must stay undetermined over at least
``min_values`` whole numbers (by default the minimum cell count: a hidden count of 0 to 5 can be
anything from 0 to 5 or beyond). :func:`protect` adds complementary suppressions until that holds.

Knowledge the intruder is granted (the safe side):

* every published count, exactly (a published share times a published n gives its numerator);
* an upper bound on every remainder: it holds at most as many people as it really does (the
  published item non-response of a domain question bounds it), how they answered unknown; a
  remainder of none is known to be none;
* ``n`` of a hidden cell when ``n_known`` says so: the number who answered in that cell is
  printed by other tables of the same respondents (the other indicators), so only cells hidden in
  every table of a population (its *frame*, :mod:`assets.publication.indicators`) keep ``n``
  secret;
* the weight of every weighting atom.

This module knows nothing of indicators, pages or Dagster: only counts, equations and ranges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["LinkedCounts", "ProtectionFailed", "Secrets", "WeightedShare", "count_ranges", "protect", "violations"]

PRIMARY = "primary"
COMPLEMENTARY = "complementary"


class ProtectionFailed(RuntimeError):
    """No further suppression can protect a sensitive cell (the caller hides the whole measure)."""


@dataclass(frozen=True)
class WeightedShare:
    """A published weighted share of ``cell``: ``sum(a*k) / sum(a*n)`` over the weighting atoms
    below it (``atoms``, with weight ``weight``), plus the weighted counts of its respondents in no
    atom (``other_k``, ``other_n``, known to the intruder), lies in ``[low, high]`` (the published
    figure widened by its rounding)."""

    cell: int
    atoms: tuple[int, ...]
    weight: tuple[float, ...]
    low: float
    high: float
    other_k: float = 0.0
    other_n: float = 0.0


@dataclass
class LinkedCounts:
    """The cells of one measure and how they add up (see the module docstring)."""

    n: np.ndarray
    k: np.ndarray
    equations: list[tuple[int, tuple[int, ...]]]
    n_known: np.ndarray | None = None
    weighted: list[WeightedShare] = field(default_factory=list)
    #: per equation, what the intruder knows of its remainder's size (None: at most its true size)
    slack_bound: list[float | None] | None = None
    #: ranges already solved, by group of hidden cells (the counts never change)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def slack(self) -> list[float]:
        """How many people the intruder knows each equation's remainder holds at most (people of the
        parent in no child): its true size, unless ``slack_bound`` says less is known."""
        true = [max(0.0, float(self.n[p] - sum(self.n[c] for c in ch))) for p, ch in self.equations]
        if self.slack_bound is None:
            return true
        return [t if b is None else max(t, float(b)) for t, b in zip(true, self.slack_bound)]

    def __post_init__(self) -> None:
        self.n = np.asarray(self.n, dtype=float)
        self.k = np.asarray(self.k, dtype=float)
        if self.n_known is None:
            self.n_known = np.zeros(self.n.shape[0], dtype=bool)
        self.n_known = np.asarray(self.n_known, dtype=bool)

    @property
    def m(self) -> np.ndarray:
        return self.n - self.k

    def __len__(self) -> int:
        return int(self.n.shape[0])


_SOLVER = None


def _highs():
    """One silent HiGHS instance per process (its constructor prints a banner on the C stdout)."""
    global _SOLVER
    if _SOLVER is None:
        import os

        import highspy

        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                solver = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        solver.silent()
        _SOLVER = solver
    return _SOLVER


#: An integer program settles a range only when its linear relaxation leaves it this close to the
#: threshold (the relaxation's range can only be wider, and with one or two weighted rows whole
#: numbers shrink it by a value or two at each end).
INTEGER_MARGIN = 4


def _lp_bounds(a_eq, b_eq, a_ub, b_ub, n_vars: int, objectives: Sequence[np.ndarray],
               integral: bool, min_values: int | None = None) -> list[tuple[float, float]]:
    """Minimum and maximum of each objective over {x >= 0: a_eq x = b_eq, a_ub x <= b_ub}, with
    HiGHS: the model is passed once, then only its objective changes. With ``integral``, ranges the
    relaxation leaves within ``INTEGER_MARGIN`` values of ``min_values`` are solved again over whole
    numbers (all of them when ``min_values`` is None)."""
    import highspy

    h = _highs()
    rows = [r for r in (a_eq, a_ub) if r is not None]
    a = np.vstack(rows) if rows else np.zeros((0, n_vars))
    lower = np.concatenate([b_eq if a_eq is not None else [], np.full(0 if a_ub is None else len(b_ub), -highspy.kHighsInf)])
    upper = np.concatenate([b_eq if a_eq is not None else [], b_ub if a_ub is not None else []])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_vars, a.shape[0]
    lp.col_cost_ = np.zeros(n_vars)
    lp.col_lower_ = np.zeros(n_vars)
    lp.col_upper_ = np.full(n_vars, highspy.kHighsInf)
    lp.row_lower_ = np.asarray(lower, dtype=float)
    lp.row_upper_ = np.asarray(upper, dtype=float)
    cols = np.asarray(a, dtype=float).T
    nz = cols != 0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
    lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
    lp.a_matrix_.value_ = cols[nz]
    everything = np.arange(n_vars, dtype=np.int32)

    def solve(which: Sequence[int]) -> dict[int, tuple[float, float]]:
        h.passModel(lp)
        found = {}
        for i in which:
            h.changeColsCost(n_vars, everything, np.asarray(objectives[i], dtype=float))
            ends = []
            for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
                h.changeObjectiveSense(sense)
                h.run()
                status = h.getModelStatus()
                if status == highspy.HighsModelStatus.kOptimal:
                    ends.append(float(h.getInfo().objective_function_value))
                elif status == highspy.HighsModelStatus.kUnbounded:
                    ends.append(-math.inf if sense == highspy.ObjSense.kMinimize else math.inf)
                else:
                    ends.append(math.nan)
            found[i] = (ends[0], ends[1])
        h.clearModel()
        return found

    out = solve(range(len(objectives)))
    if integral:
        close = [i for i, (lo, hi) in out.items()
                 if min_values is None or _values(lo, hi) < min_values + INTEGER_MARGIN]
        if close:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * n_vars
            out.update(solve(close))
    return [out[i] for i in range(len(objectives))]


def _system(counts: LinkedCounts, hidden: np.ndarray, weighted_ok: np.ndarray):
    """The intruder's linear program: variables k and m of every hidden cell."""
    idx = np.flatnonzero(hidden)
    col = {int(c): i for i, c in enumerate(idx)}
    n_vars = 2 * len(idx)
    k, m, n = counts.k, counts.m, counts.n
    eq_rows, eq_rhs, ub_rows, ub_rhs = [], [], [], []

    # per equation with a remainder: its k and m (two more variables), at most its size together
    slack = {e: s for e, s in enumerate(counts.slack) if s > 0
             and any(hidden[c] for c in (*counts.equations[e][1], counts.equations[e][0]))}
    slack_col = {e: n_vars + 2 * i for i, e in enumerate(slack)}
    n_vars += 2 * len(slack)

    def add_sum(values: np.ndarray, offset: int, e: int, parent: int, children: Sequence[int]) -> None:
        members = list(children) + [parent]
        if not any(hidden[c] for c in members):
            return
        row = np.zeros(n_vars)
        rhs = 0.0
        for c in children:
            if hidden[c]:
                row[2 * col[c] + offset] += 1.0
            else:
                rhs -= values[c]
        if hidden[parent]:
            row[2 * col[parent] + offset] -= 1.0
        else:
            rhs += values[parent]
        if e in slack:
            row[slack_col[e] + offset] += 1.0
        eq_rows.append(row)
        eq_rhs.append(rhs)

    for e, (parent, children) in enumerate(counts.equations):
        add_sum(k, 0, e, parent, children)
        add_sum(m, 1, e, parent, children)
    for e, size in slack.items():
        row = np.zeros(n_vars)
        row[slack_col[e]] = row[slack_col[e] + 1] = 1.0
        ub_rows.append(row)
        ub_rhs.append(size)
    for c in idx:
        if counts.n_known[c]:
            row = np.zeros(n_vars)
            row[2 * col[int(c)]] = row[2 * col[int(c)] + 1] = 1.0
            eq_rows.append(row)
            eq_rhs.append(n[c])
    integral = False
    for j, w in enumerate(counts.weighted):
        if hidden[w.cell] or not weighted_ok[j] or not any(hidden[a] for a in w.atoms):
            continue
        integral = True
        for bound, sign in ((w.low, -1.0), (w.high, 1.0)):
            # sign * (sum a k - bound * sum a n) <= 0, published atoms and the rest as constants
            row = np.zeros(n_vars)
            const = w.other_k - bound * w.other_n
            for a, wt in zip(w.atoms, w.weight):
                if hidden[a]:
                    row[2 * col[a]] += wt * (1.0 - bound)
                    row[2 * col[a] + 1] -= wt * bound
                else:
                    const += wt * (k[a] - bound * n[a])
            ub_rows.append(sign * row)
            ub_rhs.append(-sign * const)
    a_eq = np.vstack(eq_rows) if eq_rows else None
    a_ub = np.vstack(ub_rows) if ub_rows else None
    return (col, n_vars, a_eq, (np.array(eq_rhs) if eq_rows else None), a_ub,
            (np.array(ub_rhs) if ub_rows else None), integral)


def _components(counts: LinkedCounts, hidden: np.ndarray, weighted_ok: np.ndarray):
    """Groups of hidden cells the intruder can only solve together: linked by an equation or an
    active weighted share. Yields (cells, equation ids, weighted ids) per group."""
    parent = {int(c): int(c) for c in np.flatnonzero(hidden)}

    def find(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    def union(members) -> None:
        members = [int(c) for c in members if hidden[c]]
        for c in members[1:]:
            parent[find(c)] = find(members[0])

    for p_, children in counts.equations:
        union([*children, p_])
    active = [j for j, w in enumerate(counts.weighted)
              if weighted_ok[j] and not hidden[w.cell] and any(hidden[a] for a in w.atoms)]
    for j in active:
        union(counts.weighted[j].atoms)
    groups: dict[int, list[int]] = {}
    for c in parent:
        groups.setdefault(find(c), []).append(c)
    for cells in groups.values():
        member = set(cells)
        eqs = [e for e, (p_, ch) in enumerate(counts.equations) if member & {p_, *ch}]
        wts = [j for j in active if member & set(counts.weighted[j].atoms)]
        yield sorted(cells), eqs, wts


def _star_ranges(counts: LinkedCounts, cells: list[int]) -> dict[int, dict[str, tuple[float, float]]]:
    """Exact ranges when the hidden cells are children of one published parent and nothing else
    links them: their totals K (one way) and M (the other way) are known, a child with known n has
    k in [0, n], the other children are free."""
    k, m, n = counts.k, counts.m, counts.n
    big_k = float(sum(k[c] for c in cells))
    big_m = float(sum(m[c] for c in cells))
    known = [c for c in cells if counts.n_known[c]]
    unknown = [c for c in cells if not counts.n_known[c]]
    n_j = float(sum(n[c] for c in known))
    out: dict[int, dict[str, tuple[float, float]]] = {}
    if not unknown:
        for c in known:
            hi = min(n[c], big_k)
            lo = max(0.0, big_k - (n_j - n[c]))
            out[c] = {"k": (lo, hi), "m": (n[c] - hi, n[c] - lo), "n": (n[c], n[c])}
        return out
    low_sum = max(0.0, n_j - big_m)  # what the known children answered one way, together
    high_sum = min(n_j, big_k)
    n_u = big_k + big_m - n_j
    for c in known:
        hi = min(n[c], high_sum)
        lo = max(0.0, low_sum - (n_j - n[c]))
        out[c] = {"k": (lo, hi), "m": (n[c] - hi, n[c] - lo), "n": (n[c], n[c])}
    for c in unknown:
        if len(unknown) >= 2:
            out[c] = {"k": (0.0, big_k - low_sum), "m": (0.0, big_m - (n_j - high_sum)), "n": (0.0, n_u)}
        else:
            out[c] = {"k": (big_k - high_sum, big_k - low_sum),
                      "m": (n_u - (big_k - low_sum), n_u - (big_k - high_sum)), "n": (n_u, n_u)}
    return out


def count_ranges(counts: LinkedCounts, hidden: np.ndarray, cells: Sequence[int] | None = None,
                 weighted_ok: np.ndarray | None = None, min_values: int | None = None,
                 whole: bool = True, names: Mapping[int, Sequence[str]] | None = None,
                 ) -> dict[int, dict[str, tuple[float, float]]]:
    """What the intruder can tell about hidden cells: per cell, the range of ``k``, ``m`` and ``n``.

    ``cells`` defaults to every hidden cell. A range end is ``inf`` when nothing bounds it. Each
    group of linked hidden cells is solved on its own: in closed form when it hangs from one
    published parent with nothing else linking it, else as a linear program (over whole numbers
    when a weighted share is involved, whose coefficients are not whole: every range, or with
    ``min_values`` only those the relaxation leaves close to it; ``whole=False`` keeps the
    relaxation, a quick first pass). ``names`` limits what is solved to the counts each cell needs
    (say ``{c: ("k",)}``; a cell missing from it gets all three); each range is its own pair of
    linear programs, so a range asked for alone is the range asked for with the others.
    """
    hidden = np.asarray(hidden, dtype=bool)
    weighted_ok = np.ones(len(counts.weighted), dtype=bool) if weighted_ok is None else weighted_ok
    wanted = {int(c) for c in (np.flatnonzero(hidden) if cells is None else cells) if hidden[c]}
    out: dict[int, dict[str, tuple[float, float]]] = {}

    def needed(c: int) -> tuple[str, ...]:
        if counts.n_known[c]:
            return ("k",)  # m = n - k and n follow from k's range
        return ("k", "m", "n") if names is None or not names.get(c) else tuple(names[c])

    for group, eqs, wts in _components(counts, hidden, weighted_ok):
        todo = [c for c in group if c in wanted]
        if not todo:
            continue
        key = (tuple(group), tuple(eqs), tuple(wts), whole and bool(wts), min_values)  # whole numbers matter only with weights
        cached = counts.memo.get(key)
        if cached is not None and all(c in cached and all(x in cached[c] for x in needed(c)) for c in todo):
            out.update({c: cached[c] for c in todo})
            continue
        star = len(eqs) == 1 and not hidden[counts.equations[eqs[0]][0]] and counts.slack[eqs[0]] == 0
        if star and not wts:
            ranges = _star_ranges(counts, group)
            out.update({c: ranges[c] for c in todo})
            counts.memo.setdefault(key, {}).update({c: ranges[c] for c in todo})
            continue
        mask = np.zeros_like(hidden)
        mask[group] = True
        sub = LinkedCounts(counts.n, counts.k, [counts.equations[e] for e in eqs], counts.n_known,
                           [counts.weighted[j] for j in wts], [counts.slack[e] for e in eqs])
        col, n_vars, a_eq, b_eq, a_ub, b_ub, integral = _system(sub, mask, np.ones(len(wts), dtype=bool))
        objectives, where = [], []
        for c in todo:
            i = col[c]
            wanted_names = needed(c)
            for name, coefs in (("k", [2 * i]), ("m", [2 * i + 1]), ("n", [2 * i, 2 * i + 1])):
                if name in wanted_names:
                    obj = np.zeros(n_vars)
                    obj[coefs] = 1.0
                    objectives.append(obj)
                    where.append((c, name))
        bounds = _lp_bounds(a_eq, b_eq, a_ub, b_ub, n_vars, objectives, integral and whole, min_values)
        for (c, name), rng in zip(where, bounds):
            out.setdefault(c, {})[name] = rng
        for c in todo:
            if counts.n_known[c]:
                low, high = out[c]["k"]
                out[c]["m"] = (counts.n[c] - high, counts.n[c] - low)
                out[c]["n"] = (float(counts.n[c]), float(counts.n[c]))
        memo = counts.memo.setdefault(key, {})
        for c in todo:
            memo[c] = {**memo.get(c, {}), **out[c]}
    return out


def _values(low: float, high: float) -> float:
    """How many whole numbers a range holds (inf when unbounded above)."""
    if math.isnan(low) or math.isnan(high):
        return math.inf  # no feasible point: nothing to learn (cannot happen with true counts)
    if math.isinf(high):
        return math.inf
    return math.floor(high + 1e-7) - math.ceil(low - 1e-7) + 1


@dataclass(frozen=True)
class Secrets:
    """Which counts of each cell the intruder must not narrow (k, m = n - k, n)."""

    k: np.ndarray
    m: np.ndarray
    n: np.ndarray

    @classmethod
    def of(cls, counts: LinkedCounts, min_count: int, protect_numerators: bool = True,
           sensitive: np.ndarray | None = None) -> Secrets:
        """A cell's respondents are secret when fewer than ``min_count``; how many answered each way
        is secret in every cell too small to publish (``sensitive``, by default small n, k or m)."""
        n, k, m = counts.n, counts.k, counts.m
        small_n = n < min_count
        small = small_n | (protect_numerators & ((k < min_count) | (m < min_count)))
        sensitive = small if sensitive is None else np.asarray(sensitive, dtype=bool)
        both = sensitive & protect_numerators
        return cls(k=both.copy(), m=both.copy(), n=sensitive & small_n)

    @classmethod
    def frame(cls, sensitive: np.ndarray) -> Secrets:
        """A frame of respondents: only its count (held in ``k``) is a secret."""
        sensitive = np.asarray(sensitive, dtype=bool)
        return cls(k=sensitive, m=np.zeros_like(sensitive), n=np.zeros_like(sensitive))

    @property
    def any(self) -> np.ndarray:
        return self.k | self.m | self.n

    def names(self, c: int) -> tuple[str, ...]:
        return tuple(name for name, flag in (("k", self.k[c]), ("m", self.m[c]), ("n", self.n[c])) if flag)


#: With ``first``, :func:`violations` solves the hidden cells in runs of this many, in order, and stops
#: at the run holding the first violation (the protection acts on that one only).
FIRST_RUN = 4


def violations(counts: LinkedCounts, hidden: np.ndarray, secrets: Secrets, min_values: int,
               weighted_ok: np.ndarray | None = None, cells: Sequence[int] | None = None,
               whole: bool = True, min_count: int | None = None,
               first: bool = False) -> list[tuple[int, str, tuple[float, float]]]:
    """Hidden secret counts the intruder narrows to fewer than ``min_values`` whole numbers (a
    published cell's secrets are not checked: it is not hidden). ``cells`` limits the check;
    ``whole=False`` uses the linear relaxation only (see :func:`count_ranges`). With ``min_count``,
    hidden cells that together make a known total below it are a violation too (see
    :func:`_small_remainders`). ``first``: only the first violation of that list (the same one),
    solving no more cells than needed to find it."""
    hidden = np.asarray(hidden, dtype=bool)
    todo = [int(c) for c in np.flatnonzero(secrets.any & hidden)]
    if cells is not None:
        todo = [c for c in todo if c in set(cells)]
    out = []
    step = FIRST_RUN if first else max(1, len(todo))
    for start in range(0, len(todo), step):
        run = todo[start:start + step]
        ranges = count_ranges(counts, hidden, run, weighted_ok, min_values, whole,
                              names={c: secrets.names(c) for c in run})
        for c in run:
            for name in secrets.names(c):
                low, high = ranges[c][name]
                if _values(low, high) < min_values:
                    out.append((c, name, (low, high)))
        if first and out:
            return out[:1]
    if min_count is not None:
        out += _small_remainders(counts, hidden, secrets, min_count, set(todo))
    return out[:1] if first else out


def _small_remainders(counts: LinkedCounts, hidden: np.ndarray, secrets: Secrets, min_count: int,
                      todo: set[int]) -> list[tuple[int, str, tuple[float, float]]]:
    """Hidden cells of one published parent together: the intruder knows their total up to the
    remainder (the parent minus the shown cells), so for each secret count that must itself reach
    ``min_count``; a smaller one says the hidden group is small."""
    out = []
    values = {"k": counts.k, "m": counts.m, "n": counts.n}
    for parent, children in counts.equations:
        if hidden[parent]:
            continue
        members = [c for c in children if hidden[c]]
        for name in ("k", "m", "n"):
            holders = [c for c in members if getattr(secrets, name)[c] and c in todo]
            if not holders or (name == "n" and all(counts.n_known[c] for c in members)):
                continue
            total = float(values[name][parent] - sum(values[name][c] for c in children if not hidden[c]))
            if total < min_count:
                out.append((holders[0], name + " together", (total, total)))
    return out


def protect(counts: LinkedCounts, secrets: Secrets, min_values: int, *,
            initial: Sequence[str] | None = None, cost: np.ndarray | None = None,
            keep: np.ndarray | None = None, min_count: int | None = None,
            fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hide every cell with a secret and as few others as needed until no secret count is narrowed
    to fewer than ``min_values`` whole numbers.

    ``initial`` holds reasons decided earlier (kept). ``cost`` ranks cells for complementary
    suppression (lowest first; default ``n``); ``keep`` marks cells to hide only as a last resort
    (the overall figure); ``fixed`` marks cells that are public whatever is hidden (never chosen).
    When a violation needs a published weighted share (it disappears without
    the shares linked to the cell), the smallest such share is withheld instead of hiding cells.
    Returns ``(reasons, weighted_ok)``: ``"primary"``, ``"complementary"``, an initial reason or
    ``""`` per cell, and per weighted share whether it may still be published. ``min_count``: hidden
    cells of one published parent must also add up to at least this (per secret count). Raises
    :class:`ProtectionFailed` when even hiding every linked cell cannot protect a cell.
    """
    size = len(counts)
    reasons = np.full(size, "", dtype=object)
    if initial is not None:
        given = np.asarray(initial, dtype=object)
        reasons[given != ""] = given[given != ""]
    reasons[secrets.any & (reasons == "")] = PRIMARY
    cost = counts.n.copy() if cost is None else np.asarray(cost, dtype=float)
    keep = np.zeros(size, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    fixed = np.zeros(size, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    weighted_ok = np.ones(len(counts.weighted), dtype=bool)
    whole = False  # the relaxation while cells are being added; whole numbers before returning
    for _ in range(4 * size + 4 + len(counts.weighted)):
        hidden = reasons != ""
        found = violations(counts, hidden, secrets, min_values, weighted_ok, whole=whole, min_count=min_count,
                           first=True)
        if not found and not whole:
            whole = True
            found = violations(counts, hidden, secrets, min_values, weighted_ok, whole=True, min_count=min_count,
                               first=True)
        if not found:
            return reasons, weighted_ok
        cell, what, _ = found[0]
        links = [] if what.endswith("together") else next(
            (wts for group, _, wts in _components(counts, hidden, weighted_ok) if cell in group), [])
        if links:
            off = weighted_ok.copy()
            off[links] = False
            if not violations(counts, hidden, secrets, min_values, off, cells=[cell], whole=whole, first=True):
                for j in sorted(links, key=lambda j: (keep[counts.weighted[j].cell], cost[counts.weighted[j].cell])):
                    weighted_ok[j] = False
                    if not violations(counts, hidden, secrets, min_values, weighted_ok, cells=[cell], whole=whole,
                                      first=True):
                        break
                continue
        pick = _complement(counts, cell, hidden | fixed, cost, keep)
        if pick is None:
            raise ProtectionFailed(f"cell {cell} cannot be protected")
        reasons[pick] = COMPLEMENTARY
    raise ProtectionFailed("protection did not settle")


def _complement(counts: LinkedCounts, cell: int, hidden: np.ndarray, cost: np.ndarray,
                keep: np.ndarray) -> int | None:
    """The published cell to hide next, in tiers: a sibling of ``cell`` (its own equation), a child
    of it, any published member of an equation of its group of hidden cells, a parent; cells in
    ``keep`` (the overall figure) only when nothing else is left. Cheapest first within a tier."""
    eqs = counts.equations
    group = next((g for g, _, _ in _components(counts, hidden, np.zeros(len(counts.weighted), dtype=bool))
                  if cell in g), [cell])
    member = set(group)
    own = [e for e, (p_, ch) in enumerate(eqs) if cell in ch]
    below = [e for e, (p_, ch) in enumerate(eqs) if p_ == cell]
    linked = [e for e, (p_, ch) in enumerate(eqs) if member & {p_, *ch}]
    tiers = [
        [c for e in own for c in eqs[e][1]],
        [c for e in below for c in eqs[e][1]],
        [c for e in linked for c in (*eqs[e][1], eqs[e][0])],
    ]
    for last_resort in (False, True):
        for tier in tiers:
            options = [c for c in tier if not hidden[c] and c != cell and keep[c] == last_resort]
            if options:
                return min(options, key=lambda c: (cost[c], c))
    return None
