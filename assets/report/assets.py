"""Report stage: the published site of the wave, built from the publication gate's tables only.

The report asset is built with the assessment's Definitions (:func:`report_asset`): its inputs are the
gate's tables and the published indicators of every further survey instrument the config declares."""

from collections.abc import Iterable

import dagster as dg
import pandas as pd

from assets.publication.gate import PUBLISHED_TABLES
from assets.report.output_folder import check_output_folder
from assets.report.site import Provenance, build_site, code_version, now_utc, weighting_note
from pipelines.failures import value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings


def report_asset(tables: Iterable[str] = tuple(PUBLISHED_TABLES)) -> dg.AssetsDefinition:
    """The report asset reading ``tables``: the gate's tables and each further instrument's published
    indicators (:func:`assets.publication.gate.published_tables`), and nothing else."""

    @dg.asset(name="assessment_report", partitions_def=survey_waves, group_name="report", kinds={"html"},
              owners=["team:evaluation"], ins={name: dg.AssetIn() for name in tables})
    @value_safe
    def _report(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                **published: pd.DataFrame) -> dg.MaterializeResult:
        """The published needs-assessment site for the wave: executive summary with change since the
        previous wave, law enforcement with the county map, stakeholder and survivor voices (and the
        stakeholder survey), services and gaps by county, prevalence, trends, the seven recommendations and
        their measures, data quality, methods, and downloads (indicators CSV, XLSX workbook). Every number
        comes from the publication gate's tables (its only inputs); offline, with the synthetic-data banner
        when built from demo data."""
        return _build(context, settings, published)

    return _report


def _build(context: dg.AssetExecutionContext, settings: AssessmentSettings,
           published: dict[str, pd.DataFrame]) -> dg.MaterializeResult:
    a = settings.assessment()
    sources = published["published_sources"]
    prov = Provenance(
        wave=context.partition_key, code_version=code_version(), built_at=now_utc(),
        synthetic=bool(sources["synthetic"].astype(bool).any()) if len(sources) else False,
        state=a.config.state.name, min_cell_count=a.min_cell_count, weighting_note=weighting_note(a))
    check_output_folder(settings.output_path(), settings.data_path(), settings.warehouse_path())
    index = build_site(settings.output_path(), published, prov, assessment=a)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.url(index.as_uri()),
        "path": dg.MetadataValue.path(str(index)),
        "synthetic": prov.synthetic,
    })
