"""The one place that builds an assessment's Dagster Definitions: :func:`build_definitions`.

Called by the project's code location (``pipelines/definitions.py``, the config of this checkout), by
each state's location of a multi-state workspace (``pipelines/states.py``) and by ``htna run``; importing
this module builds nothing."""

import dagster as dg

from assets.estimates import assets as estimates
from assets.ingest import assets as ingest
from assets.models import assets as models
from assets.prevalence import assets as prevalence
from assets.publication import assets as publication
from assets.quality import assets as quality
from assets.report import assets as report
from assets.instruments import instrument_assets, quality_summary_asset
from assets.publication.assets import publication_asset
from assets.publication.gate import published_tables
from assets.report.assets import report_asset
from pipelines.config import Assessment, Execution
from pipelines.coordination import STATE_TAG
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings, WarehouseIOManager
from pipelines.sensors import build_incoming_exports_sensor
from pipelines.versions import AssetVersions

# Stage modules in the order of the flow: ingest → quality → estimates → models → prevalence → publication
# (the disclosure gate) → report. The quality checks, the gate's multi-asset (it reads every instrument's
# data-quality tables), the report asset and every further survey instrument's assets (the asset factory of
# assets/instruments.py) are built from the assessment's config here.
STAGES = [ingest, quality, estimates, models, prevalence, publication, report]


def build_definitions(settings: AssessmentSettings, state: str | None = None) -> dg.Definitions:
    """Definitions for one assessment (config, data folder, warehouse, output folder). ``state``: the
    state's name in a multi-state workspace (:mod:`pipelines.states`), put on every run of its job as the
    tag ``htna/state`` (the run queue's one-run-per-state limit and the wave lock read it)."""
    assessment = settings.assessment()
    executor = run_executor(assessment.config.execution)
    assessment_job = dg.define_asset_job(
        "assessment", selection=dg.AssetSelection.all(), partitions_def=survey_waves, executor_def=executor,
        tags={STATE_TAG: state} if state else None,
        description="Re-run the whole needs assessment for one survey wave: ingest, checks, estimates, report.")
    # every survey instrument but the officer survey: its own group of assets, from its block of config
    built = [instrument_assets(i, assessment) for i in assessment.other_instruments]
    staged = [(_stage(m), (), a) for m in STAGES for a in dg.load_assets_from_modules([m])]
    staged += [(b.stage_of[a.node_def.name], ("assets.instruments",), a) for b in built for a in b.assets]
    staged.append(("publication", (), publication_asset(quality_summary_asset(i) for i in assessment.other_instruments)))
    staged.append(("report", (), report_asset(published_tables(assessment))))
    return dg.Definitions(
        assets=versioned_assets(assessment, staged),
        asset_checks=[*dg.load_asset_checks_from_modules(STAGES), *quality.dataset_checks(assessment),
                      *(c for b in built for c in b.asset_checks)],
        jobs=[assessment_job],
        sensors=[build_incoming_exports_sensor(assessment_job)],
        resources={"settings": settings, "io_manager": WarehouseIOManager(settings=settings)},
        executor=executor,  # also for materialising assets from the UI's asset pages
    )


def _stage(module) -> str:
    """The stage a module of STAGES belongs to: its package under assets/."""
    return module.__name__.split(".")[1]


def versioned_assets(assessment: Assessment,
                     built: list[tuple[str, tuple[str, ...], dg.AssetsDefinition]]) -> list[dg.AssetsDefinition]:
    """Each asset with its code version (Dagster's ``code_version``): the code of its stage (and of the
    modules named beside it) and the config that stage reads (:mod:`pipelines.versions`). ``built``:
    (stage, further modules of its code, asset) for every asset."""
    versions = AssetVersions(assessment)
    out = []
    for stage, extra, asset in built:
        version = versions.code_version(stage, extra)
        out.append(asset.map_asset_specs(lambda spec, v=version: spec.replace_attributes(code_version=v)))
    return out


def run_executor(execution: Execution) -> dg.ExecutorDefinition:
    """The config's executor: every step in the run's process, or a bounded number of step processes."""
    if execution.executor == "in_process":
        return dg.in_process_executor
    return dg.multiprocess_executor.configured({"max_concurrent": execution.max_processes})

