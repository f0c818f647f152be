"""What a survey's respondents say their organisations provide, per county and service type: the evidence the
services-by-county page shows where the provider inventory is silent (``services.survey_evidence``).

Each service type the instrument's multi-select names (:mod:`pipelines.config.evidence`) gives two measures
of the instrument's respondents, overall and by its domains and by the county served:

``service:<type>``              respondents whose organisation provides the service (among those who answered
                                the question);
``service_after_hours:<type>``  of those, the ones reachable after hours (an hours answer whose hours value
                                is after hours), where the codebook asks the hours.

The cells are those of the instrument's indicators (same columns, :mod:`assets.estimates.instrument_indicators`)
so that the publication gate protects them with the indicators in one pattern: a county cell and the
sector or region cells it adds up to are of the same respondents. For that the table also holds every
indicator of the instrument by county (``kind`` "indicator"): the county frame is then the same in every
measure, and the gate hides a thin county the same way in all of them. Counts of respondents' organisations,
internal (every count as computed); what may be published is the gate's (:mod:`assets.publication.instruments`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.estimates.instrument_indicators import (INSTRUMENT_INDICATOR_COLUMNS, NUMBERS, cell_rows, domain_cells,
                                                    instrument_indicators)
from pipelines.config import Assessment, Instrument
from pipelines.config.evidence import EvidenceMapping

EVIDENCE_COLUMNS = [*INSTRUMENT_INDICATOR_COLUMNS, "kind", "service_type"]
PROVIDES, AFTER_HOURS, INDICATOR = "provides", "after_hours", "indicator"
#: the population of the service measures' rows
ORGANISATIONS = "Responding organisations"


@dataclass(frozen=True)
class EvidenceMeasure:
    """One measure of the survey evidence, in an indicator's terms (what :class:`~assets.publication.measures.
    Measure` is made of): answers ``success`` to ``variable`` among ``among``."""

    id: str
    kind: str
    service_type: str
    variable: str
    success: tuple[str, ...]
    among: dict[str, list[str]] | None = field(default=None)


def evidence_measures(mapping: EvidenceMapping, services) -> list[EvidenceMeasure]:
    """The measures of the survey evidence, in the config's order of service types. A service named by one
    option is that option's yes/no column (the same variable as an indicator of that option, so that both
    get one pattern of hidden cells); one named by several options, any of them."""
    out = []
    for t in services.types:
        columns = mapping.columns.get(t.id)
        if not columns:
            continue
        variable = "+".join(columns)
        out.append(EvidenceMeasure(f"service:{t.id}", PROVIDES, t.id, variable, ("True",)))
        if mapping.hours is not None:
            out.append(EvidenceMeasure(f"service_after_hours:{t.id}", AFTER_HOURS, t.id, mapping.hours,
                                       tuple(mapping.after_hours), {variable: ["True"]}))
    return out


def _ticked(responses: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(answered the multi-select, ticked any of ``columns``) per respondent; a column the export lacks is
    unanswered."""
    present = [c for c in columns if c in responses.columns]
    if not present:
        return np.zeros(len(responses), dtype=bool), np.zeros(len(responses), dtype=bool)
    answered = np.logical_or.reduce([responses[c].notna().to_numpy(dtype=bool) for c in present])
    ticked = np.logical_or.reduce([responses[c].astype(object).eq(True).to_numpy(dtype=bool) for c in present])
    return answered, ticked & answered


def service_evidence(responses: pd.DataFrame, view: Assessment, instrument: Instrument, mapping: EvidenceMapping,
                     wave: str, level: float = 0.95) -> pd.DataFrame:
    """The survey evidence's cells (``EVIDENCE_COLUMNS``): every service measure overall, by the instrument's
    domains and by the county served, and every indicator of the instrument by the county served.

    ``responses``: the instrument's accepted responses; ``view``: the instrument's view of the assessment.
    Empty (with every column) when ``responses`` has no rows.
    """
    if len(responses) == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in NUMBERS else object) for c in EVIDENCE_COLUMNS})
    services = view.config.services
    domains = list(dict.fromkeys([*instrument.domains, mapping.county]))
    cells = domain_cells(responses, view, domains)
    labels = {t.id: t.label for t in services.types}
    everyone = np.ones(len(responses), dtype=bool)
    rows = []
    for m in evidence_measures(mapping, services):
        answered, ticked = _ticked(responses, list(mapping.columns[m.service_type]))
        common = dict(wave=wave, instrument=instrument.id, indicator=m.id, population=ORGANISATIONS, kind=m.kind,
                      service_type=m.service_type)
        if m.kind == PROVIDES:
            rows += cell_rows(cells, answered, ticked, everyone, level, label=labels[m.service_type], **common)
        else:
            hours = responses[m.variable].astype(object) if m.variable in responses.columns else \
                pd.Series([None] * len(responses), dtype=object)
            said = hours.notna().to_numpy(dtype=bool)
            after = hours.isin(list(m.success)).to_numpy(dtype=bool) & said
            rows += cell_rows(cells, said, after, ticked, level,
                              label=labels[m.service_type], **common)
    parts = [pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)]
    if mapping.county not in instrument.domains:  # else the indicators table has the county cells already
        by_county = instrument_indicators(responses, view, instrument, wave, level, domains=[mapping.county])
        parts.append(by_county[by_county["domain"] == mapping.county].assign(kind=INDICATOR, service_type=None)[
            EVIDENCE_COLUMNS])
    return pd.concat(parts, ignore_index=True).astype({c: "float64" for c in NUMBERS})


def evidence_nesting(view: Assessment, instrument: Instrument, mapping: EvidenceMapping) -> dict:
    """How the county cells nest in the instrument's other domains: ``{county: (parent domain, county ->
    parent level)}`` for a derived domain made from the county (region = county group), else empty."""
    for d in view.codebook.derived:
        if d.from_ == mapping.county and d.name in instrument.domains:
            return {mapping.county: (d.name, view.derived_map(d))}
    return {}
