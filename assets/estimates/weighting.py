"""Weighting the officer survey to the officer population.

The survey is a convenience sample: some counties answered far more than their share of sworn
officers. Each respondent gets a weight so that the respondents of a county stand for that
county's officers (post-stratification to ``officer_headcounts.by_county``), built on the design
object of :mod:`assets.estimates.design` so every estimate's standard error accounts for the
calibration (as R's ``postStratify``/``rake`` designs do).

The rule, configured under ``weighting:`` in the assessment file:

1. **Cells.** Each county is a weighting cell. A county with fewer respondents than
   ``min_respondents_per_cell`` is merged with the other small counties *of its county group*; if
   that pooled cell is still too small it absorbs the group's smallest county, and so on
   (:func:`~assets.estimates.calibration.collapse_poststrata`, unordered rule). A cell that is still too
   small after that (a whole county group with too few respondents) is merged across groups the
   same way. A merged cell's headcount is the sum of its counties' and its label joins their
   names with ``+``.
2. **Unknown county.** Respondents whose county is missing (or not one of the state's counties)
   cannot be placed in a cell. ``own_cell`` (default): they form a cell of their own, ``Unknown
   county``, whose population is their share of all respondents times the total headcount; the
   county cells share the rest of the headcount in proportion to their headcounts. Each of them
   thus gets the average weight (officers / respondents) and the weighted total is still the
   headcount total; they count in the overall figures and in every domain other than county and
   county group. ``exclude``: they get weight 0, ``in_weighting`` is false, and they are left out
   of the weighted *and* unweighted estimates (so both rest on the same respondents).
3. **Raking.** With further known ``margins`` (e.g. experience band or agency type shares), the
   weights are raked (iterative proportional fitting to ``epsilon`` relative to the total weight,
   at most ``max_iterations`` passes) to the county cells and every margin. Respondents who did
   not answer a margin's question form a ``(not answered)`` level whose total is held at what the
   county post-stratification gives it; the margin's shares (or counts, rescaled) are spread over
   the rest of the total.
4. **Trimming** (optional): weights are kept within ``[min_ratio_to_mean, max_ratio_to_mean]`` times
   the mean weight (R's ``trimWeights``; the excess is shared among the other respondents, which
   keeps the total but slightly breaks the cell totals, reported as ``max_margin_error``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.estimates.calibration import collapse_poststrata, post_stratify, rake, trim_weights
from assets.estimates.design import SurveyDesign, weight_diagnostics
from pipelines.config import Assessment
from pipelines.errors import ConfigError, InputError

__all__ = [
    "NOT_ANSWERED",
    "UNKNOWN_CELL",
    "WEIGHT_COLUMNS",
    "CountyCells",
    "WeightingResult",
    "county_cells",
    "officer_design",
    "weight_officers",
]

UNKNOWN_CELL = "Unknown county"
NOT_ANSWERED = "(not answered)"
CELL_COLUMN = "poststratum"
WEIGHT_COLUMNS = ["wave", "respondent_id", "source_row", "poststratum", "cell_officers", "cell_respondents",
                  "weight", "in_weighting"]


@dataclass(frozen=True)
class CountyCells:
    """Weighting cells of counties: ``mapping`` county -> cell, headcount and respondents per cell."""

    mapping: dict[str, str]
    population: dict[str, float]
    respondents: dict[str, int]

    @property
    def merged(self) -> dict[str, list[str]]:
        """Cells made of more than one county, with their counties."""
        out: dict[str, list[str]] = {}
        for county, cell in self.mapping.items():
            out.setdefault(cell, []).append(county)
        return {c: v for c, v in out.items() if len(v) > 1}


def _relabel(mapping: Mapping[str, str], order: Sequence[str]) -> dict[str, str]:
    """Name every merged cell by its counties (in the config's order) joined with '+'."""
    members: dict[str, list[str]] = {}
    for county in order:
        if county in mapping:
            members.setdefault(mapping[county], []).append(county)
    return {county: "+".join(members[mapping[county]]) for county in order if county in mapping}


def county_cells(
    respondents: Mapping[str, int],
    headcounts: Mapping[str, float],
    group_of: Mapping[str, str],
    min_respondents: int,
) -> CountyCells:
    """Weighting cells: counties with too few respondents merged within, then across, county groups."""
    order = list(headcounts)
    counts = {c: int(respondents.get(c, 0)) for c in order}
    unknown = [c for c, k in respondents.items() if c not in headcounts and k > 0]
    if unknown:
        raise ValueError(f"respondents in counties without a headcount: {unknown}")
    mapping: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for c in order:
        groups.setdefault(group_of.get(c, ""), []).append(c)
    for members in groups.values():
        res = collapse_poststrata({c: counts[c] for c in members}, {c: headcounts[c] for c in members},
                                  min_respondents, other_label="\x00small")
        mapping.update(_relabel(res.mapping, members))
    # a cell still too small (a whole group with too few respondents): merge across groups
    cell_counts: dict[str, int] = {}
    cell_pop: dict[str, float] = {}
    for c, cell in mapping.items():
        cell_counts[cell] = cell_counts.get(cell, 0) + counts[c]
        cell_pop[cell] = cell_pop.get(cell, 0.0) + float(headcounts[c])
    if any(k < min_respondents for k in cell_counts.values()) and len(cell_counts) > 1:
        res = collapse_poststrata(cell_counts, cell_pop, min_respondents, other_label="\x00small")
        mapping = _relabel({c: res.mapping[cell] for c, cell in mapping.items()}, order)
    population: dict[str, float] = {}
    n_cell: dict[str, int] = {}
    for c in order:
        cell = mapping[c]
        population[cell] = population.get(cell, 0.0) + float(headcounts[c])
        n_cell[cell] = n_cell.get(cell, 0) + counts[c]
    return CountyCells(mapping=mapping, population=population, respondents=n_cell)


@dataclass
class WeightingResult:
    """The calibrated design of a wave, its per-respondent table and its diagnostics."""

    design: SurveyDesign
    table: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)
    cells: CountyCells | None = None

    @property
    def in_weighting(self) -> np.ndarray:
        return self.table["in_weighting"].to_numpy(dtype=bool)


def _is_county(value: object, headcounts: Mapping[str, float]) -> bool:
    """Whether an answer to the county question is one of the state's counties."""
    try:
        return value in headcounts
    except TypeError:  # unhashable
        return False


def _margin_population(margin, design: SurveyDesign, column: pd.Series, total: float) -> dict[str, float]:
    """Population of a raking margin: shares (or rescaled counts) of the answered part of the total."""
    missing = column.eq(NOT_ANSWERED).to_numpy()
    held = float(design.weights[missing].sum())
    values = margin.shares if margin.shares is not None else margin.counts
    scale = (total - held) / float(sum(values.values()))
    pop = {level: float(v) * scale for level, v in values.items()}
    if missing.any():
        pop[NOT_ANSWERED] = held
    return pop


def _trim_positive(w: np.ndarray, lower: float, upper: float, strict: bool) -> np.ndarray:
    """R's ``trimWeights`` restricted to the positive weights (zeros stay zero)."""
    out = w.copy()
    pos = out > 0
    out[pos] = trim_weights(SurveyDesign(pd.DataFrame(index=range(int(pos.sum()))), weights=out[pos]),
                            lower=lower, upper=upper, strict=strict).weights
    return out


def weighting_columns(assessment: Assessment) -> list[str]:
    """The response columns :func:`weight_officers` reads (the rest need not be loaded)."""
    return ["wave", "respondent_id", "source_row", "county",
            *(m.variable for m in assessment.config.weighting.margins)]


def weight_officers(responses: pd.DataFrame, assessment: Assessment, wave: str | None = None) -> WeightingResult:
    """Weights of one wave's accepted officer respondents (see the module docstring for the rule).

    Returns the calibrated :class:`SurveyDesign` (rows in the order of ``responses``), the table
    ``WEIGHT_COLUMNS`` (one row per respondent) and diagnostics: method, cells, merged cells,
    unknown-county handling, convergence, weight range, Kish design effect and effective n.
    """
    cfg = assessment.config.weighting
    headcounts = {k: float(v) for k, v in assessment.config.officer_headcounts.by_county.items()}
    if len(responses) == 0:
        raise InputError(assessment.path, "there are no accepted officer responses to weight")
    data = responses if responses.index.equals(pd.RangeIndex(len(responses))) else responses.reset_index(drop=True)
    data = data.copy(deep=False)  # new columns only: the cells stay shared
    raw_county = data["county"] if "county" in data.columns else pd.Series([None] * len(data))
    # each distinct answer to the county question looked up once (missing: code -1)
    answer_code, answers = pd.factorize(raw_county, use_na_sentinel=True)
    answers = list(answers)
    is_county = np.array([_is_county(v, headcounts) for v in answers] + [False], dtype=bool)
    known = is_county[answer_code]
    n = len(data)
    n_unknown = int((~known).sum())
    unplaced = int(((answer_code >= 0) & ~known).sum())
    if not known.any() and cfg.unknown_county == "exclude":
        raise InputError(assessment.path, "no respondent has a known county, so none can be weighted",
                         fix="check the county question of the export, or set weighting.unknown_county: own_cell")
    total = float(sum(headcounts.values()))
    per_answer = np.bincount(answer_code[known], minlength=len(answers)) if len(answers) else np.zeros(0, np.int64)
    counts = {v: int(k) for v, k, ok in zip(answers, per_answer, is_county) if ok and k > 0}
    cells = county_cells(counts, headcounts, assessment.county_group_of, cfg.min_respondents_per_cell) \
        if known.any() else None
    # each respondent's weighting cell, as an index into cell_labels
    cell_labels = list(dict.fromkeys(cells.mapping[v] for v, ok in zip(answers, is_county) if ok)) \
        if cells is not None else []
    cell_labels.append(UNKNOWN_CELL)
    label_index = {label: i for i, label in enumerate(cell_labels)}
    unknown_index = len(cell_labels) - 1
    per_answer_cell = np.array([label_index[cells.mapping[v]] if ok else unknown_index
                                for v, ok in zip(answers, is_county)] + [unknown_index], dtype=np.int64)
    cell_index = per_answer_cell[answer_code]
    cell_text = np.empty(len(cell_labels), dtype=object)
    cell_text[:] = cell_labels
    data[CELL_COLUMN] = cell_text[cell_index]

    base = np.ones(n)
    population: dict[str, float] = {}
    if cells is not None:
        population.update(cells.population)
    if n_unknown:
        if cfg.unknown_county == "own_cell":
            share = n_unknown / n
            population = {k: v * (1 - share) for k, v in population.items()}
            population[UNKNOWN_CELL] = total * share
        else:
            base[~known] = 0.0
            population[UNKNOWN_CELL] = 0.0
    design = SurveyDesign(data, weights=base)
    method = "post-stratification"
    convergence: dict = {"converged": True, "iterations": 1}
    try:
        design = post_stratify(design, CELL_COLUMN, population)
        if cfg.margins:
            method = "raking"
            margins: dict[str, dict[str, float]] = {CELL_COLUMN: population}
            for m in cfg.margins:
                if m.variable not in data.columns:
                    raise ConfigError(assessment.path, f"weighting.margins: the responses have no {m.variable!r}")
                col = data[m.variable].where(data[m.variable].notna(), NOT_ANSWERED).astype(str)
                name = f"_margin_{m.variable}"
                data[name] = col.to_numpy()
                margins[name] = _margin_population(m, design, col, total)
            calibrated = SurveyDesign(data, weights=base)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                design = rake(calibrated, margins, epsilon=cfg.epsilon, maxit=cfg.max_iterations, warn=False)
            r = design.raking
            convergence = {"converged": bool(r.converged), "iterations": int(r.iterations),
                           "last_change": float(r.delta), "max_margin_error": float(r.max_margin_error)}
    except ValueError as exc:
        raise ConfigError(assessment.path, f"weighting: {exc}",
                          fix="merge the levels with no respondents, or drop the margin") from None

    trimmed = 0
    if cfg.trim is not None and (cfg.trim.max_ratio_to_mean or cfg.trim.min_ratio_to_mean):
        positive = design.weights[design.weights > 0]
        mean_w = float(positive.mean())
        upper = cfg.trim.max_ratio_to_mean * mean_w if cfg.trim.max_ratio_to_mean else math.inf
        lower = cfg.trim.min_ratio_to_mean * mean_w if cfg.trim.min_ratio_to_mean else -math.inf
        before = design.weights.copy()
        if (before > 0).all():
            design = trim_weights(design, lower=lower, upper=upper, strict=cfg.trim.strict)
        else:  # respondents left out (weight 0) take no part in the trimming
            design = design.with_weights(_trim_positive(before, lower, upper, cfg.trim.strict))
        trimmed = int(((before > upper) | ((before < lower) & (before > 0))).sum())

    w = design.weights
    # per cell (summed as pandas sums groups, so the margin error is the same to the last bit)
    cell_sums = pd.Series(w).groupby(cell_index).sum()
    cell_total = {cell_labels[i]: v for i, v in cell_sums.items()}
    margin_error = float(max(abs(cell_total.get(k, 0.0) - v) for k, v in population.items()))
    if method == "post-stratification":
        convergence["max_margin_error"] = margin_error
    cell_n = np.bincount(cell_index[w > 0], minlength=len(cell_labels))[cell_index]
    cell_pop = np.array([population.get(label, np.nan) for label in cell_labels], dtype=float)
    table = pd.DataFrame({
        "wave": wave if wave is not None else (data["wave"] if "wave" in data.columns else None),
        "respondent_id": data["respondent_id"].astype(str) if "respondent_id" in data.columns
        else pd.Series(np.arange(n)).astype(str),
        "source_row": data["source_row"].astype("int64") if "source_row" in data.columns
        else np.arange(n, dtype="int64"),
        "poststratum": pd.Series(data[CELL_COLUMN].to_numpy()).astype(str),
        "cell_officers": cell_pop[cell_index],
        "cell_respondents": cell_n.astype("int64"),
        "weight": w.astype(float),
        "in_weighting": w > 0,
    }, columns=WEIGHT_COLUMNS)
    diag = weight_diagnostics(design).as_dict()
    diagnostics = {
        "method": method,
        "headcounts": assessment.config.officer_headcounts.status,
        "officers": total,
        "respondents": n,
        "cells": len([k for k, v in population.items() if v > 0]),
        "min_respondents_per_cell": cfg.min_respondents_per_cell,
        "merged_cells": cells.merged if cells is not None else {},
        "unknown_county": {"respondents": n_unknown, "not_a_county": unplaced, "handling": cfg.unknown_county},
        "margins": [m.variable for m in cfg.margins],
        "trimmed": trimmed,
        **convergence,
        "weight_min": diag["min"], "weight_max": diag["max"], "weight_ratio_max_min": diag["ratio_max_min"],
        "weight_cv": diag["cv"], "kish_deff": diag["kish_deff"], "effective_n": diag["n_effective"],
        "weight_total": diag["total"],
    }
    return WeightingResult(design=design, table=table, diagnostics=diagnostics, cells=cells)


def officer_design(responses: pd.DataFrame, assessment: Assessment, weights: pd.DataFrame | None = None,
                   wave: str | None = None) -> WeightingResult:
    """The calibrated design for estimation, checked against a stored ``officer_weights`` table.

    The calibration (cells and their populations) is needed for the standard errors, so the design
    is rebuilt from the responses by :func:`weight_officers`; when the stored weights are given,
    they must be the same (same respondents, weights equal to 1e-9 relative), otherwise the
    weights are stale (the config changed since they were computed) and this raises.
    """
    result = weight_officers(responses, assessment, wave)
    if weights is not None:
        mine_ids = result.table["respondent_id"].to_numpy()
        stored_ids = weights["respondent_id"].astype(str).to_numpy()
        if len(stored_ids) == len(mine_ids) and bool((stored_ids == mine_ids).all()):
            # the same respondents in the same order (as the warehouse stores them): compare in place
            mine_w = result.table["weight"].to_numpy(dtype=float)
            diff = np.abs(weights["weight"].to_numpy(dtype=float) - mine_w)
            if (diff > 1e-9 * np.maximum(1.0, np.abs(mine_w))).any():
                raise ValueError("officer_weights differs from the weights the current config gives; "
                                 "re-materialise officer_weights for this wave")
            return result
        mine = result.table.set_index("respondent_id")["weight"]
        stored = weights.assign(respondent_id=weights["respondent_id"].astype(str)).set_index("respondent_id")["weight"]
        if len(stored) != len(mine) or not stored.index.isin(mine.index).all():
            raise ValueError("officer_weights does not hold the same respondents as the responses; "
                             "re-materialise officer_weights for this wave")
        diff = np.abs(stored.reindex(mine.index).to_numpy(dtype=float) - mine.to_numpy())
        if (diff > 1e-9 * np.maximum(1.0, np.abs(mine.to_numpy()))).any():
            raise ValueError("officer_weights differs from the weights the current config gives; "
                             "re-materialise officer_weights for this wave")
    return result
