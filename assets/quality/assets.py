"""Quality stage: the wave's data screened against the expectation suites in ``expectations/``.

One step screens every survey dataset of the wave (Great Expectations for column-level
expectations, plain pandas for the survey rules) and stores the accepted rows, the quarantine table
and the check results. Then, per dataset, asset checks report every expectation in the Dagster UI
(passed or failed, severity, unexpected count and share, example source rows — never row
contents). A failed blocking check stops everything downstream of the dataset's accepted table,
with a message that says what to fix; row-level failures only quarantine rows.

Great Expectations is imported when a check runs, never when these definitions load: the suites
are read as JSON only, to declare one asset check per expectation. The checks depend on the config
(its codebook shapes the suites), so they are made for the assessment whose definitions are built
(:func:`dataset_checks`, called by ``pipelines.assessment_definitions``), never for a default config.
"""

import warnings
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from assets.quality.results import blocking_message
from assets.quality.stage import ACCEPTED, quality_stage
from assets.quality.suites import SURVEY_DATASETS, check_names, load_suites
from pipelines.config import Assessment
from pipelines.failures import as_user_failure, value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings
from pipelines.warehouse import RowsOf

GROUP = "quality"
OWNERS = ["team:evaluation"]

_DESCRIPTIONS = {
    "officer_responses": "Officer survey responses accepted for estimation: officer_responses minus every row the "
                         "quality checks quarantined (speeders, straight-lining, inconsistent or impossible answers, "
                         "ineligible or duplicate respondents). The headline estimates read this table; if a "
                         "blocking check fails, nothing downstream of it runs for the wave.",
    "stakeholder_interviews": "Coded stakeholder interviews accepted for analysis: stakeholder_interviews minus the "
                              "interviews the quality checks quarantined (no or repeated id, codes outside the coding "
                              "frame, never coded), with each interview's line in the code matrix (source_row).",
    "survivor_interviews": "Coded survivor interviews accepted for analysis: survivor_interviews minus the interviews "
                           "the quality checks quarantined (no or repeated id, codes outside the coding frame, never "
                           "coded), with each interview's line in the code matrix (source_row).",
}


@dg.multi_asset(
    partitions_def=survey_waves, group_name=GROUP, can_subset=False,
    ins={"survey_exports": dg.AssetIn(), "officer_responses": dg.AssetIn(),
         "officer_responses_quarantine": dg.AssetIn(), "officer_survey_questions": dg.AssetIn(),
         "stakeholder_interviews": dg.AssetIn(), "survivor_interviews": dg.AssetIn()},
    outs={
        **{ACCEPTED[d]: dg.AssetOut(kinds={"pandas", "duckdb"}, owners=OWNERS, description=_DESCRIPTIONS[d])
           for d in SURVEY_DATASETS},
        "quarantine": dg.AssetOut(
            kinds={"duckdb"}, owners=OWNERS,
            description="Every row held back from estimation this wave, for every dataset: dataset, wave, "
                        "source_row (its line in the export), the check it failed and why — never its answers. "
                        "Includes the rows ingestion held back; rows read = accepted + quarantined."),
        "quality_check_results": dg.AssetOut(
            kinds={"duckdb"}, owners=OWNERS,
            description="One row per quality check run on the wave's data: dataset, check, severity (blocking or "
                        "row), passed, rows evaluated and failing, share, rows quarantined, a message and what to "
                        "fix, and up to five example source row numbers (internal; not for publication)."),
        "data_quality_summary": dg.AssetOut(
            kinds={"duckdb"}, owners=OWNERS,
            description="Aggregate data-quality tables for the published quality page, one section per table: "
                        "status per dataset (estimable or held back), checks run and their result, rows "
                        "quarantined by reason, completeness per question. Counts and shares only."),
    },
)
@value_safe
def quality_screening(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                      survey_exports: pd.DataFrame, officer_responses: pd.DataFrame,
                      officer_responses_quarantine: pd.DataFrame, officer_survey_questions: pd.DataFrame,
                      stakeholder_interviews: pd.DataFrame, survivor_interviews: pd.DataFrame) -> Iterator[dg.Output]:
    """Screen the wave's survey data against the expectation suites and store what passed and what not
    (the checks of questions not collected in this wave are not run)."""
    from assets.ingest.officer_responses import not_collected_in

    with as_user_failure():
        screening, tables = quality_stage(
            settings.assessment(), context.partition_key,
            {"officer_responses": officer_responses, "stakeholder_interviews": stakeholder_interviews,
             "survivor_interviews": survivor_interviews},
            exports=survey_exports, ingest_quarantine=officer_responses_quarantine,
            not_collected=not_collected_in(officer_survey_questions))
    for name, table in tables.items():
        meta: dict = {"rows": len(table)}
        if name == "quarantine":
            meta["by_check"] = dg.MetadataValue.json(table["check"].value_counts().to_dict())
        elif name.startswith("accepted_"):
            dataset = name.removeprefix("accepted_")
            d = screening.datasets[dataset]
            meta.update(rows_quarantined_by_checks=d.rows_quarantined, held_back=d.blocked)
            if dataset == "officer_responses":
                # officer_responses minus the quarantined rows: copied inside the warehouse rather
                # than written again from pandas (the same rows; see warehouse.RowsOf)
                row_id = load_suites(settings.assessment())[dataset].row_id
                table = RowsOf(source=dataset, key=row_id, frame=table,
                               excluded=d.quarantine["source_row"].to_numpy(dtype="int64"))
        yield dg.Output(table, output_name=name, metadata=meta)


def check_result(row: pd.Series, asset: str) -> dg.AssetCheckResult:
    """One row of the check results as the Dagster asset check of ``asset``."""
    blocking = row["severity"] == "blocking"
    meta: dict = {
        "severity": dg.MetadataValue.text(row["severity"]),
        "check_type": dg.MetadataValue.text(str(row["type"])),
        "rows_evaluated": dg.MetadataValue.int(int(row["evaluated"])),
        "unexpected_count": dg.MetadataValue.int(int(row["unexpected"])),
        "rows_quarantined": dg.MetadataValue.int(int(row["rows_quarantined"])),
        "example_source_rows": dg.MetadataValue.text(row["example_rows"] or ""),
    }
    if pd.notna(row["unexpected_percent"]):
        meta["unexpected_percent"] = dg.MetadataValue.float(float(row["unexpected_percent"]))
    for key in ("column", "observed", "threshold"):
        if isinstance(row[key], str) and row[key]:
            meta[key] = dg.MetadataValue.text(row[key])
    passed = bool(row["passed"])
    description = str(row["message"])
    if not passed and row["fix"]:
        description += f"\nFix: {row['fix']}"
    return dg.AssetCheckResult(
        check_name=str(row["check"]), asset_key=asset, passed=passed, metadata=meta, description=description,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN)


def _dataset_checks(dataset: str, suite) -> dg.AssetChecksDefinition:
    asset = ACCEPTED[dataset]
    with warnings.catch_warnings():  # partitioned asset checks are a Dagster preview feature
        warnings.simplefilter("ignore", dg.PreviewWarning)
        specs = [dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description,
                                   additional_deps=["quality_check_results"], partitions_def=survey_waves)
                 for name, blocking, description in check_names(suite)]

    @dg.multi_asset_check(name=f"{dataset}_checks", specs=specs, ins={"quality_check_results": dg.AssetIn()},
                          description=f"Every expectation of expectations/{dataset}.json, as run on the wave.")
    @value_safe
    def _checks(context: dg.AssetCheckExecutionContext, quality_check_results: pd.DataFrame):
        results = quality_check_results[quality_check_results["dataset"] == dataset].set_index("check", drop=False)
        for spec in specs:
            if spec.name in results.index:
                yield check_result(results.loc[spec.name], asset)
            else:  # the suite changed after the definitions loaded
                yield dg.AssetCheckResult(
                    check_name=spec.name, asset_key=asset, passed=False, severity=dg.AssetCheckSeverity.WARN,
                    description="not run: the suite changed after the code location loaded; reload it and re-run")
        message = blocking_message(quality_check_results, dataset, context.partition_key)
        if message:
            raise dg.Failure(description=message, allow_retries=False)

    return _checks


def dataset_checks(assessment: Assessment) -> list[dg.AssetChecksDefinition]:
    """One multi-check per survey dataset, one check per expectation of its suite as this assessment's
    config shapes it (a malformed suite stops the code location from loading, naming file and entry)."""
    suites = load_suites(assessment)
    return [_dataset_checks(dataset, suites[dataset]) for dataset in SURVEY_DATASETS]


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=OWNERS,
          ins={"survey_exports": dg.AssetIn()})
@value_safe
def intercoder_agreement(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                         survey_exports: pd.DataFrame) -> pd.DataFrame:
    """How far two coders agree on each theme, where a second coder coded some of the same
    interviews or open-ended answers this wave: units coded by both, percent agreement with its
    Wilson interval, Cohen's kappa with a bootstrap interval, and a flag for themes below the agreed
    kappa. About coders, not respondents; empty without a second coder's matrix."""
    from assets.ingest.exports import wave_folder
    from assets.quality.agreement import wave_agreement

    wave = context.partition_key
    with as_user_failure():
        a = settings.assessment()
        table = wave_agreement(a, wave_folder(settings.data_path(), wave), wave, a.config.input_limits)
    context.add_output_metadata({"themes": len(table), "flagged": int(table["flagged"].astype(bool).sum())})
    return table
