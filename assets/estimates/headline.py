"""The headline indicator table: every figure the assessment reports, weighted and unweighted.

Each indicator (defined as data in ``indicators.yaml``) is the share of officers whose answer is
in a success set, among those who answered the question (and within an ``among`` subgroup). It is
estimated overall (``domain = "all"``), by its own ``by`` domain if it has one, and by every
domain of ``estimates.domains`` in the assessment config (county group, county, experience band,
agency type, cases handled) except domains that restate the indicator's own question or its
``among`` filter.

Each cell (indicator x domain x level) has two rows:

* ``weighted = True``: the share under the calibrated design of :mod:`assets.estimates.weighting`
  (post-stratified to county headcounts), with its Taylor-linearised, calibration-aware standard
  error, design effect and an ``svyciprop`` interval (``estimates.ci_method``, logit by default;
  R's ``svyciprop(~I(var %in% success), subset(design, domain))``);
* ``weighted = False``: the plain share of respondents with its Wilson interval, which is what the
  2015 report printed (its published value sits beside both rows).

``n`` and ``successes`` are unweighted respondent counts in both rows; ``respondents`` counts the
cell's officers in the indicator's population whether or not they answered. This is the
assessment's internal table, every cell as computed: what may be published of it is decided by the
publication gate (:mod:`assets.publication.indicators`), never here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from assets.estimates.design import combine_codes
from assets.estimates.proportions import svyciprop
from assets.estimates.intervals import wilson_interval
from assets.estimates.weighting import WeightingResult, officer_design
from pipelines.config import Assessment, Indicator

#: estimate from cell totals (False: row by row, the straightforward computation, for tests)
COLLAPSE = True

HEADLINE_COLUMNS = [
    "wave", "indicator", "label", "domain", "level", "featured", "weighted", "respondents", "n", "successes",
    "estimate", "se", "ci_low", "ci_high", "ci_method", "deff", "published_2015", "collected",
]
#: the reason (and status) of an indicator resting on a question the wave's export lacks
NOT_COLLECTED = "not collected in this wave"


def _source(assessment: Assessment, var: str) -> str:
    for d in assessment.codebook.derived:
        if d.name == var:
            return d.from_
    return var


def _linked(assessment: Assessment, a: str, b: str) -> bool:
    """Whether two variables restate the same question (equal, or derived from the same one)."""
    return a == b or _source(assessment, a) == _source(assessment, b)


def needed_questions(assessment: Assessment, *names: str) -> set[str]:
    """The codebook questions some variables rest on: themselves, a derived domain's source, a
    multi-select option's question (``help_wanted__legal_guidance`` rests on ``help_wanted`` too)."""
    out: set[str] = set()
    for name in names:
        out |= {name, _source(assessment, name)}
        if "__" in name:
            out.add(name.split("__", 1)[0])
    return out


def is_collected(assessment: Assessment, ind: Indicator, not_collected: set[str]) -> bool:
    """Whether an indicator's question (and its subgroup's) was collected in this wave."""
    return not (needed_questions(assessment, ind.variable, *(ind.among or {})) & not_collected)


def _not_collected_rows(ind: Indicator, wave: str, assessment: Assessment) -> list[dict]:
    """An indicator resting on a question the wave's export lacks: its overall cell, marked so."""
    est = assessment.config.estimates
    published = ind.published.get("2015", {})
    head = {"wave": wave, "indicator": ind.id, "label": ind.label, "domain": "all", "level": ind.population,
            "featured": True, "respondents": math.nan, "n": math.nan, "successes": math.nan, "estimate": math.nan,
            "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "deff": math.nan,
            "published_2015": published if isinstance(published, float) else math.nan, "collected": False}
    return [{**head, "weighted": True, "ci_method": est.ci_method}, {**head, "weighted": False, "ci_method": "wilson"}]


def domain_levels(assessment: Assessment, var: str, values: pd.Series | None = None) -> list[str]:
    """All levels of a domain variable, in the codebook's order (every level gets a row)."""
    for v in assessment.codebook.variables:
        if v.name == var and v.type == "single":
            return [str(x) for x in assessment.options(v)]
    for d in assessment.codebook.derived:
        if d.name == var:
            if d.map_from == "county_groups":
                return [g.name for g in assessment.config.county_groups]
            return list(dict.fromkeys(str(x) for x in assessment.derived_map(d).values()))
    if values is None:
        return []
    return sorted(str(x) for x in pd.unique(values.dropna()))


def indicator_domains(assessment: Assessment, ind: Indicator, not_collected: set[str] | None = None) -> list[str]:
    """Domains an indicator is reported by: its own ``by`` first, then the configured ones (leaving out
    domains whose question was not collected in this wave)."""
    out = [ind.by] if ind.by else []
    skip = [ind.variable, *(ind.among or {})]
    for d in assessment.config.estimates.domains:
        if d in out or any(_linked(assessment, d, s) for s in skip):
            continue
        out.append(d)
    if not_collected:
        out = [d for d in out if not needed_questions(assessment, d) & not_collected]
    return out


def _factorized(responses: pd.DataFrame, var: str, cache: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of a column (missing: -1), once per column when a cache is given (several
    indicators and domains read the same columns)."""
    key = ("factorized", var)
    if cache is not None and key in cache:
        return cache[key]
    out = pd.factorize(responses[var], use_na_sentinel=True)
    if cache is not None:
        cache[key] = out
    return out


def _outcome(responses: pd.DataFrame, ind: Indicator, cache: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(answered, success) masks of an indicator over all rows (worked out per distinct answer)."""
    if ind.variable not in responses.columns:
        n = len(responses)
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    codes, uniques = _factorized(responses, ind.variable, cache)
    answered = codes >= 0
    hit = np.append(pd.Series(uniques, dtype=object).isin(ind.success).to_numpy(dtype=bool), False)
    return answered, hit[codes] & answered


def _among(responses: pd.DataFrame, ind: Indicator, cache: dict | None = None) -> np.ndarray:
    mask = np.ones(len(responses), dtype=bool)
    for var, values in (ind.among or {}).items():
        if var not in responses.columns:
            mask &= np.zeros(len(responses), dtype=bool)
        elif cache is not None and not pd.isna(pd.Series(list(values), dtype=object)).any():
            # per distinct value (a missing answer is in no list of answers without a missing value)
            codes, uniques = _factorized(responses, var, cache)
            hit = np.append(pd.Series(uniques).isin(values).to_numpy(dtype=bool), False)
            mask &= hit[codes]
        else:
            mask &= responses[var].isin(values).fillna(False).to_numpy(dtype=bool)
    return mask


def _domain_codes(responses: pd.DataFrame, d: str, assessment: Assessment,
                  cache: dict | None) -> tuple[np.ndarray, list[str]]:
    """Each row's level of domain ``d`` as an index into its levels (-1: none of them), and the levels."""
    if cache is not None and d in cache:
        return cache[d]
    values = responses[d] if d in responses.columns else pd.Series([None] * len(responses))
    levels = [str(x) for x in domain_levels(assessment, d, values)]
    index = {level: i for i, level in enumerate(levels)}
    if cache is not None and d in responses.columns and values.dtype == object:
        # text already (missing as None or NaN, both -1): the column's own factorisation
        codes, uniques = _factorized(responses, d, cache)
    else:
        text = values.astype(object).where(values.notna(), None)
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
    # a value is a level when it equals the level's text (as ``text == level`` compares)
    per_value = np.array([index.get(u, -1) if isinstance(u, str) else -1 for u in uniques] + [-1], dtype=np.int64)
    out = (per_value[codes], levels)
    if cache is not None:
        cache[d] = out
    return out


def indicator_rows(responses: pd.DataFrame, ind: Indicator, wave: str, weighting: WeightingResult | None,
                   assessment: Assessment, domain_cache: dict | None = None,
                   not_collected: set[str] | None = None) -> list[dict]:
    """Weighted and unweighted rows of one indicator, overall and by every domain level.

    The estimates come from cell totals: rows alike in design pattern (stratum, weight,
    calibration cells), answer, subgroup and every domain level are merged first
    (:meth:`~assets.estimates.design.SurveyDesign.collapse`), which gives exactly the row-level
    numbers (tests/unit/test_estimates_collapsed.py) at the cost of a few thousand cells.
    """
    est = assessment.config.estimates
    in_scope = weighting.in_weighting if weighting is not None else np.ones(len(responses), dtype=bool)
    answered, success = _outcome(responses, ind, domain_cache)
    base = _among(responses, ind, domain_cache) & in_scope
    published = ind.published.get("2015", {})
    overall_pub = published if isinstance(published, float) else math.nan
    domains = indicator_domains(assessment, ind, not_collected)
    coded = {d: _domain_codes(responses, d, assessment, domain_cache) for d in domains}
    design = weighting.design if weighting is not None else None
    freq = np.ones(len(responses))
    codes = {d: c for d, (c, _) in coded.items()}
    if COLLAPSE and design is not None and design.freq is None and design._psu_is_row:
        ystate = np.where(answered, np.where(success, 2, 1), 0)
        keys, sizes = [ystate, base.astype(np.int64)], [3, 2]
        if domains:  # the cross-classification of the domains, once per list of domains
            key = ("joint", tuple(domains))
            joint = domain_cache.get(key) if domain_cache is not None else None
            if joint is None:
                joint = combine_codes([codes[d] + 1 for d in domains], [len(coded[d][1]) + 1 for d in domains])
                if domain_cache is not None:
                    domain_cache[key] = joint
            keys.append(joint[0])
            sizes.append(joint[1])
        design, _ = design.collapse(keys, sizes)
        first = design.source_rows
        answered, success, base, freq = answered[first], success[first], base[first], design.freq
        codes = {d: c[first] for d, c in codes.items()}
    y = np.where(answered, success.astype(float), np.nan)
    cells: list[tuple[str, str, np.ndarray, float, bool]] = []
    cells.append(("all", ind.population, base, overall_pub, ind.by is None))
    for d in domains:
        for i, level in enumerate(coded[d][1]):
            mask = base & (codes[d] == i)
            pub = published.get(level, math.nan) if (d == ind.by and isinstance(published, dict)) else math.nan
            cells.append((d, level, mask, pub, d == ind.by))
    rows: list[dict] = []
    for domain, level, mask, pub, featured in cells:
        n = int(round(float(freq[mask & answered].sum())))
        x = int(round(float(freq[mask & success].sum())))
        head = {"wave": wave, "indicator": ind.id, "label": ind.label, "domain": domain, "level": str(level),
                "featured": bool(featured), "respondents": int(round(float(freq[mask].sum()))), "n": n,
                "successes": x, "published_2015": pub, "collected": True}
        # weighted: R's svyciprop on the calibrated design, restricted to the cell
        if weighting is not None and n > 0:
            e = svyciprop(design, y, method=est.ci_method, domain=mask, level=est.level, na_rm=True)
            rows.append({**head, "weighted": True, "estimate": e.estimate, "se": e.se, "ci_low": e.ci_low,
                         "ci_high": e.ci_high, "ci_method": e.ci_method, "deff": e.deff})
        else:
            rows.append({**head, "weighted": True, "estimate": math.nan, "se": math.nan, "ci_low": math.nan,
                         "ci_high": math.nan, "ci_method": est.ci_method, "deff": math.nan})
        p = x / n if n else math.nan
        low, high = wilson_interval(x, n, est.level) if n else (math.nan, math.nan)
        rows.append({**head, "weighted": False, "estimate": p,
                     "se": math.sqrt(p * (1 - p) / n) if n else math.nan,
                     "ci_low": low, "ci_high": high, "ci_method": "wilson", "deff": math.nan})
    return rows


def headline_columns(assessment: Assessment) -> list[str]:
    """The response columns :func:`headline_indicators` reads (the rest need not be loaded)."""
    from assets.estimates.weighting import weighting_columns

    cols = weighting_columns(assessment)
    for ind in assessment.indicators.indicators:
        cols += [ind.variable, *(ind.among or {}), *indicator_domains(assessment, ind)]
    return list(dict.fromkeys(cols))


def headline_indicators(responses: pd.DataFrame, assessment: Assessment, wave: str,
                        weights: pd.DataFrame | None = None, not_collected: set[str] | None = None) -> pd.DataFrame:
    """The headline table (see the module docstring); ``weights`` is ``officer_weights``.

    The calibrated design is rebuilt from ``responses`` (its calibration is needed for the
    standard errors) and checked against ``weights`` when given. An indicator resting on a question
    in ``not_collected`` (the wave's export lacks it) gets one overall row pair with no numbers and
    ``collected = False`` ("not collected in this wave"); the others are estimated as usual, by
    every domain that was collected.
    """
    if not responses.index.equals(pd.RangeIndex(len(responses))):
        responses = responses.reset_index(drop=True)
    not_collected = set(not_collected or ())
    weighting = officer_design(responses, assessment, weights, wave) if len(responses) else None
    rows: list[dict] = []
    domain_cache: dict = {}
    for ind in assessment.indicators.indicators:
        if not is_collected(assessment, ind, not_collected):
            rows.extend(_not_collected_rows(ind, wave, assessment))
            continue
        rows.extend(indicator_rows(responses, ind, wave, weighting, assessment, domain_cache, not_collected))
    table = pd.DataFrame(rows, columns=HEADLINE_COLUMNS)
    return table.astype({"respondents": "float64", "n": "float64", "successes": "float64", "weighted": bool,
                         "featured": bool, "collected": bool})
