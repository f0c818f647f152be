"""The one place that builds the assessment's Dagster Definitions (the code location)."""

from __future__ import annotations

import dagster as dg

from assets.estimates import assets as estimates
from assets.ingest import assets as ingest
from assets.report import assets as report
from pipelines.partitions import survey_waves
from pipelines.resources import WarehouseIOManager, settings_from_environment

_settings = settings_from_environment()

assessment_job = dg.define_asset_job(
    "assessment", selection=dg.AssetSelection.all(), partitions_def=survey_waves,
    description="Re-run the whole needs assessment for one survey wave: ingest, estimates, report.")

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, estimates, report]),
    jobs=[assessment_job],
    resources={"settings": _settings, "io_manager": WarehouseIOManager(settings=_settings)},
)
