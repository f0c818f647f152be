"""Publishing an unweighted instrument's indicators (the stakeholder survey's, by sector and region).

Each indicator is a measure (:mod:`assets.publication.measures`) of the instrument's respondents: a cell
hidden when fewer than the minimum answered, or answered either way (``protect_numerators``), and the
further cells that would give it back through the overall cell; a cell whose respondents are too few
hidden in every indicator of the same population (the frame), as the interview themes and the officer
indicators are. Shares and Wilson intervals are rounded like every published share. The instrument is
not weighted: ``weighted`` is false on every row, and the page says so. Only counts and shares: no
respondent row, id or answer text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.measures import Measure, Nesting, protect_measures
from assets.publication.policy import DisclosurePolicy

__all__ = ["PUBLISHED_INSTRUMENT_COLUMNS", "PUBLISHED_SERVICE_EVIDENCE_COLUMNS", "publish_instrument_indicators",
           "publish_instrument_tables", "publish_with_evidence",
           "evidence_source"]

PUBLISHED_INSTRUMENT_COLUMNS = ["wave", "instrument", "indicator", "label", "population", "domain", "level", "n",
                                "successes", "share", "ci_low", "ci_high", "weighted", "suppressed",
                                "suppression_reason"]
#: the survey evidence of the services page (``published_<stem>_services``): per county and service type, how
#: many responding organisations provide it (``measure`` provides) and are reachable after hours (after_hours)
PUBLISHED_SERVICE_EVIDENCE_COLUMNS = ["wave", "instrument", "source", "county", "service_type", "service_label",
                                      "measure", "organisations", "suppressed", "suppression_reason"]


def evidence_source(instrument) -> str:
    """How the services page labels the survey evidence: "reported by <instrument> respondents"."""
    return f"reported by {instrument.label[:1].lower()}{instrument.label[1:]} respondents"


def publish_instrument_indicators(table: pd.DataFrame | None, indicators, policy: DisclosurePolicy) -> pd.DataFrame:
    """The published table of an instrument's indicators (``<stem>_indicators`` through the gate).

    ``indicators``: the instrument's indicator definitions (what each counts, so that indicators of one
    question and subgroup share one pattern of hidden cells)."""
    return publish_instrument_tables(table, indicators, policy)[0]


def publish_instrument_tables(table: pd.DataFrame | None, indicators, policy: DisclosurePolicy,
                              evidence: pd.DataFrame | None = None, measures=(), nesting: dict | None = None,
                              county: str = "county", source: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the published indicators, the published survey evidence of the services page) of an instrument.

    ``evidence`` (:func:`assets.estimates.service_evidence.service_evidence`, with its ``measures``) adds the
    service measures and every indicator's county cells; all are protected together, in one pattern, with the
    county cells nested in their parent domain (``nesting``, e.g. region), since they are counts of the same
    respondents. Only the indicators' own cells are published as indicators, and only the service measures'
    county cells (domain ``county``) as evidence, labelled ``source``."""
    evidence = evidence if evidence is not None and len(evidence) else None
    if table is None or table.empty:
        return (pd.DataFrame(columns=PUBLISHED_INSTRUMENT_COLUMNS),
                pd.DataFrame(columns=PUBLISHED_SERVICE_EVIDENCE_COLUMNS))
    joint = table if evidence is None else pd.concat([table, evidence[table.columns]], ignore_index=True)
    cells = {i: part.reset_index(drop=True) for i, part in joint.groupby("indicator", sort=False)}
    measured = [Measure.of_indicator(ind) for ind in indicators if ind.id in cells]
    measured += [Measure.of_indicator(m) for m in measures if m.id in cells]
    reasons, _ = protect_measures(cells, measured, policy, Nesting(nesting or {}))
    return _published_indicators(table, reasons, policy), _published_evidence(evidence, reasons, county, source)


def publish_with_evidence(indicators: pd.DataFrame | None, evidence: pd.DataFrame | None, assessment, instrument,
                          policy: DisclosurePolicy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`publish_instrument_tables` for the instrument ``services.survey_evidence`` names, with its measures,
    nesting and label from the config."""
    from assets.estimates.service_evidence import evidence_measures, evidence_nesting
    from pipelines.config.evidence import evidence_mapping

    view = assessment.for_instrument(instrument.id)
    mapping, _ = evidence_mapping(assessment)
    return publish_instrument_tables(indicators, view.indicators.indicators, policy, evidence,
                                     evidence_measures(mapping, assessment.config.services),
                                     evidence_nesting(view, instrument, mapping), mapping.county,
                                     evidence_source(instrument))


def _reasons(table: pd.DataFrame, reasons: dict) -> np.ndarray:
    keys = zip(table["indicator"].astype(str), table["domain"].astype(str), table["level"].astype(str))
    return np.array([reasons.get(k, "") for k in keys], dtype=object)


def _published_indicators(table: pd.DataFrame, reasons: dict, policy: DisclosurePolicy) -> pd.DataFrame:
    reason = _reasons(table, reasons)
    hidden = reason != ""

    def shown(column: str, rounded: bool = False) -> np.ndarray:
        values = table[column].to_numpy(dtype=float)
        return np.where(hidden, np.nan, policy.share(values) if rounded else values)

    out = pd.DataFrame({
        "wave": table["wave"], "instrument": table["instrument"], "indicator": table["indicator"],
        "label": table["label"], "population": table["population"], "domain": table["domain"],
        "level": table["level"], "n": shown("n"), "successes": shown("successes"),
        "share": shown("estimate", True), "ci_low": shown("ci_low", True), "ci_high": shown("ci_high", True),
        "weighted": False, "suppressed": hidden, "suppression_reason": reason.astype(str)})
    return out[PUBLISHED_INSTRUMENT_COLUMNS].reset_index(drop=True)


def _published_evidence(evidence: pd.DataFrame | None, reasons: dict, county: str, source: str) -> pd.DataFrame:
    """The service measures' county cells: the count of organisations, or blank with the reason it is hidden."""
    if evidence is None:
        return pd.DataFrame(columns=PUBLISHED_SERVICE_EVIDENCE_COLUMNS)
    rows = evidence[(evidence["kind"] != "indicator") & (evidence["domain"] == county)].reset_index(drop=True)
    reason = _reasons(rows, reasons)
    hidden = reason != ""
    out = pd.DataFrame({
        "wave": rows["wave"], "instrument": rows["instrument"], "source": source, "county": rows["level"],
        "service_type": rows["service_type"], "service_label": rows["label"], "measure": rows["kind"],
        "organisations": np.where(hidden, np.nan, rows["successes"].to_numpy(dtype=float)),
        "suppressed": hidden, "suppression_reason": reason.astype(str)})
    return out[PUBLISHED_SERVICE_EVIDENCE_COLUMNS].reset_index(drop=True)
