"""Calibration of a survey design to known population totals, following R's ``survey`` package.

* :func:`post_stratify` is ``postStratify``, with :func:`collapse_poststrata` merging post-strata
  too small to carry a weight (the rule is on the methods page);
* :func:`rake` is ``rake`` (iterative proportional fitting by repeated post-stratification, with R's
  convergence rule and defaults available);
* :func:`trim_weights` is ``trimWeights``.

Each returns a new :class:`~assets.estimates.design.SurveyDesign` that records the calibration
step, so its variances (``svyrecvar``) use the calibration residuals exactly as R does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assets.estimates.calibration_records import PostStratumStep, RakingStep
from assets.estimates.design import Population, SurveyDesign, _population_items
from assets.estimates.group_codes import _joint_codes

__all__ = ["CollapseResult", "collapse_poststrata", "post_stratify", "rake", "trim_weights"]


# ---------------------------------------------------------------------------------------------
# post-stratification
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollapseResult:
    """How small post-strata were merged: ``mapping`` original level -> collapsed label."""

    mapping: dict
    population: dict
    sample_counts: dict


def collapse_poststrata(
    sample_counts: Mapping,
    population: Mapping,
    min_n: int,
    *,
    order: Sequence | None = None,
    other_label: Hashable = "Other",
    sep: str = "+",
) -> CollapseResult:
    """Merge post-strata with fewer than ``min_n`` respondents.

    The rule (deterministic, documented for the methods note):

    * **Ordered levels** (``order`` given, e.g. age bands or region codes along a line): repeatedly
      take the group with the fewest respondents (ties: the earliest in ``order``) while it has
      fewer than ``min_n``, and merge it with the adjacent group that has fewer respondents (ties:
      the earlier neighbour).  Merged labels join the original labels with ``sep``.
    * **Unordered levels**: every level with fewer than ``min_n`` respondents goes into a single
      ``other_label`` group; if that group still has fewer than ``min_n`` respondents it absorbs the
      smallest remaining level (ties: first in sorted order) until it has enough or nothing is left.

    Levels present in the population but absent from the sample count as 0 respondents and are
    merged like any other small level.  Population totals of merged levels are added.
    """
    if min_n < 1:
        raise ValueError("min_n must be at least 1")
    pop = {k: float(v) for k, v in population.items()}
    counts = {k: int(sample_counts.get(k, 0)) for k in pop}
    extra = [k for k, v in sample_counts.items() if k not in pop and v > 0]
    if extra:
        raise ValueError(f"sample levels absent from the population: {extra}")
    if order is not None:
        order = list(order)
        missing = [k for k in pop if k not in order]
        if missing:
            raise ValueError(f"levels missing from order: {missing}")
        groups: list[list] = [[k] for k in order if k in pop]
        gcount = [counts[g[0]] for g in groups]
        while len(groups) > 1:
            i = min(range(len(groups)), key=lambda j: (gcount[j], j))
            if gcount[i] >= min_n:
                break
            if i == 0:
                j = 1
            elif i == len(groups) - 1:
                j = i - 1
            else:
                j = i - 1 if gcount[i - 1] <= gcount[i + 1] else i + 1
            a, b = sorted((i, j))
            groups[a] = groups[a] + groups[b]
            gcount[a] = gcount[a] + gcount[b]
            del groups[b], gcount[b]
        mapping = {}
        for g in groups:
            label = g[0] if len(g) == 1 else sep.join(str(k) for k in g)
            for k in g:
                mapping[k] = label
    else:
        small = sorted((k for k in pop if counts[k] < min_n), key=lambda k: (counts[k], str(k)))
        mapping = {k: k for k in pop}
        if small:
            if other_label in pop and other_label not in small:
                raise ValueError(f"other_label {other_label!r} is already a level")
            pooled = set(small)
            remaining = sorted((k for k in pop if k not in pooled), key=lambda k: (counts[k], str(k)))
            while sum(counts[k] for k in pooled) < min_n and remaining:
                pooled.add(remaining.pop(0))
            label = other_label if remaining else sep.join(str(k) for k in sorted(pooled, key=str))
            for k in pooled:
                mapping[k] = label
    new_pop: dict = {}
    new_counts: dict = {}
    for k, label in mapping.items():
        new_pop[label] = new_pop.get(label, 0.0) + pop[k]
        new_counts[label] = new_counts.get(label, 0) + counts[k]
    return CollapseResult(mapping=mapping, population=new_pop, sample_counts=new_counts)


def _prepare_poststrata(
    design: SurveyDesign,
    variables: tuple[str, ...],
    population: Population,
    *,
    partial: bool,
    min_n: int | None,
    order: Sequence | None,
    other_label: Hashable,
) -> tuple[np.ndarray, tuple, np.ndarray, np.ndarray, dict | None]:
    """Row codes, level labels, population vector and sample-presence mask for a post-stratifier."""
    codes, levels = _joint_codes(design.data, variables)
    if len(variables) == 1:
        levels = [lv[0] for lv in levels]
    pop = _population_items(population, variables)
    collapsed = None
    if min_n is not None:
        counts = np.bincount(codes[design.weights > 0], minlength=len(levels))
        result = collapse_poststrata(
            dict(zip(levels, counts.tolist())), pop, min_n, order=order, other_label=other_label
        )
        collapsed = result.mapping
        missing = [lv for lv in levels if lv not in collapsed]
        if missing:
            raise ValueError(f"post-strata in the sample absent from the population: {missing}")
        new_levels = list(dict.fromkeys(collapsed[lv] for lv in result.mapping))
        index = {lv: i for i, lv in enumerate(new_levels)}
        remap = np.array([index[collapsed[lv]] for lv in levels], dtype=np.int64)
        codes = remap[codes]
        levels = new_levels
        pop = result.population
    k = len(levels)
    sample_total = np.bincount(codes, weights=design.weights, minlength=k)
    level_index = {lv: i for i, lv in enumerate(levels)}
    pop_vec = np.full(k, np.nan)
    for key, value in pop.items():
        if key in level_index:
            pop_vec[level_index[key]] = value
    only_sample = (sample_total > 0) & (np.isnan(pop_vec) | (pop_vec == 0))
    if only_sample.any():
        bad = [levels[i] for i in np.flatnonzero(only_sample)]
        raise ValueError(f"post-strata in the sample absent from the population: {bad}")
    only_pop = [key for key, value in pop.items() if value > 0 and (
        key not in level_index or sample_total[level_index[key]] == 0)]
    if only_pop and not partial:
        raise ValueError(
            f"post-strata absent from the sample: {only_pop}; merge them (min_n=) or use partial=True"
        )
    if only_pop:
        warnings.warn(f"post-strata absent from the sample ignored: {only_pop}", stacklevel=3)
    return codes, tuple(levels), pop_vec, sample_total, collapsed


def _poststratify_weights(
    weights: np.ndarray, codes: np.ndarray, pop_vec: np.ndarray
) -> np.ndarray:
    k = pop_vec.shape[0]
    sample_total = np.bincount(codes, weights=weights, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        reweight = np.where(sample_total > 0, pop_vec / sample_total, 1.0)
    reweight = np.where(np.isnan(reweight), 1.0, reweight)
    return weights * reweight[codes]


def post_stratify(
    design: SurveyDesign,
    var: str | Sequence[str],
    population: Population,
    *,
    partial: bool = False,
    min_n: int | None = None,
    order: Sequence | None = None,
    other_label: Hashable = "Other",
) -> SurveyDesign:
    """Post-stratify to known population counts: R's ``postStratify(design, ~var, population)``.

    ``var`` is one column or a list of columns (cross-classified; population keys are then
    tuples).  ``population`` is ``{level: count}``, a Series indexed by level, or an R-style
    DataFrame with the stratifying column(s) and one count column.  Afterwards the weights in each
    post-stratum sum to its population count, and variances use residuals from post-stratum means.

    With ``min_n``, post-strata with fewer than ``min_n`` respondents are first merged by the rule
    of :func:`collapse_poststrata` (``order`` for ordered levels); the mapping is kept on the
    resulting :class:`PostStratumStep` (``design.calibration[-1].collapsed``).  ``partial=True``
    ignores population cells that have no respondents (R's ``partial=TRUE``) instead of failing.
    """
    variables = (var,) if isinstance(var, str) else tuple(var)
    codes, levels, pop_vec, _, collapsed = _prepare_poststrata(
        design, variables, population, partial=partial, min_n=min_n, order=order, other_label=other_label
    )
    old = design.weights
    new = _poststratify_weights(old, codes, pop_vec)
    step = PostStratumStep(
        variables=variables, codes=codes, levels=levels, population=pop_vec,
        weights=new, oldweights=old, collapsed=collapsed,
    )
    return design._with_calibration(new, design.calibration + (step,))


def rake(
    design: SurveyDesign,
    margins: Mapping[str | tuple[str, ...], Population],
    *,
    epsilon: float = 1e-10,
    maxit: int = 200,
    warn: bool = True,
) -> SurveyDesign:
    """Rake to population margins by iterative proportional fitting: R's ``rake()``.

    ``margins`` maps a column (or a tuple of columns, for a cross-classified margin) to its
    population counts.  Each pass post-stratifies on every margin in turn; the algorithm stops
    when the largest change between passes in the weighted cross-classification of all margin
    variables is below ``epsilon``.  As in R, an ``epsilon`` below 1 is relative to the total
    weight and one of 1 or more is absolute.  The default (1e-10 relative, up to 200 passes)
    converges tightly; ``epsilon=1, maxit=10`` are R's defaults and reproduce R's printed numbers,
    including its early stop.  The convergence report is ``result.raking`` (a :class:`RakingStep`:
    ``iterations``, ``converged``, ``delta``, ``max_margin_error``).  A warning is issued if the
    raking did not converge within ``maxit`` passes.
    """
    if not margins:
        raise ValueError("rake needs at least one margin")
    specs = []
    all_vars: list[str] = []
    for key, pop in margins.items():
        variables = (key,) if isinstance(key, str) else tuple(key)
        codes, levels, pop_vec, _, _ = _prepare_poststrata(
            design, variables, pop, partial=False, min_n=None, order=None, other_label="Other"
        )
        specs.append((variables, codes, levels, pop_vec))
        all_vars.extend(v for v in variables if v not in all_vars)
    joint, _ = _joint_codes(design.data, all_vars)
    n_joint = int(joint.max()) + 1
    eps = epsilon * float(design.weights.sum()) if epsilon < 1 else float(epsilon)

    w = design.weights
    old_table = np.bincount(joint, weights=w, minlength=n_joint)
    iteration = 0
    converged = False
    delta = math.inf
    steps: tuple[PostStratumStep, ...] = ()
    while iteration < maxit:
        steps = ()
        for variables, codes, levels, pop_vec in specs:
            new_w = _poststratify_weights(w, codes, pop_vec)
            steps += (PostStratumStep(variables, codes, levels, pop_vec, new_w, w),)
            w = new_w
        new_table = np.bincount(joint, weights=w, minlength=n_joint)
        delta = float(np.max(np.abs(old_table - new_table)))
        if delta < eps:
            converged = True
            break
        old_table = new_table
        iteration += 1
    passes = iteration + 1 if converged else iteration
    margin_error = max(
        float(np.nanmax(np.abs(np.bincount(codes, weights=w, minlength=len(pop_vec)) - pop_vec)))
        for _, codes, _, pop_vec in specs
    )
    if not converged and warn:
        warnings.warn(
            f"raking did not converge after {passes} passes (last change {delta:.3g}, "
            f"largest margin error {margin_error:.3g})",
            RuntimeWarning,
            stacklevel=2,
        )
    raking = RakingStep(steps, passes, converged, delta, eps, margin_error)
    return design._with_calibration(w, design.calibration + (raking,))


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------


def trim_weights(
    design: SurveyDesign, *, lower: float = -math.inf, upper: float = math.inf, strict: bool = False
) -> SurveyDesign:
    """Trim weights to ``[lower, upper]``: R's ``trimWeights``.

    The amount trimmed is shared equally (added, not multiplied) among the untrimmed units, so the
    total weight is preserved.  With ``strict=True`` this repeats until no weight is outside the
    bounds.  As in R, calibration records are kept, so trimming a calibrated design keeps the
    calibration residuals in the variance but slightly breaks the calibration totals.
    """
    if lower > upper:
        raise ValueError("lower must not exceed upper")
    pw = design.weights
    for _ in range(1000):
        outside = (pw < lower) | (pw > upper)
        if not outside.any():
            break
        new = np.clip(pw, lower, upper)
        trimmings = pw - new
        if (~outside).any():
            new = np.where(outside, new, new + trimmings.sum() / (~outside).sum())
        pw = new
        if not strict:
            break
    return design.with_weights(pw)


