"""Publishing the indicator table: which cells of which indicator may be shown, and how.

The cells are chosen by :func:`assets.publication.measures.protect_measures` (each indicator is a
measure; the county headcounts weights make every published weighted share of a county group or
of all officers a linear constraint on the counties' counts, built here). Published shares and
interval bounds are rounded (``share_decimals``). The standard error and design effect are not
published: intervals rounded to whole percent carry the uncertainty without the extra digits a
variance could leak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.publication.audit import WeightedShare
from assets.publication.measures import Measure, Nesting, Strata, protect_measures
from assets.publication.policy import DisclosurePolicy

__all__ = ["AtomWeights", "NOT_COLLECTED", "PUBLISHED_INDICATOR_COLUMNS", "WITHHELD", "publish_indicators",
           "nesting_of"]

#: Columns of the published indicator table (``indicators.csv``; reports/indicators_schema.md).
PUBLISHED_INDICATOR_COLUMNS = ["wave", "indicator", "label", "domain", "level", "featured", "weighted", "n",
                               "successes", "estimate", "ci_low", "ci_high", "ci_method", "published_2015",
                               "suppressed", "suppression_reason"]
WITHHELD = "weighted figure withheld"
#: the reason of an indicator whose question the wave's export lacks (headline_indicators' collected = false)
NOT_COLLECTED = "not collected in this wave"
#: the domain whose levels are the weighting atoms (post-strata are counties, or merged counties)
WEIGHTING_DOMAIN = "county"


@dataclass(frozen=True)
class AtomWeights:
    """The weighting atoms the intruder can use: each county's respondents' weight (``None`` when
    weights vary within the county, as after raking), and the weight of respondents with no county."""

    county: Mapping[str, float | None]
    unknown: float | None = None
    #: the weighting cells: their counties and respondents
    cells: tuple[tuple[tuple[str, ...], float], ...] = ()

    @classmethod
    def from_weights(cls, weights: pd.DataFrame | None, counties: Sequence[str]) -> AtomWeights:
        """From ``officer_weights`` (post-stratum labels are counties joined with '+')."""
        out: dict[str, float | None] = {c: None for c in counties}
        unknown = None
        if weights is None or weights.empty:
            return cls(out, None)
        w = weights[weights["in_weighting"].astype(bool)]
        cells = []
        for cell, part in w.groupby("poststratum", sort=False):
            values = part["weight"].to_numpy(dtype=float)
            constant = float(values[0]) if np.allclose(values, values[0], rtol=1e-9, atol=0) else None
            members = str(cell).split("+")
            if all(m in out for m in members):
                for m in members:
                    out[m] = constant
                cells.append((tuple(members), float(len(part))))
            else:
                unknown = constant
        return cls(out, unknown, tuple(cells))


def nesting_of(assessment) -> Nesting:
    return Nesting({"county": ("county_group", dict(assessment.county_group_of))})


def _weighted_links(cells: pd.DataFrame, weighted: pd.DataFrame, nesting: Nesting, atoms: AtomWeights | None,
                    policy: DisclosurePolicy) -> list[WeightedShare]:
    """The published weighted share of the overall cell and of every parent of counties, as a
    constraint on the counties' counts. A parent whose counties' weights are not all constant gets
    a link over no atoms and no bounds: the audit cannot use it, so it is withheld by
    :func:`_unsafe_withheld` whenever a county below it is hidden."""
    if atoms is None:
        return []
    domains = cells["domain"].to_numpy()
    levels = cells["level"].astype(str).to_numpy()
    atom_pos = {levels[i]: int(i) for i in np.flatnonzero(domains == WEIGHTING_DOMAIN)}
    if not atom_pos:
        return []
    est = dict(zip(zip(weighted["domain"], weighted["level"].astype(str)), weighted["estimate"]))
    n = cells["n"].to_numpy(dtype=float)
    k = cells["successes"].to_numpy(dtype=float)
    nest = nesting.parents.get(WEIGHTING_DOMAIN)
    parents: list[tuple[int, list[str], bool]] = []
    root = np.flatnonzero(domains == "all")
    if len(root) == 1:
        parents.append((int(root[0]), list(atom_pos), True))
    if nest:
        for i in np.flatnonzero(domains == nest[0]):
            parents.append((int(i), [c for c in atom_pos if nest[1].get(c) == levels[i]], False))
    links = []
    for cell, members, is_root in parents:
        share = est.get((domains[cell], levels[cell]), np.nan)
        if not members or np.isnan(share):
            continue
        weights = [atoms.county.get(c) for c in members]
        idx = [atom_pos[c] for c in members]
        other_k = other_n = 0.0
        if is_root:
            rest_k = k[cell] - sum(k[i] for i in idx)
            rest_n = n[cell] - sum(n[i] for i in idx)
            if rest_n > 0:
                weights.append(atoms.unknown)
                other_k, other_n = (atoms.unknown or 0.0) * rest_k, (atoms.unknown or 0.0) * rest_n
        if any(w is None for w in weights):
            continue  # see _unsafe_withheld
        low, high = policy.share_interval(float(policy.share(share)))
        links.append(WeightedShare(cell, tuple(idx), tuple(float(w) for w in weights[:len(idx)]), low, high,
                                   other_k, other_n))
    return links


def _unsafe_withheld(cells: pd.DataFrame, hidden: np.ndarray, nesting: Nesting, atoms: AtomWeights | None,
                     linked: set[int]) -> set[int]:
    """Parents of counties whose weighted share the audit could not model (weights not constant
    within a county): withheld once any county below them is hidden."""
    if atoms is None:
        return set()
    domains = cells["domain"].to_numpy()
    levels = cells["level"].astype(str).to_numpy()
    county = domains == WEIGHTING_DOMAIN
    nest = nesting.parents.get(WEIGHTING_DOMAIN)
    out = set()
    for i in np.flatnonzero((domains == "all") | ((domains == nest[0]) if nest else False)):
        if int(i) in linked:
            continue
        below = county.copy()
        if domains[i] != "all" and nest:
            below &= np.array([nest[1].get(lv) == levels[i] for lv in levels])
        if (hidden & below).any():
            out.add(int(i))
    return out


def publish_indicators(table: pd.DataFrame, assessment, policy: DisclosurePolicy,
                       atoms: AtomWeights | None = None) -> pd.DataFrame:
    """The published version of one wave's indicator table (both rows of every cell).

    ``table`` is ``headline_indicators`` as computed (every count and estimate, ``respondents`` per
    cell). Returns :data:`PUBLISHED_INDICATOR_COLUMNS`: hidden cells blank with their reason, the
    rest rounded; a withheld weighted figure is blank with the unweighted one published.
    """
    if table.empty:
        return pd.DataFrame(columns=PUBLISHED_INDICATOR_COLUMNS)
    if "collected" in table.columns and not table["collected"].astype(bool).all():
        # an indicator whose question the wave's export lacks: no numbers, marked so (never a count to protect)
        collected = table["collected"].astype(bool)
        shown = publish_indicators(table[collected].drop(columns=["collected"]), assessment, policy, atoms)
        gone = table[~collected].copy()
        gone["suppressed"], gone["suppression_reason"] = True, NOT_COLLECTED
        for col in ("n", "successes", "estimate", "ci_low", "ci_high"):
            gone[col] = np.nan
        order = list(dict.fromkeys(table["indicator"]))
        out = pd.concat([shown, gone[PUBLISHED_INDICATOR_COLUMNS]], ignore_index=True)
        out["_order"] = out["indicator"].map({i: k for k, i in enumerate(order)})
        return out.sort_values("_order", kind="stable").drop(columns=["_order"]).reset_index(drop=True)
    nesting = nesting_of(assessment)
    by_id = dict(tuple(table.groupby("indicator", sort=False)))
    cells = {i: p[~p["weighted"].astype(bool)].reset_index(drop=True) for i, p in by_id.items()}
    weighted = {i: p[p["weighted"].astype(bool)] for i, p in by_id.items()}
    measures = [Measure.of_indicator(ind) for ind in assessment.indicators.indicators if ind.id in by_id]
    link_cells: dict[str, set[int]] = {}

    def links(mid: str, c: pd.DataFrame) -> list[WeightedShare]:
        found = _weighted_links(c, weighted[mid], nesting, atoms, policy)
        link_cells[mid] = {w.cell for w in found}
        return found

    strata = Strata(WEIGHTING_DOMAIN, atoms.cells) if atoms is not None else None
    reasons, withheld = protect_measures(cells, measures, policy, nesting, links, strata)
    for mid, c in (cells.items() if policy.linked else ()):
        keys = list(zip(c["domain"].astype(str), c["level"].astype(str)))
        hidden = np.array([reasons.get((mid, *kk), "") != "" for kk in keys])
        for i in _unsafe_withheld(c, hidden, nesting, atoms, link_cells.get(mid, set())):
            withheld.add((mid, *keys[i]))
    return _format(table, reasons, withheld, policy)


def _format(table: pd.DataFrame, cell_reason: dict, withheld: set, policy: DisclosurePolicy) -> pd.DataFrame:
    out = table.copy()
    keys = list(zip(out["indicator"], out["domain"].astype(str), out["level"].astype(str)))
    reason = np.array([cell_reason.get(kk, "") for kk in keys], dtype=object)
    is_w = out["weighted"].astype(bool).to_numpy()
    held = np.array([kk in withheld for kk in keys], dtype=bool) & is_w & (reason == "")
    reason[held] = WITHHELD
    hidden = reason != ""
    out["suppressed"] = hidden
    out["suppression_reason"] = reason.astype(str)
    for col in ("n", "successes", "estimate", "ci_low", "ci_high"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
        out.loc[hidden, col] = np.nan
    for col in ("estimate", "ci_low", "ci_high"):
        out[col] = policy.share(out[col].to_numpy(dtype=float))
    if "published_2015" not in out.columns:
        out["published_2015"] = np.nan
    return out[PUBLISHED_INDICATOR_COLUMNS].reset_index(drop=True)
