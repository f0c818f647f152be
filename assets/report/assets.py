"""Report stage: the published site of the wave."""


import dagster as dg
import pandas as pd

from assets.estimates.publish import DisclosureRules
from assets.report.site import Provenance, build_site, code_version, now_utc, weighting_note
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings


@dg.asset(partitions_def=survey_waves, group_name="report", kinds={"html"}, owners=["team:evaluation"],
          ins={"headline_history": dg.AssetIn(key="headline_indicators",
                                               partition_mapping=dg.AllPartitionMapping())})
def assessment_report(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                      survey_exports: pd.DataFrame, headline_history: pd.DataFrame,
                      indicator_trends: pd.DataFrame,
                      interview_theme_counts: pd.DataFrame, interview_themes_by_group: pd.DataFrame,
                      data_quality_summary: pd.DataFrame,
                      training_gap_by_county: pd.DataFrame, training_gap_model: pd.DataFrame,
                      model_cards: pd.DataFrame, prevalence_estimate: pd.DataFrame,
                      case_list_overlap: pd.DataFrame, prevalence_sensitivity: pd.DataFrame,
                      service_coverage_by_county: pd.DataFrame,
                      counties_without_after_hours: pd.DataFrame) -> dg.MaterializeResult:
    """The published needs-assessment site for the wave: executive summary with change since the
    previous wave, law enforcement with the county map, stakeholder and survivor voices, services and
    gaps by county, prevalence, trends, the seven recommendations and their measures, data quality,
    methods, and downloads (indicators CSV, XLSX workbook). Built from aggregate tables only,
    offline, with the synthetic-data banner when built from demo data."""
    a = settings.assessment()
    wave = context.partition_key
    prov = Provenance(
        wave=wave, inputs=survey_exports[["dataset", "file_name", "rows", "sha256"]].to_dict("records"),
        code_version=code_version(), built_at=now_utc(), synthetic=bool(survey_exports["synthetic"].any()),
        state=a.config.state.name, min_cell_count=a.min_cell_count, weighting_note=weighting_note(a))
    history = headline_history[headline_history["wave"].astype(str) <= wave] if len(headline_history) \
        else headline_history
    headline = history[history["wave"].astype(str) == wave] if len(history) else history
    extra = {"headline_history": history, "indicator_trends": indicator_trends,
             "interview_themes_by_group": interview_themes_by_group,
             "data_quality_summary": data_quality_summary, "training_gap_by_county": training_gap_by_county,
             "training_gap_model": training_gap_model, "model_cards": model_cards,
             "prevalence_estimate": prevalence_estimate, "case_list_overlap": case_list_overlap,
             "prevalence_sensitivity": prevalence_sensitivity,
             "service_coverage_by_county": service_coverage_by_county,
             "counties_without_after_hours": counties_without_after_hours}
    index = build_site(settings.output_path(), headline, interview_theme_counts, prov,
                       DisclosureRules.from_assessment(a), extra=extra, assessment=a)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.url(index.as_uri()),
        "path": dg.MetadataValue.path(str(index)),
        "synthetic": prov.synthetic,
    })
