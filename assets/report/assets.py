"""Report stage: the published site of the wave."""


import dagster as dg
import pandas as pd

from assets.estimates.publish import DisclosureRules
from assets.report.site import Provenance, build_site, code_version, now_utc, weighting_note
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings


@dg.asset(partitions_def=survey_waves, group_name="report", kinds={"html"}, owners=["team:evaluation"])
def assessment_report(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                      survey_exports: pd.DataFrame, headline_indicators: pd.DataFrame,
                      interview_theme_counts: pd.DataFrame, data_quality_summary: pd.DataFrame,
                      training_gap_by_county: pd.DataFrame, training_gap_model: pd.DataFrame,
                      model_cards: pd.DataFrame, prevalence_estimate: pd.DataFrame,
                      case_list_overlap: pd.DataFrame, prevalence_sensitivity: pd.DataFrame) -> dg.MaterializeResult:
    """The published needs-assessment site for the wave (executive summary, law enforcement,
    prevalence, data quality, methods pages; indicators CSV), built from
    aggregate tables only, offline, with the synthetic-data banner when built from demo data."""
    a = settings.assessment()
    wave = context.partition_key
    prov = Provenance(
        wave=wave, inputs=survey_exports[["dataset", "file_name", "rows", "sha256"]].to_dict("records"),
        code_version=code_version(), built_at=now_utc(), synthetic=bool(survey_exports["synthetic"].any()),
        state=a.config.state.name, min_cell_count=a.min_cell_count, weighting_note=weighting_note(a))
    extra = {"data_quality_summary": data_quality_summary, "training_gap_by_county": training_gap_by_county,
             "training_gap_model": training_gap_model, "model_cards": model_cards,
             "prevalence_estimate": prevalence_estimate, "case_list_overlap": case_list_overlap,
             "prevalence_sensitivity": prevalence_sensitivity}
    index = build_site(settings.output_path(), headline_indicators, interview_theme_counts, prov,
                       DisclosureRules.from_assessment(a), extra=extra)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.url(index.as_uri()),
        "path": dg.MetadataValue.path(str(index)),
        "synthetic": prov.synthetic,
    })
