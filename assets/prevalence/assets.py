"""Prevalence stage: how many trafficking victims there were in the year, counting those no agency
saw, by multiple systems estimation over the agencies' case lists (``tables.py`` does the work).

A wave without case lists gives empty tables and a logged note; the run goes on.
"""


import dagster as dg
import pandas as pd

from assets.prevalence.tables import (
    StageResult,
    case_list_overlap_table,
    prevalence_estimate_table,
    prevalence_sensitivity_table,
)
from pipelines.failures import as_user_failure, value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings
from pipelines.versions import folder_output

GROUP = "prevalence"


def _finish(context: dg.AssetExecutionContext, result: StageResult) -> pd.DataFrame:
    for note in result.notes:  # notes hold counts, file and list names only, never identifiers
        context.log.info(note)
    context.add_output_metadata({k: (dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v)
                                 for k, v in result.metadata.items() if v is not None})
    return result.table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"])
@value_safe
def case_list_overlap(context: dg.AssetExecutionContext, settings: AssessmentSettings) -> dg.Output[pd.DataFrame]:
    """How many distinct victims were on each combination of the agencies' case lists this wave
    (hotline, advocates, law enforcement, health, child welfare), overall and per stratum: the
    overlap (capture-history) table the prevalence estimate is made from, all combinations kept,
    zeros included. Counts only; the identifiers used to link the lists are never stored."""
    from assets.ingest.drop_folder import wave_fingerprint

    with as_user_failure():
        # its data version is the wave folder's content (read before the lists, as survey_exports does)
        fingerprint = wave_fingerprint(settings.data_path(), context.partition_key)
        result = case_list_overlap_table(settings.data_path(), context.partition_key, settings.assessment())
    return folder_output(context, _finish(context, result), fingerprint)


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"])
@value_safe
def prevalence_estimate(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                        case_list_overlap: pd.DataFrame) -> pd.DataFrame:
    """The estimated number of trafficking victims in the year, counting those no agency saw, with
    its interval, beside the cases each agency list identified: the log-linear model chosen, the
    method, whether the estimate exists and is identifiable (sparse overlaps can make it infinite),
    a bootstrap interval that repeats the model choice, and the caveats the number carries."""
    with as_user_failure():
        result = prevalence_estimate_table(case_list_overlap, settings.assessment(), context.partition_key)
    return _finish(context, result)


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"])
@value_safe
def prevalence_sensitivity(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                           case_list_overlap: pd.DataFrame) -> pd.DataFrame:
    """How much the victim estimate depends on modelling choices: the estimate and interval under
    other model-selection rules and thresholds, with no list dependence at all, and with each
    agency list left out in turn, so readers see how firm the headline number is."""
    with as_user_failure():
        result = prevalence_sensitivity_table(case_list_overlap, settings.assessment(), context.partition_key)
    return _finish(context, result)
