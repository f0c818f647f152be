"""Indicators of an unweighted survey instrument (the stakeholder survey): shares of respondents with
Wilson intervals, overall and by each of the instrument's domains (sector, region).

Each indicator of the instrument's indicator file is the share of respondents (among those who answered
the question, within ``among`` if given) whose answer is in ``success`` (a multi-select option: ticked).
One row per indicator x cell: the overall cell (``domain`` "all") and every level the codebook gives each
domain, also one nobody answered in. ``respondents`` is the number of the indicator's population in the
cell, ``n`` those who answered, ``successes`` those whose answer counts. The instrument is not weighted
(there is no roster of the people who meet victims to calibrate to), so the share is the respondents'
share and nothing more. This is the internal table, every count as computed; what may be published of it
is decided by the publication gate (:mod:`assets.publication.instruments`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.estimates.intervals import wilson_interval
from pipelines.config import Assessment, Indicator, Instrument

INSTRUMENT_INDICATOR_COLUMNS = ["wave", "instrument", "indicator", "label", "population", "domain", "level",
                                "respondents", "n", "successes", "estimate", "ci_low", "ci_high"]
#: the overall cell's level
ALL_RESPONDENTS = "All respondents"


def domain_levels(view: Assessment, domain: str) -> list[str]:
    """The levels of a domain in the codebook's order: a single choice's answers, a derived variable's values."""
    for v in view.codebook.variables:
        if v.name == domain:
            return list(view.options(v))
    for d in view.codebook.derived:
        if d.name == domain:
            return list(dict.fromkeys(view.derived_map(d).values()))
    raise KeyError(f"{domain} is not a single-choice or derived variable of the codebook")


def _answers(responses: pd.DataFrame, ind: Indicator) -> tuple[np.ndarray, np.ndarray]:
    """(answered, success) per respondent; a question the export lacks is answered by nobody."""
    n = len(responses)
    if ind.variable not in responses.columns:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    col = responses[ind.variable]
    answered = col.notna().to_numpy(dtype=bool)
    if ind.success == [True]:  # a multi-select option
        success = col.astype(object).eq(True).to_numpy(dtype=bool)
    else:
        success = col.astype(object).isin([str(s) for s in ind.success]).to_numpy(dtype=bool)
    return answered, success & answered


def _among(responses: pd.DataFrame, ind: Indicator) -> np.ndarray:
    keep = np.ones(len(responses), dtype=bool)
    for var, values in (ind.among or {}).items():
        if var not in responses.columns:
            return np.zeros(len(responses), dtype=bool)
        keep &= responses[var].astype(object).isin([str(v) for v in values]).to_numpy(dtype=bool)
    return keep


def domain_cells(responses: pd.DataFrame, view: Assessment, domains) -> list[tuple[str, str, np.ndarray]]:
    """(domain, level, respondents in the cell) for the overall cell and every level of each of ``domains``."""
    cells: list[tuple[str, str, np.ndarray]] = [("all", ALL_RESPONDENTS, np.ones(len(responses), dtype=bool))]
    for domain in domains:
        values = responses[domain].astype(object) if domain in responses.columns else \
            pd.Series([None] * len(responses), dtype=object)
        cells += [(domain, lv, values.eq(lv).to_numpy(dtype=bool)) for lv in domain_levels(view, domain)]
    return cells


def cell_rows(cells, answered: np.ndarray, success: np.ndarray, among: np.ndarray, level: float,
              **fields) -> list[dict]:
    """One row per cell of a measure: its respondents (of those ``among``), who answered, whose answer counts,
    the share and its Wilson interval; ``fields`` (wave, indicator, label, ...) on every row."""
    rows = []
    for domain, lv, mask in cells:
        m = mask & among
        n, k = int((m & answered).sum()), int((m & success).sum())
        low, high = wilson_interval(k, n, level) if n else (np.nan, np.nan)
        rows.append({**fields, "domain": domain, "level": lv, "respondents": int(m.sum()), "n": n, "successes": k,
                     "estimate": k / n if n else np.nan, "ci_low": low, "ci_high": high})
    return rows


NUMBERS = ("respondents", "n", "successes", "estimate", "ci_low", "ci_high")


def instrument_indicators(responses: pd.DataFrame, view: Assessment, instrument: Instrument, wave: str,
                          level: float = 0.95, domains=None) -> pd.DataFrame:
    """Every indicator of ``view`` (an instrument's view of the assessment) overall and by each of the
    instrument's domains (or ``domains``), unweighted, with Wilson intervals at ``level``."""
    cells = domain_cells(responses, view, instrument.domains if domains is None else domains)
    rows = []
    for ind in view.indicators.indicators:
        answered, success = _answers(responses, ind)
        rows += cell_rows(cells, answered, success, _among(responses, ind), level, wave=wave,
                          instrument=instrument.id, indicator=ind.id, label=ind.label, population=ind.population)
    out = pd.DataFrame(rows, columns=INSTRUMENT_INDICATOR_COLUMNS)
    return out.astype({c: "float64" for c in NUMBERS})
