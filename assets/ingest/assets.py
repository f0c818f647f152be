"""Ingest stage: the wave's exports as received, and the canonical tables built from them."""


import dagster as dg
import pandas as pd

from assets.ingest.drop_folder import wave_fingerprint
from assets.ingest.exports import find_exports, read_interviews, wave_folder
from assets.ingest.officer_responses import survey_questions, to_officer_responses
from assets.ingest.archive import apply_retention, archive_export
from assets.ingest.readers import is_kept, read_export
from assets.ingest.readiness import ABSENT_STATEMENT, refusal, wave_readiness
from assets.quality.agreement import rule_precision
from assets.ingest.service_inventory import empty_service_providers, empty_service_quarantine, read_service_inventory
from pipelines.coordination import record_run_inputs
from pipelines.failures import as_user_failure, value_safe
from pipelines.input_files import check_input_file
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings
from pipelines.versions import folder_output

GROUP = "ingest"


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"csv", "duckdb"}, owners=["team:evaluation"])
@value_safe
def survey_exports(context: dg.AssetExecutionContext, settings: AssessmentSettings) -> dg.Output[pd.DataFrame]:
    """The files received for this wave, as received: dataset, file name, SHA-256, size and respondent
    rows. The fingerprint ties every published number to the exact exports it came from."""
    with as_user_failure():
        assessment = settings.assessment()
        wave = context.partition_key
        # a folder missing a required input, or differing from its READY manifest, is never run (whoever
        # started the run): the same rule as `htna run` and the drop-folder sensor
        readiness = wave_readiness(assessment, wave, settings.data_path() / "incoming" / wave)
        problem = refusal(readiness)
        if problem is not None:
            raise problem
        # the folder's fingerprint before reading it: the drop-folder sensor compares it with the folder's content
        fingerprint = wave_fingerprint(settings.data_path(), wave)
        record_run_inputs(context.instance, context.run_id, fingerprint, settings.warehouse_path())
        exports = find_exports(settings.data_path(), wave, assessment.config.input_limits)
        context.add_output_metadata({
            "files": len(exports), "synthetic": bool(exports["synthetic"].any()),
            "ready_manifest": readiness.manifest,
            "absent_optional": dg.MetadataValue.json(readiness.absent_optional),
            "absent_by_design": dg.MetadataValue.json(readiness.absent_by_design)})
        for name in readiness.absent_optional:
            context.log.warning(f"wave {wave}: {ABSENT_STATEMENT[name]} (optional; the pages that use it say so)")
        # its data version is the folder's content: the assets below are fresh while it and their code are
        return folder_output(context, exports, fingerprint)


@dg.multi_asset(
    partitions_def=survey_waves, group_name=GROUP, can_subset=False,
    ins={"survey_exports": dg.AssetIn()},
    outs={
        "officer_responses": dg.AssetOut(
            kinds={"duckdb"}, owners=["team:evaluation"],
            description="One row per officer who answered the law-enforcement survey this wave, in the "
                        "codebook's variables and answer labels, with derived domains (county group, "
                        "experience band, handled a case)."),
        "officer_responses_quarantine": dg.AssetOut(
            kinds={"duckdb"}, owners=["team:evaluation"],
            description="Export rows held back from estimation, each with the check it failed and why "
                        "(blank response, duplicate or missing respondent id, an answer code nothing declares, an "
                        "answer outside the codebook). Rows read = accepted + quarantined."),
        "open_ended_rule_precision": dg.AssetOut(
            kinds={"duckdb"}, owners=["team:evaluation"],
            description="How well the keyword rules of each open-ended question's coding frame find its themes, "
                        "against the answers the evaluator coded by hand this wave: per theme, answers hand-coded, "
                        "true and false positives, false negatives, precision and recall with Wilson intervals. "
                        "Counts of coded answers only (no text). Empty without a hand-coded file."),
        "officer_survey_questions": dg.AssetOut(
            kinds={"duckdb"}, owners=["team:evaluation"],
            description="Which of the codebook's questions this wave's export carried: one row per question (and "
                        "per multi-select option or derived domain missing from it), collected or 'not collected in "
                        "this wave', with the export column it was found in and how. A question not collected "
                        "leaves out only the indicators, models and checks that need it."),
    },
)
@value_safe
def officer_responses(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                      survey_exports: pd.DataFrame):
    """The officer survey export mapped onto the codebook, with unusable rows quarantined, and which of
    the codebook's questions the export carried."""
    wave = context.partition_key
    with as_user_failure():
        assessment = settings.assessment()
        name = survey_exports.loc[survey_exports["dataset"] == "officer_survey", "file_name"].iloc[0]
        folder = wave_folder(settings.data_path(), wave)
        path = folder / name
        # a regular file of the wave folder within the limits (its content was checked by survey_exports
        # if it is still the file read there)
        check_input_file(path, folder, assessment.config.input_limits, content=not is_kept(path))
        # every export is kept, by content hash, beside the warehouse (owner-only), with its wave; the hash
        # survey_exports took is reused while the file is the one it read in this process (else hashed again)
        digest = survey_exports.loc[survey_exports["dataset"] == "officer_survey", "sha256"].iloc[0]
        archived = archive_export(path, wave, settings.warehouse_path().parent / "raw_archive",
                                  sha256=digest if is_kept(path) else None)
        # exports of older waves than the configured retention are deleted (their records stay)
        removed = apply_retention(settings.warehouse_path().parent / "raw_archive",
                                  assessment.config.raw_archive.keep_waves)
        raw = read_export(path)  # any supported layout, detected from the file
        accepted, quarantine, report = to_officer_responses(raw, assessment, wave)
    meta = {
        "rows_read": report.rows_read, "rows_accepted": report.rows_accepted,
        "rows_quarantined": int(sum(report.quarantined.values())),
        "reconciles": report.reconciles(),
        "unmatched_questions": dg.MetadataValue.json(report.unmatched_questions),
        "missing_variables": dg.MetadataValue.json(report.missing_variables),
        "value_problems": len(report.value_problems),  # counts only: the answers stay out of metadata
        "format": report.format, "encoding": report.encoding,
        "matched_by": dg.MetadataValue.json(report.matched_by),
        "unplaced_counties": report.unplaced_counties,
        "archived_sha256": archived.record.sha256, "archived_new_version": archived.new,
        "archive_exports_removed": len(removed),
    }
    meta["not_collected"] = dg.MetadataValue.json(report.not_collected)
    meta["coded_columns"] = dg.MetadataValue.json(report.codes)  # codes (declared metadata), never answers
    if report.not_collected:
        context.log.warning(report.not_collected_message())
    yield dg.Output(accepted, output_name="officer_responses", metadata=meta)
    yield dg.Output(quarantine, output_name="officer_responses_quarantine",
                    metadata={"by_reason": dg.MetadataValue.json(report.quarantined)})
    precision = rule_precision(report.rule_check, wave, assessment.frames.agreement.level)
    yield dg.Output(precision, output_name="open_ended_rule_precision",
                    metadata={"hand_coded": dg.MetadataValue.json(report.hand_coded)})
    questions = survey_questions(report, assessment, wave)
    yield dg.Output(questions, output_name="officer_survey_questions",
                    metadata={"file_name": str(name), "not_collected": dg.MetadataValue.json(
                        [str(x) for x in questions.loc[~questions["collected"], "variable"]])})


def _interview_asset(dataset: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(name=dataset, partitions_def=survey_waves, group_name=GROUP, kinds={"csv", "duckdb"},
              owners=["team:evaluation"], description=description, ins={"survey_exports": dg.AssetIn()})
    @value_safe
    def _asset(context: dg.AssetExecutionContext, settings: AssessmentSettings,
               survey_exports: pd.DataFrame) -> pd.DataFrame:
        wave = context.partition_key
        files = survey_exports.loc[survey_exports["dataset"] == dataset, "file_name"]
        with as_user_failure():
            assessment = settings.assessment()
            frame = getattr(assessment.frames, dataset)
            if files.empty:
                context.log.warning(f"no {dataset} file for wave {wave}")
                return pd.DataFrame(columns=["wave", "interview_id"])
            folder = wave_folder(settings.data_path(), wave)
            path = folder / files.iloc[0]
            check_input_file(path, folder, assessment.config.input_limits)
            table = read_interviews(path, frame, dataset, wave)
            # a matrix the run could read is kept byte for byte beside the warehouse like every export (README:
            # raw archive), with retention; one it refused is not kept
            archived = archive_export(path, wave, settings.warehouse_path().parent / "raw_archive", dataset=dataset)
            apply_retention(settings.warehouse_path().parent / "raw_archive", assessment.config.raw_archive.keep_waves)
        context.add_output_metadata({"file_name": path.name, "rows": len(table),
                                     "archived_sha256": archived.record.sha256, "archived_new_version": archived.new})
        return table

    return _asset


stakeholder_interviews = _interview_asset(
    "stakeholder_interviews",
    "Coded stakeholder interviews (providers, police, prosecutors, advocates): one row per interview with "
    "sector, region and a yes/no per service-gap or barrier theme of the coding frame.")
survivor_interviews = _interview_asset(
    "survivor_interviews",
    "Coded survivor interviews: one row per interview with region and a yes/no per theme of the coding frame.")


@dg.multi_asset(
    partitions_def=survey_waves, group_name=GROUP, can_subset=False,
    ins={"survey_exports": dg.AssetIn()},
    outs={
        "service_providers": dg.AssetOut(
            kinds={"duckdb"}, owners=["team:evaluation"],
            description="The service-provider inventory of this wave: one row per provider (organisation) with "
                        "the counties it serves, its service types (emergency response, basic needs, shelter and "
                        "housing, medical, legal, mental health, substance use treatment, mentorship) and whether "
                        "it can be reached after hours or 24/7. Internal: provider names are never published. "
                        "Empty for a wave without provider_inventory.csv."),
        "service_providers_quarantine": dg.AssetOut(
            kinds={"duckdb"}, owners=["team:evaluation"],
            description="Inventory rows held back, each with its line in the file, the check it failed and why "
                        "(no provider name, unknown county, service type or hours) and the offending value, "
                        "never the provider's name. Rows read = accepted + quarantined."),
    },
)
@value_safe
def service_providers(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                      survey_exports: pd.DataFrame):
    """The wave's service-provider inventory matched to the config's counties, service types and hours."""
    wave = context.partition_key
    files = survey_exports.loc[survey_exports["dataset"] == "provider_inventory", "file_name"]
    if files.empty:
        context.log.info(f"no provider inventory for wave {wave}: empty service tables")
        yield dg.Output(empty_service_providers(), output_name="service_providers",
                        metadata={"inventory": False, "rows_read": 0})
        yield dg.Output(empty_service_quarantine(), output_name="service_providers_quarantine")
        return
    with as_user_failure():
        assessment = settings.assessment()
        folder = wave_folder(settings.data_path(), wave)
        path = folder / files.iloc[0]
        check_input_file(path, folder, assessment.config.input_limits)
        archived = archive_export(path, wave, settings.warehouse_path().parent / "raw_archive",
                                  dataset="provider_inventory")
        apply_retention(settings.warehouse_path().parent / "raw_archive", assessment.config.raw_archive.keep_waves)
        accepted, quarantine, report = read_service_inventory(path, assessment, wave)
    meta = {"inventory": True, "file_name": report.file_name, "rows_read": report.rows_read,
            "rows_accepted": report.rows_accepted, "rows_quarantined": report.rows_quarantined,
            "reconciles": report.reconciles(), "encoding": report.encoding,
            "ignored_columns": dg.MetadataValue.json(report.ignored_columns),
            "notes": dg.MetadataValue.json(report.notes),
            "archived_sha256": archived.record.sha256, "archived_new_version": archived.new}
    yield dg.Output(accepted, output_name="service_providers", metadata=meta)
    yield dg.Output(quarantine, output_name="service_providers_quarantine",
                    metadata={"by_reason": dg.MetadataValue.json(report.quarantined)})
