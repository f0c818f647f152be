"""The publication gate: the one function that turns a wave's internal tables into what may be
published. Every page, chart, CSV and workbook sheet of the site is built from its output and from
nothing else (``assets/report`` reads no other table), and :data:`PUBLISHED_TABLES` lists every
table it produces with every column and what the gate did to it, so a test can check that nothing
reaches readers that did not come through here.

The policy (config ``disclosure:``; :class:`~assets.publication.policy.DisclosurePolicy`) and the
intruder it is checked against (:mod:`assets.publication.audit`) are described on the site's
methods page and in ``reports/indicators_schema.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.publication.coding import (PUBLISHED_AGREEMENT_COLUMNS, PUBLISHED_RULE_PRECISION_COLUMNS,
                                       publish_agreement, publish_rule_precision)
from assets.publication.counties import PUBLISHED_COUNTY_COLUMNS, publish_county_estimates
from assets.publication.indicators import PUBLISHED_INDICATOR_COLUMNS, AtomWeights, publish_indicators
from assets.publication.models import (PUBLISHED_CARD_COLUMNS, PUBLISHED_MODEL_COLUMNS, publish_model_cards,
                                       publish_model_results)
from assets.publication.policy import DisclosurePolicy
from assets.publication.prevalence import (PUBLISHED_CASE_COUNT_COLUMNS, PUBLISHED_OVERLAP_COLUMNS,
                                           PUBLISHED_PREVALENCE_COLUMNS, PUBLISHED_SENSITIVITY_COLUMNS,
                                           publish_prevalence)
from assets.publication.quality import QUALITY_SECTIONS, publish_quality
from assets.publication.themes import PUBLISHED_THEME_COLUMNS, publish_themes
from assets.publication.trends import PUBLISHED_CHANGE_COLUMNS

__all__ = ["PUBLISHED_TABLES", "PublishedTable", "WaveTables", "indicator_history", "instrument_table",
           "publish_wave", "published_tables", "stacked_quality"]


@dataclass(frozen=True)
class PublishedTable:
    """A table readers get: its columns, its title on the site and in the workbook, and what the
    gate did to protect it."""

    columns: tuple[str, ...]
    title: str
    protection: str


SERVICE_COVERAGE_COLUMNS = ["wave", "county", "fips", "county_group", "service_type", "service_label", "providers",
                            "local_providers", "after_hours_providers", "local_after_hours_providers",
                            "providers_24_7", "covered", "any_after_hours", "local_after_hours", "any_24_7",
                            "after_hours_cover"]
AFTER_HOURS_COLUMNS = ["wave", "county", "fips", "county_group", "required_without_after_hours",
                       "service_types_without_after_hours", "service_labels_without_after_hours",
                       "n_without_after_hours"]
SOURCE_COLUMNS = ["wave", "dataset", "file_name", "sha256", "rows", "synthetic"]
WAVE_INPUT_COLUMNS = ["wave", "input", "label", "status", "statement"]
HISTORY_COLUMNS = ["survey_wave", *[c for c in PUBLISHED_INDICATOR_COLUMNS if c != "wave"]]

SHARES = "hidden below the minimum with complements chosen by the intruder audit; shares rounded"
PUBLISHED_TABLES: dict[str, PublishedTable] = {
    "published_indicators": PublishedTable(tuple(PUBLISHED_INDICATOR_COLUMNS), "Indicators", SHARES),
    "published_indicator_history": PublishedTable(("wave", *HISTORY_COLUMNS), "Indicators of every wave", SHARES),
    "published_changes": PublishedTable(tuple(PUBLISHED_CHANGE_COLUMNS), "Changes since earlier waves",
                                        "only between two published cells; rounded"),
    "published_interview_themes": PublishedTable(tuple(PUBLISHED_THEME_COLUMNS), "Interview themes", SHARES),
    "published_open_ended_themes": PublishedTable(tuple(PUBLISHED_THEME_COLUMNS), "Open-ended answer themes",
                                                  SHARES + " (the interview themes' rule); never the answers' text"),
    "published_rule_precision": PublishedTable(tuple(PUBLISHED_RULE_PRECISION_COLUMNS), "Coding rules vs hand codes",
                                               "precision and recall rounded; hidden where the theme's count is"),
    "published_intercoder_agreement": PublishedTable(tuple(PUBLISHED_AGREEMENT_COLUMNS), "Agreement between coders",
                                                     "agreement and kappa rounded; hidden where the theme's count is"),
    "published_county_estimates": PublishedTable(tuple(PUBLISHED_COUNTY_COLUMNS), "Training gap by county",
                                                 "model estimates only for counties whose survey cell is published; "
                                                 "the others combined; rounded"),
    "published_model_results": PublishedTable(tuple(PUBLISHED_MODEL_COLUMNS), "Training gap model",
                                              "terms of hidden groups hidden; rounded"),
    "published_model_cards": PublishedTable(tuple(PUBLISHED_CARD_COLUMNS), "Model cards",
                                            "words and counts of the fit only"),
    "published_quality_status": PublishedTable(("wave", *QUALITY_SECTIONS["status"]), "Data quality - datasets",
                                               "small record counts hidden with rows read"),
    "published_quality_checks": PublishedTable(("wave", *QUALITY_SECTIONS["checks"]), "Data quality - checks",
                                               "small record counts hidden; no messages from the data"),
    "published_quarantine": PublishedTable(("wave", *QUALITY_SECTIONS["quarantine_by_reason"]),
                                           "Records held back", "small counts hidden with complements"),
    "published_completeness": PublishedTable(("wave", *QUALITY_SECTIONS["completeness"]),
                                             "Questions answered", "fewer than the minimum hidden"),
    "published_prevalence": PublishedTable(tuple(PUBLISHED_PREVALENCE_COLUMNS), "Prevalence",
                                           "estimates rounded; small case counts hidden with complements"),
    "published_case_list_counts": PublishedTable(tuple(PUBLISHED_CASE_COUNT_COLUMNS), "Cases on each list",
                                                 "small counts hidden with complements"),
    "published_case_list_overlap": PublishedTable(tuple(PUBLISHED_OVERLAP_COLUMNS), "Cases on combinations of lists",
                                                  "small counts hidden with complements"),
    "published_prevalence_sensitivity": PublishedTable(tuple(PUBLISHED_SENSITIVITY_COLUMNS),
                                                       "Prevalence under other models", "estimates only, rounded"),
    "published_service_coverage": PublishedTable(tuple(SERVICE_COVERAGE_COLUMNS), "Service coverage",
                                                 "counts of organisations, never names"),
    "published_counties_without_after_hours": PublishedTable(tuple(AFTER_HOURS_COLUMNS),
                                                             "No after-hours response",
                                                             "counts of organisations, never names"),
    "published_wave_inputs": PublishedTable(tuple(WAVE_INPUT_COLUMNS), "Inputs of the wave",
                                            "whether each input was received; no counts"),
    "published_sources": PublishedTable(tuple(SOURCE_COLUMNS), "Input files",
                                        "file names and fingerprints; row counts hidden where they would reveal "
                                        "a small count of records held back"),
}


def instrument_table(instrument) -> PublishedTable:
    """The published indicators of an instrument built by the instrument factory (the stakeholder survey):
    ``published_<stem>_indicators``, beside the gate's own tables."""
    from assets.publication.instruments import PUBLISHED_INSTRUMENT_COLUMNS

    return PublishedTable(tuple(PUBLISHED_INSTRUMENT_COLUMNS), f"{instrument.label} indicators",
                          SHARES + f"; unweighted shares of {instrument.disclosure_unit}")


def evidence_table(instrument) -> PublishedTable:
    """The survey evidence of the services page (``services.survey_evidence``): ``published_<stem>_services``,
    protected with the instrument's indicators in one pattern."""
    from assets.publication.instruments import PUBLISHED_SERVICE_EVIDENCE_COLUMNS

    return PublishedTable(tuple(PUBLISHED_SERVICE_EVIDENCE_COLUMNS), f"Services ({instrument.label.lower()})",
                          SHARES.split(";")[0] + f" with the {instrument.label.lower()}'s indicators; counts of "
                          f"{instrument.disclosure_unit}' organisations, never names")


def published_tables(assessment=None) -> dict[str, PublishedTable]:
    """Every table readers get for this assessment: the gate's own (:data:`PUBLISHED_TABLES`), each further
    instrument's indicators (:func:`instrument_table`) and the survey evidence of the services page
    (:func:`evidence_table`), in that order."""
    out = dict(PUBLISHED_TABLES)
    evidence = evidence_instrument(assessment)
    for inst in (assessment.other_instruments if assessment is not None else []):
        out[inst.published_table] = instrument_table(inst)
        if evidence == inst.id:
            out[inst.published_evidence_table] = evidence_table(inst)
    return out


def evidence_instrument(assessment) -> str | None:
    """The instrument whose respondents speak where the provider inventory is silent, if the config names one."""
    services = assessment.config.services if assessment is not None else None
    return services.survey_evidence.instrument if services is not None and services.survey_evidence else None


@dataclass
class WaveTables:
    """The internal tables of a wave the gate reads (every count as computed)."""

    wave: str
    headline: pd.DataFrame           # headline_indicators
    weights: pd.DataFrame | None     # officer_weights (post-stratum and weight per respondent)
    themes: pd.DataFrame
    quality: pd.DataFrame            # data_quality_summary, with every further instrument's (stacked_quality)
    county: pd.DataFrame
    model: pd.DataFrame
    cards: pd.DataFrame
    prevalence: pd.DataFrame
    overlap: pd.DataFrame
    sensitivity: pd.DataFrame
    coverage: pd.DataFrame
    after_hours: pd.DataFrame
    sources: pd.DataFrame
    open_ended: pd.DataFrame | None = None      # open_ended_theme_counts
    rule_precision: pd.DataFrame | None = None  # open_ended_rule_precision
    agreement: pd.DataFrame | None = None       # intercoder_agreement


#: Columns of the published tables that hold numbers, and those that hold yes/no: typed so that a
#: table first written empty (a wave without trends, without case lists) is stored with the types
#: later waves need.
NUMBER_COLUMNS = frozenset({
    "accepted", "after_hours_providers", "answered", "asked", "blocking_failed", "boot_high", "boot_low", "cases",
    "change", "checks_passed", "checks_run", "ci_high", "ci_low", "count", "earlier_estimate", "estimate",
    "headcount", "hand_coded", "interviews", "kappa", "kappa_high", "kappa_low",
    "agreement", "agreement_high", "agreement_low", "precision", "precision_high", "precision_low", "recall",
    "recall_high", "recall_low", "units", "local_after_hours_providers", "local_providers", "mentioned", "n", "n_areas",
    "n_lists", "n_parameters", "organisations", "n_without_after_hours", "observed", "officers_high", "officers_low",
    "officers_needing_training", "p_value", "percent", "providers", "providers_24_7", "published_2015",
    "quarantined", "rank", "respondents", "row_checks_failed", "rows", "rows_read", "share", "successes",
    "survey_share", "unexpected"})
FLAG_COLUMNS = frozenset({"after_hours_cover", "any_24_7", "any_after_hours", "converged", "covered", "estimable",
                          "exists", "featured", "flagged", "identifiable", "kappa_defined", "local_after_hours",
                          "passed", "reliable", "separation", "suppressed", "synthetic", "weighted"})


def typed_table(frame: pd.DataFrame | None, columns, wave: str) -> pd.DataFrame:
    """``frame`` as a published table of ``wave``: its columns in order, numbers and flags typed."""
    out = frame.copy() if frame is not None else pd.DataFrame()
    out["wave"] = wave
    out = out.reindex(columns=list(columns)).reset_index(drop=True)
    for col in out.columns:
        if col in NUMBER_COLUMNS:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
        elif col in FLAG_COLUMNS and (len(out) == 0 or out[col].notna().all()):
            out[col] = out[col].astype(bool)
    return out


def stacked_quality(summaries: list[pd.DataFrame | None]) -> pd.DataFrame:
    """The data-quality tables of every survey instrument (the officer survey's ``data_quality_summary``
    and each further instrument's ``<id>_quality_summary``) as one table: the gate publishes their
    datasets together, each under the same rule."""
    parts = [s for s in summaries if s is not None and len(s)]
    if not parts:
        return summaries[0] if summaries else pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _instrument_datasets(assessment) -> dict[str, str]:
    """The quality dataset of each survey instrument (its suite's, e.g. ``officer_responses``) and the
    wave input its rows were read from (``officer_survey``): the quality tables and the input files name
    an instrument's records differently."""
    return {i.expectations: i.id for i in assessment.instruments}


def publish_wave(t: WaveTables, assessment, policy: DisclosurePolicy) -> dict[str, pd.DataFrame]:
    """Every published table of the wave, by name (:data:`PUBLISHED_TABLES`; the indicator history
    and the changes are made from the published indicators of every wave, see
    :func:`indicator_history` and :func:`assets.publication.trends.publish_changes`)."""
    from assets.quality.summary import split_summary

    wave = str(t.wave)
    atoms = AtomWeights.from_weights(t.weights, assessment.county_names)
    indicators = publish_indicators(t.headline, assessment, policy, atoms)
    inputs = wave_inputs_table(wave, assessment, t.sources, t.overlap)
    # an input the wave did not receive has no records: no "rows read 0", no theme of zero interviews
    missing = set(inputs.loc[inputs["status"] != "received", "input"])
    read_from = _instrument_datasets(assessment)  # an instrument's quality dataset -> its wave input
    not_received = missing | {dataset for dataset, source in read_from.items() if source in missing}
    quality = publish_quality(_received(split_summary(t.quality), not_received), policy) \
        if t.quality is not None and len(t.quality) \
        else {name: pd.DataFrame(columns=cols) for name, cols in QUALITY_SECTIONS.items()}
    themes = t.themes
    if themes is not None and len(themes) and missing:
        themes = themes[~themes["dataset"].astype(str).isin(missing)].reset_index(drop=True)
    # a dataset whose rows read are hidden: its input file's row count is hidden too
    hidden_read = quality.pop("hidden_rows_read", pd.DataFrame({"dataset": []}))["dataset"]
    hidden_rows = {read_from.get(d, d) for d in hidden_read}
    sources = t.sources.copy() if t.sources is not None else pd.DataFrame(columns=SOURCE_COLUMNS)
    if len(sources):
        sources["rows"] = sources["rows"].astype(object).where(~sources["dataset"].isin(hidden_rows), None)
    prevalence = publish_prevalence(t.prevalence, t.overlap, t.sensitivity, assessment, policy, wave)
    published_themes = publish_themes(themes, policy)
    open_ended = publish_themes(t.open_ended, policy)
    out = {
        "published_indicators": indicators,
        "published_interview_themes": published_themes,
        "published_open_ended_themes": open_ended,
        "published_rule_precision": publish_rule_precision(t.rule_precision, open_ended, "officer_survey", policy),
        "published_intercoder_agreement": publish_agreement(t.agreement, [published_themes, open_ended], policy),
        "published_county_estimates": publish_county_estimates(t.county, indicators, assessment, policy, wave),
        "published_model_results": publish_model_results(t.model, indicators, assessment, policy),
        "published_model_cards": publish_model_cards(t.cards),
        "published_quality_status": quality["status"],
        "published_quality_checks": quality["checks"],
        "published_quarantine": quality["quarantine_by_reason"],
        "published_completeness": quality["completeness"],
        "published_prevalence": prevalence["estimate"],
        "published_case_list_counts": prevalence["case_counts"],
        "published_case_list_overlap": prevalence["overlap"],
        "published_prevalence_sensitivity": prevalence["sensitivity"],
        "published_service_coverage": t.coverage,
        "published_counties_without_after_hours": t.after_hours,
        "published_sources": sources,
        "published_wave_inputs": inputs,
    }
    return {name: typed_table(frame, PUBLISHED_TABLES[name].columns, wave) for name, frame in out.items()}


def indicator_history(published: pd.DataFrame, wave: str) -> pd.DataFrame:
    """The published indicators of every wave up to ``wave`` (``survey_wave`` names each figure's)."""
    columns = PUBLISHED_TABLES["published_indicator_history"].columns
    if published is None or published.empty:
        return pd.DataFrame(columns=list(columns)).assign(wave=pd.Series(dtype=object))
    history = published[published["wave"].astype(str) <= str(wave)]
    return typed_table(history.rename(columns={"wave": "survey_wave"}), columns, str(wave))


def empty_publication(wave: str) -> dict[str, pd.DataFrame]:
    """Every published table, empty (a wave with nothing to publish)."""
    return {name: pd.DataFrame(columns=list(spec.columns)).assign(wave=pd.Series(dtype=object))
            for name, spec in PUBLISHED_TABLES.items()}


def describe(publication: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many figures each published table hides (for the run's metadata)."""
    out = {}
    for name, frame in publication.items():
        if "suppressed" in frame.columns and len(frame):
            out[name] = int(np.asarray(frame["suppressed"], dtype=bool).sum())
    return out


def wave_inputs_table(wave: str, assessment, sources: pd.DataFrame | None, overlap: pd.DataFrame | None) -> pd.DataFrame:
    """Which of the wave's inputs were received, and for the others the sentence every page that
    would use them says ("no stakeholder interviews in this wave"). Whether a file came, never a count."""
    from assets.ingest.readiness import ABSENT_STATEMENT, INPUT_LABEL

    received = set(sources["dataset"]) if sources is not None and len(sources) else set()
    if overlap is not None and len(overlap):
        received.add("case_lists")
    rows = []
    for name, status in assessment.config.wave_inputs.status(wave).items():
        if name in received:
            state, statement = "received", ""
        elif status == "absent":
            state, statement = "not collected by design", f"{INPUT_LABEL[name]}: not collected in this wave, by design"
        else:
            state, statement = "not received", ABSENT_STATEMENT[name]
        rows.append({"wave": wave, "input": name, "label": INPUT_LABEL[name], "status": state,
                     "statement": statement[:1].upper() + statement[1:] + ("." if statement else "")})
    return pd.DataFrame(rows, columns=WAVE_INPUT_COLUMNS)


def _received(sections: dict[str, pd.DataFrame], missing: set[str]) -> dict[str, pd.DataFrame]:
    """The quality summary's sections without the rows of datasets the wave did not receive."""
    if not missing:
        return sections
    return {name: frame[~frame["dataset"].astype(str).isin(missing)].reset_index(drop=True)
            if isinstance(frame, pd.DataFrame) and "dataset" in frame.columns else frame
            for name, frame in sections.items()}
