"""The asset factory of a survey instrument: from its block of config (``instruments:`` in assessment.yaml)
to its own group of Dagster assets.

The officer survey's assets are the assessment's stages (weights, headline estimates, models, county
estimates). Every further instrument (the stakeholder survey) gets, in a group named by its id:

``<id>_responses`` and ``<id>_responses_quarantine``
    its export read onto its codebook by the officer survey's readers (same declared-codes rules and
    quarantine; rows read = accepted + quarantined);
``accepted_<id>_responses`` with its asset checks
    the rows its expectation suite accepts, every expectation an asset check;
``<id>_check_results``
    the checks as run (internal);
``<id>_quality_summary``
    its data-quality tables (status, checks, rows held back by reason, completeness per question), as
    the officer survey's ``data_quality_summary``: the publication gate reads both, under one rule, for
    the data-quality page (:func:`quality_summary_asset` names it);
``<stem>_indicators``
    its indicators by its domains, unweighted, with Wilson intervals;

and, in the publication group, ``published_<stem>_indicators``: the same through the gate's rule. The
instrument ``services.survey_evidence`` names also gets ``<stem>_service_evidence`` (per county served and
service type, its respondents' organisations providing it: the services page's evidence where the provider
inventory is silent) and publishes it as ``published_<stem>_services`` together with its indicators, in one
pattern of hidden cells (:func:`assets.publication.instruments.publish_instrument_tables`). The
work is in plain functions (:mod:`assets.ingest.instrument_responses`,
:mod:`assets.quality.instrument_screening`, :mod:`assets.estimates.instrument_indicators`,
:mod:`assets.publication.instruments`); these assets only call them.
"""


import warnings
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from pipelines.config import OFFICER_INSTRUMENT, Assessment, Instrument
from pipelines.failures import as_user_failure, value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings

OWNERS = ["team:evaluation"]
PUBLICATION_GROUP = "publication"


def quality_summary_asset(instrument: Instrument) -> str:
    """The asset holding an instrument's data-quality tables (the officer survey's: ``data_quality_summary``)."""
    return "data_quality_summary" if instrument.id == OFFICER_INSTRUMENT else f"{instrument.id}_quality_summary"


@dataclass(frozen=True)
class InstrumentDefinitions:
    """What the factory built for one instrument."""

    assets: list[dg.AssetsDefinition]
    asset_checks: list[dg.AssetChecksDefinition]
    #: the stage whose code each asset runs (by node name), for its code version (pipelines/versions.py)
    stage_of: dict[str, str]


def instrument_assets(instrument: Instrument, assessment: Assessment) -> InstrumentDefinitions:
    """The Dagster assets and asset checks of one instrument (not the officer survey) of ``assessment``."""
    from assets.quality.instrument_screening import instrument_suite
    from assets.quality.suites import check_names

    view = assessment.for_instrument(instrument.id)
    group, iid = instrument.id, instrument.id
    responses, quarantine = instrument.responses_asset, f"{instrument.responses_asset}_quarantine"
    accepted, results = f"accepted_{instrument.responses_asset}", f"{iid}_check_results"
    summary = quality_summary_asset(instrument)
    indicators, published = instrument.indicators_asset, instrument.published_table
    unit = instrument.disclosure_unit

    @dg.multi_asset(
        name=f"{iid}_ingest", partitions_def=survey_waves, group_name=group, can_subset=False,
        ins={"survey_exports": dg.AssetIn()},
        outs={
            responses: dg.AssetOut(
                kinds={"duckdb"}, owners=OWNERS,
                description=f"One row per respondent of the {instrument.label.lower()} this wave, in its codebook's "
                            "variables and answer labels (open-ended answers as theme codes only), with derived "
                            "domains. Empty in a wave without its export (an optional input)."),
            quarantine: dg.AssetOut(
                kinds={"duckdb"}, owners=OWNERS,
                description=f"Rows of the {instrument.label.lower()} export held back at ingestion, each with the "
                            "check it failed and why (blank, preview or test response, missing or repeated "
                            "respondent id, an undeclared code, an answer outside the codebook). Rows read = "
                            "accepted + quarantined."),
        },
    )
    @value_safe
    def _ingest(context: dg.AssetExecutionContext, settings: AssessmentSettings, survey_exports: pd.DataFrame):
        from assets.ingest.archive import apply_retention, archive_export
        from assets.ingest.exports import wave_folder
        from assets.ingest.instrument_responses import empty_instrument_responses, read_instrument_export
        from pipelines.input_files import check_input_file

        wave = context.partition_key
        a = settings.assessment()
        me = a.for_instrument(iid)
        files = survey_exports.loc[survey_exports["dataset"] == iid, "file_name"]
        if files.empty:
            context.log.info(f"no {iid} export for wave {wave}: empty tables")
            table, held = empty_instrument_responses(me, responses)
            yield dg.Output(table, output_name=responses, metadata={"export": False, "rows_read": 0})
            yield dg.Output(held, output_name=quarantine)
            return
        folder = wave_folder(settings.data_path(), wave)
        path = folder / files.iloc[0]
        check_input_file(path, folder, a.config.input_limits)
        archived = archive_export(path, wave, settings.warehouse_path().parent / "raw_archive", dataset=iid)
        apply_retention(settings.warehouse_path().parent / "raw_archive", a.config.raw_archive.keep_waves)
        table, held, report = read_instrument_export(path, me, wave, responses)
        yield dg.Output(table, output_name=responses, metadata={
            "export": True, "file_name": path.name, "rows_read": report.rows_read,
            "rows_accepted": report.rows_accepted, "rows_quarantined": report.rows_quarantined,
            "reconciles": report.reconciles(), "format": report.format,
            "unmatched_questions": dg.MetadataValue.json(report.unmatched_questions),
            "not_collected": dg.MetadataValue.json(report.not_collected),
            "archived_sha256": archived.record.sha256})
        yield dg.Output(held, output_name=quarantine, metadata={"by_reason": dg.MetadataValue.json(report.quarantined)})

    @dg.multi_asset(
        name=f"{iid}_screening", partitions_def=survey_waves, group_name=group, can_subset=False,
        ins={responses: dg.AssetIn(), quarantine: dg.AssetIn(), "survey_exports": dg.AssetIn()},
        outs={
            accepted: dg.AssetOut(
                kinds={"pandas", "duckdb"}, owners=OWNERS,
                description=f"{instrument.label} responses accepted for its indicators: {responses} minus every "
                            f"row the checks of expectations/{instrument.expectations}.json quarantined (speeders, "
                            "straight-lining, answers outside the codebook, ineligible or repeated respondents)."),
            results: dg.AssetOut(
                kinds={"duckdb"}, owners=OWNERS,
                description=f"One row per quality check run on the {instrument.label.lower()} this wave: severity, "
                            "passed, rows evaluated and failing, rows quarantined, what to fix, example source "
                            "rows (internal; not for publication)."),
            summary: dg.AssetOut(
                kinds={"duckdb"}, owners=OWNERS,
                description=f"The {instrument.label.lower()}'s data-quality tables for the published quality page, "
                            "one section per table: its status (estimable or held back, rows read, accepted, "
                            "quarantined), its checks and their result, rows held back by reason, completeness per "
                            "question. Counts and shares only; the publication gate hides the small ones."),
        },
    )
    @value_safe
    def _screening(context: dg.AssetExecutionContext, settings: AssessmentSettings, survey_exports: pd.DataFrame,
                   **tables: pd.DataFrame):
        from assets.quality.instrument_screening import screen_instrument
        from assets.quality.screening import rows_read_from_exports

        a = settings.assessment()
        screened = screen_instrument(tables[responses], tables[quarantine], a.for_instrument(iid), instrument,
                                     context.partition_key, rows_read_from_exports(survey_exports, iid) or 0)
        yield dg.Output(screened.accepted, output_name=accepted,
                        metadata={"rows": len(screened.accepted), "rows_quarantined": len(screened.quarantine)})
        yield dg.Output(screened.check_results, output_name=results)
        yield dg.Output(screened.summary, output_name=summary)

    suite = instrument_suite(view, instrument)
    with warnings.catch_warnings():  # partitioned asset checks are a Dagster preview feature
        warnings.simplefilter("ignore", dg.PreviewWarning)
        specs = [dg.AssetCheckSpec(name, asset=accepted, blocking=blocking, description=description,
                                   additional_deps=[results], partitions_def=survey_waves)
                 for name, blocking, description in check_names(suite, reconcile=True)]

    @dg.multi_asset_check(name=f"{iid}_checks", specs=specs, ins={results: dg.AssetIn()},
                          description=f"Every expectation of expectations/{instrument.expectations}.json, as run "
                                      "on the wave.")
    @value_safe
    def _checks(context: dg.AssetCheckExecutionContext, **inputs: pd.DataFrame):
        from assets.quality.assets import check_result
        from assets.quality.results import blocking_message

        run = inputs[results]
        by_name = run.set_index("check", drop=False)
        for spec in specs:
            if spec.name in by_name.index:
                yield check_result(by_name.loc[spec.name], accepted)
            else:
                yield dg.AssetCheckResult(
                    check_name=spec.name, asset_key=accepted, passed=False, severity=dg.AssetCheckSeverity.WARN,
                    description="not run: the suite changed after the code location loaded; reload it and re-run")
        message = blocking_message(run, suite.dataset, context.partition_key)
        if message:
            raise dg.Failure(description=message, allow_retries=False)

    @dg.asset(name=indicators, partitions_def=survey_waves, group_name=group, kinds={"pandas", "duckdb"},
              owners=OWNERS, ins={accepted: dg.AssetIn()},
              description=f"The {instrument.label.lower()}'s indicators overall and by "
                          f"{', '.join(instrument.domains) or 'nothing'}: the share of {unit} who answered each "
                          "question (within its subgroup) whose answer counts, unweighted, with Wilson intervals, "
                          "and every count as computed (internal; the gate decides what is published).")
    @value_safe
    def _indicators(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                    **inputs: pd.DataFrame) -> pd.DataFrame:
        from assets.estimates.instrument_indicators import instrument_indicators

        a = settings.assessment()
        with as_user_failure():
            return instrument_indicators(inputs[accepted], a.for_instrument(iid), instrument, context.partition_key,
                                         a.config.estimates.level)

    from assets.publication.gate import evidence_instrument

    if evidence_instrument(assessment) == iid:
        evidence, publication = _evidence_assets(instrument, accepted, indicators)
        return InstrumentDefinitions(
            assets=[_ingest, _screening, _indicators, evidence, publication], asset_checks=[_checks],
            stage_of={_ingest.node_def.name: "ingest", _screening.node_def.name: "quality",
                      _indicators.node_def.name: "estimates", evidence.node_def.name: "estimates",
                      publication.node_def.name: "publication"})

    @dg.asset(name=published, partitions_def=survey_waves, group_name=PUBLICATION_GROUP, kinds={"duckdb"},
              owners=OWNERS, ins={indicators: dg.AssetIn()},
              description=f"The {instrument.label.lower()}'s indicators as published: cells resting on fewer than "
                          f"the minimum of {unit} (or of answers either way) hidden, with the cells that would give "
                          "them away; shares and intervals rounded; unweighted, and marked so.")
    @value_safe
    def _published(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                   **inputs: pd.DataFrame) -> pd.DataFrame:
        from assets.publication.gate import instrument_table, typed_table
        from assets.publication.instruments import publish_instrument_indicators
        from assets.publication.policy import DisclosurePolicy

        a = settings.assessment()
        table = publish_instrument_indicators(inputs[indicators], a.for_instrument(iid).indicators.indicators,
                                              DisclosurePolicy.from_assessment(a))
        return typed_table(table, instrument_table(instrument).columns, context.partition_key)

    return InstrumentDefinitions(
        assets=[_ingest, _screening, _indicators, _published], asset_checks=[_checks],
        stage_of={_ingest.node_def.name: "ingest", _screening.node_def.name: "quality",
                  _indicators.node_def.name: "estimates", _published.node_def.name: "publication"})


def _evidence_assets(instrument: Instrument, accepted: str, indicators: str) -> list[dg.AssetsDefinition]:
    """For the instrument ``services.survey_evidence`` names: its survey evidence of the services page, and its
    indicators and that evidence published together (one pattern of hidden cells over the same respondents)."""
    iid, evidence = instrument.id, instrument.evidence_asset
    published, published_evidence = instrument.published_table, instrument.published_evidence_table
    label, unit = instrument.label.lower(), instrument.disclosure_unit

    @dg.asset(name=evidence, partitions_def=survey_waves, group_name=iid, kinds={"pandas", "duckdb"},
              owners=OWNERS, ins={accepted: dg.AssetIn()},
              description=f"Per county served and service type, how many {unit} of the {label} say their "
                          "organisation provides the service, and how many of those are reachable after hours "
                          "(overall and by the instrument's domains too), with every indicator by county: the "
                          "evidence the services page shows where the provider inventory is silent (internal; "
                          "the gate decides what is published).")
    @value_safe
    def _evidence(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                  **inputs: pd.DataFrame) -> pd.DataFrame:
        from assets.estimates.service_evidence import service_evidence
        from pipelines.config.evidence import evidence_mapping

        a = settings.assessment()
        mapping, _ = evidence_mapping(a)
        with as_user_failure():
            return service_evidence(inputs[accepted], a.for_instrument(iid), instrument, mapping,
                                    context.partition_key, a.config.estimates.level)

    @dg.multi_asset(
        name=f"{iid}_publication", partitions_def=survey_waves, group_name=PUBLICATION_GROUP, can_subset=False,
        ins={indicators: dg.AssetIn(), evidence: dg.AssetIn()},
        outs={
            published: dg.AssetOut(
                kinds={"duckdb"}, owners=OWNERS,
                description=f"The {label}'s indicators as published: cells resting on fewer than the minimum of "
                            f"{unit} (or of answers either way) hidden, with the cells that would give them away "
                            "(also through the services page's county counts); shares and intervals rounded; "
                            "unweighted, and marked so."),
            published_evidence: dg.AssetOut(
                kinds={"duckdb"}, owners=OWNERS,
                description=f"Per county and service type, the {unit}' organisations that say they provide it (and "
                            "are reachable after hours), as the services page shows them where the inventory is "
                            "silent: hidden below the minimum with the cells that would give them away, protected "
                            "with the indicators of the same respondents; labelled as reported by respondents."),
        },
    )
    @value_safe
    def _publication(context: dg.AssetExecutionContext, settings: AssessmentSettings, **inputs: pd.DataFrame):
        from assets.publication.gate import evidence_table, instrument_table, typed_table
        from assets.publication.instruments import publish_with_evidence
        from assets.publication.policy import DisclosurePolicy

        a = settings.assessment()
        table, shown = publish_with_evidence(inputs[indicators], inputs[evidence], a, instrument,
                                             DisclosurePolicy.from_assessment(a))
        wave = context.partition_key
        yield dg.Output(typed_table(table, instrument_table(instrument).columns, wave), output_name=published)
        yield dg.Output(typed_table(shown, evidence_table(instrument).columns, wave), output_name=published_evidence,
                        metadata={"hidden": int(shown["suppressed"].astype(bool).sum()) if len(shown) else 0})

    return [_evidence, _publication]
