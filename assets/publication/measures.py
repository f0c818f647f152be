"""Choosing the hidden cells of linked measures: indicators of one survey, themes of one interview set.

A *measure* is a share of people (officers who agree they are trained; interviews that raised
housing), published overall and by domain levels. Its table has one row per cell (``domain``,
``level``) with ``respondents`` (people of the measure's population in the cell), ``n`` (who
answered) and ``successes``. Cells are linked three ways, and the pattern of hidden cells is
chosen so that none of the links helps an intruder (:mod:`assets.publication.audit`):

1. **Within a measure**: the levels of a domain add up to the overall cell, nested levels to their
   parent (counties to county groups).
2. **Across measures of the same people**: every measure prints how many answered in each cell, so
   a cell's ``n`` hidden in one measure is known from the others. The cells whose *respondents*
   are too few (the *frame* of a population) are therefore hidden in every measure of that
   population with the same complements, and other hidden cells are audited with their ``n`` taken
   as known. Measures on the same question and subgroup share one pattern; a measure whose subgroup
   is another measure's answer (officers who handled a case) hides every cell that one hides,
   since its ``n`` is that one's numerator.
3. **Weighted against unweighted**: a published weighted share is a linear constraint on the
   counts of the weighting atoms below it (supplied by the caller as
   :class:`~assets.publication.audit.WeightedShare` links); it is part of the audit and is
   withheld (the unweighted figure kept) when it alone would give a hidden count away.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.publication.audit import (COMPLEMENTARY, PRIMARY, LinkedCounts, ProtectionFailed, Secrets,
                                      WeightedShare, protect)
from assets.publication.policy import DisclosurePolicy

__all__ = ["FRAME", "Measure", "Nesting", "Strata", "protect_measures"]

#: hidden in the frame of the population: reported as primary or complementary by the cell's own counts
FRAME = "frame"

Key = tuple[str, str]  # (domain, level)


@dataclass(frozen=True)
class Measure:
    """What a measure counts: answers ``success`` to ``variable`` among ``among`` (sorted pairs of a
    variable and its accepted answers; empty for everyone)."""

    id: str
    variable: str
    success: tuple[str, ...] = ()
    among: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of_indicator(cls, ind) -> Measure:
        among = tuple(sorted((k, tuple(sorted(map(str, v)))) for k, v in (ind.among or {}).items()))
        return cls(ind.id, ind.variable, tuple(sorted(map(str, ind.success))), among)


@dataclass(frozen=True)
class Strata:
    """The weighting cells of the domain ``domain`` (counties): each a tuple of its levels and its
    number of respondents. A weight is a public headcount over a cell's respondents, so the intruder
    knows every cell's respondents: one more sum over the counties (see :func:`_with_strata`)."""

    domain: str
    cells: tuple[tuple[tuple[str, ...], float], ...] = ()


@dataclass(frozen=True)
class Nesting:
    """How domains nest: child domain -> (parent domain, parent level of each child level)."""

    parents: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)


def equations(cells: pd.DataFrame, nesting: Nesting) -> list[tuple[int, tuple[int, ...]]]:
    """The additive structure of one measure's cells (positions in ``cells``)."""
    domains = cells["domain"].to_numpy()
    levels = cells["level"].astype(str).to_numpy()
    pos = np.arange(len(cells))
    overall = pos[domains == "all"]
    if len(overall) != 1:
        return []
    root = int(overall[0])
    eqs: list[tuple[int, tuple[int, ...]]] = []
    for d in dict.fromkeys(domains):
        if d == "all":
            continue
        members = pos[domains == d]
        nest = nesting.parents.get(d)
        parent_cells = {levels[i]: int(i) for i in pos[domains == nest[0]]} if nest else {}
        if nest and parent_cells:
            by_parent: dict[int, list[int]] = {}
            loose = []
            for i in members:
                p = parent_cells.get(nest[1].get(levels[i], ""))
                (by_parent.setdefault(p, []) if p is not None else loose).append(int(i))
            eqs += [(p, tuple(ch)) for p, ch in by_parent.items()]
            if loose:
                eqs.append((root, tuple(loose)))
        else:
            eqs.append((root, tuple(int(i) for i in members)))
    return eqs


def _with_strata(cells: pd.DataFrame, eqs: list, strata: Strata | None, n: np.ndarray, k: np.ndarray,
                 frame: bool, subgroup: bool = False) -> tuple[np.ndarray, np.ndarray, list, np.ndarray, list]:
    """Counts with one cell more per weighting cell, over its counties: its respondents are known (a
    public headcount over them is the weight), so its counties' counts add up to at most that many
    (the rest, who skipped the question or are outside the population, is the sum's remainder). In
    a frame the added cell is published; in a measure its ``n`` is known and how it answered is not.
    For a subgroup (officers who handled a case) the weight says only that the subgroup's count is at
    most the cell's respondents. Returns (n, k, equations, mask of the added cells, slack bounds)."""
    bounds: list = [None] * len(eqs)
    if strata is None or not strata.cells:
        return n, k, eqs, np.zeros(len(n), dtype=bool), bounds
    domains = cells["domain"].astype(str).to_numpy()
    levels = cells["level"].astype(str).to_numpy()
    pos = {lv: i for i, (d, lv) in enumerate(zip(domains, levels)) if d == strata.domain}
    n, k, eqs = list(n), list(k), list(eqs)
    added = []
    for members, respondents in strata.cells:
        idx = tuple(pos[m] for m in members if m in pos)
        if not idx:
            continue
        # the weighting cell's respondents: its counties' count (answered or in a subgroup) is at most that
        total_n = max(float(respondents), float(sum(n[i] for i in idx)))
        total_k = total_n if frame else float(sum(k[i] for i in idx))
        eqs.append((len(n), idx))
        bounds.append(total_n if subgroup else None)
        n.append(total_n)
        k.append(total_k)
        added.append(True)
    mask = np.concatenate([np.zeros(len(cells), dtype=bool), np.array(added, dtype=bool)])
    return np.array(n, dtype=float), np.array(k, dtype=float), eqs, mask, bounds


def _frame_pattern(cells: pd.DataFrame, eqs, policy: DisclosurePolicy, initial: np.ndarray,
                   strata: Strata | None = None, subgroup: bool = False) -> np.ndarray:
    """Cells hidden in every measure of a population: too few respondents, and their complements."""
    r = np.nan_to_num(cells["respondents"].to_numpy(dtype=float))
    sensitive = r < policy.min_cell_count
    n, k, eqs, extra, bounds = _with_strata(cells, eqs, strata, r, r, frame=True, subgroup=subgroup)
    frame = LinkedCounts(n=n, k=k, equations=eqs, slack_bound=bounds)
    start = np.concatenate([np.where(initial, FRAME, ""), np.full(extra.sum(), "")]).astype(object)
    secret = np.concatenate([sensitive, np.zeros(extra.sum(), dtype=bool)])
    keep = np.concatenate([(cells["domain"] == "all").to_numpy(), np.zeros(extra.sum(), dtype=bool)])
    reasons, _ = protect(frame, Secrets.frame(secret), policy.protection_values, initial=start, keep=keep,
                         min_count=policy.min_cell_count, fixed=extra)
    return reasons[:len(cells)] != ""


def _measure_pattern(cells: pd.DataFrame, eqs, links: list[WeightedShare], policy: DisclosurePolicy,
                     frame_hidden: np.ndarray, initial: np.ndarray, strata: Strata | None = None,
                     subgroup: bool = False) -> tuple[np.ndarray, set[int]]:
    """Reasons per cell, and the cells whose weighted figure is withheld."""
    n0 = cells["n"].to_numpy(dtype=float)
    k0 = cells["successes"].to_numpy(dtype=float)
    sensitive = policy.small(n0, k0)
    n, k, eqs, extra, bounds = _with_strata(cells, eqs, strata, np.nan_to_num(n0), np.nan_to_num(k0), frame=False,
                                            subgroup=subgroup)
    known = np.concatenate([~frame_hidden & ~np.isnan(n0) & (n0 >= policy.min_cell_count), extra[len(cells):]])
    counts = LinkedCounts(n=n, k=k, equations=eqs, n_known=known, weighted=links, slack_bound=bounds)
    secret_mask = np.concatenate([sensitive, np.zeros(extra.sum(), dtype=bool)])
    secrets = Secrets.of(counts, policy.min_cell_count, policy.protect_numerators, secret_mask)
    # how many answered is a secret only where the cell's people are few: fewer answering because some
    # skipped the question (item non-response) is not
    respondents = np.nan_to_num(cells["respondents"].to_numpy(dtype=float))
    secrets.n[:len(cells)] &= respondents < policy.min_cell_count
    start = np.concatenate([np.where(initial | frame_hidden, FRAME, ""), np.full(extra.sum(), "weighting cell")])
    root = np.concatenate([(cells["domain"] == "all").to_numpy(), np.zeros(extra.sum(), dtype=bool)])
    try:
        reasons, ok = protect(counts, secrets, policy.protection_values, initial=start.astype(object), keep=root,
                              min_count=policy.min_cell_count, fixed=extra)
    except ProtectionFailed:
        reasons, ok = np.full(len(n), PRIMARY, dtype=object), np.zeros(len(links), dtype=bool)
    reasons = reasons[:len(cells)].copy()
    reasons[(reasons == FRAME) & sensitive] = PRIMARY
    reasons[(reasons == FRAME) & ~sensitive] = COMPLEMENTARY
    return reasons, {links[j].cell for j in range(len(links)) if not ok[j]}


def _defining(m: Measure, measures: Sequence[Measure]) -> list[Measure]:
    """Measures whose successes are exactly ``m``'s subgroup (their numerator is its ``n``)."""
    if len(m.among) != 1:
        return []
    (var, values), = m.among
    return [d for d in measures if not d.among and d.variable == var and set(d.success) == set(values)]


def protect_measures(cells: Mapping[str, pd.DataFrame], measures: Sequence[Measure], policy: DisclosurePolicy,
                     nesting: Nesting,
                     weighted_links: Callable[[str, pd.DataFrame], list[WeightedShare]] | None = None,
                     strata: Strata | None = None,
                     ) -> tuple[dict[tuple[str, str, str], str], set[tuple[str, str, str]]]:
    """Hidden cells of every measure: ``{(measure, domain, level): reason}`` (empty reason: shown),
    and the ``(measure, domain, level)`` cells whose weighted figure is withheld.

    ``cells`` maps a measure id to its cells (see the module docstring); ``weighted_links(id,
    cells)`` gives the published weighted shares of a measure as constraints (none by default);
    ``strata`` the weighting cells, whose respondents the public weights give away.
    """
    measures = [m for m in measures if m.id in cells]
    if not policy.linked:  # the gate bypassed: every cell on its own
        out = {}
        for m in measures:
            c = cells[m.id]
            small = policy.small(c["n"].to_numpy(dtype=float), c["successes"].to_numpy(dtype=float))
            out.update({(m.id, str(d), str(lv)): PRIMARY if s else "" for d, lv, s in zip(c["domain"], c["level"], small)})
        return out, set()
    keys = {m.id: list(zip(cells[m.id]["domain"].astype(str), cells[m.id]["level"].astype(str))) for m in measures}
    eqs = {m.id: equations(cells[m.id], nesting) for m in measures}
    hidden: dict[str, set[Key]] = {}
    reasons: dict[str, np.ndarray] = {}
    withheld: dict[str, set[Key]] = {}

    def mask(mid: str, chosen: set[Key]) -> np.ndarray:
        return np.array([kk in chosen for kk in keys[mid]], dtype=bool)

    frames: dict[tuple, set[Key]] = {}  # measures of one population with the same cells share a frame

    def frame(m: Measure, start: set[Key]) -> set[Key]:
        c = cells[m.id]
        key = (m.among, tuple(keys[m.id]), tuple(c["respondents"].fillna(-1)), frozenset(start & set(keys[m.id])))
        if key not in frames:
            f = _frame_pattern(c, eqs[m.id], policy, mask(m.id, start), strata, subgroup=bool(m.among))
            frames[key] = {kk for kk, h in zip(keys[m.id], f) if h}
        return frames[key]

    classes: dict[tuple, list[Measure]] = {}
    for m in measures:
        classes.setdefault((m.variable, m.among), []).append(m)
    # measures without a subgroup first: a subgroup may be another measure's answer
    for cls in sorted(classes.values(), key=lambda c: bool(c[0].among)):
        first = cls[0]
        start: set[Key] = set()
        for d in _defining(first, measures):
            start |= hidden.get(d.id, set())
        framed = frame(first, start)
        union = framed | start
        for _ in range(len(keys[first.id]) + 2):  # members share one pattern: until nobody adds a cell
            grew = False
            for m in cls:
                links = weighted_links(m.id, cells[m.id]) if weighted_links else []
                r, w = _measure_pattern(cells[m.id], eqs[m.id], links, policy, mask(m.id, framed), mask(m.id, union),
                                        strata, subgroup=bool(m.among))
                reasons[m.id] = r
                withheld[m.id] = {keys[m.id][c] for c in w}
                now = union | {kk for kk, x in zip(keys[m.id], r) if x}
                grew |= now != union
                union = now
            if not grew or len(cls) == 1:
                break
        # a later measure whose subgroup is this one's answer: that subgroup's frame may hide more
        for later in measures:
            if first in _defining(later, measures) and later not in cls:
                union |= {kk for kk in frame(later, union) if kk in set(keys[first.id])}
        for m in cls:
            hidden[m.id] = union
            r = reasons[m.id]
            r[mask(m.id, union) & (r == "")] = COMPLEMENTARY
    cell_reason = {(mid, *kk): x for mid, r in reasons.items() for kk, x in zip(keys[mid], r)}
    return cell_reason, {(mid, *kk) for mid, ks in withheld.items() for kk in ks}
