"""Estimates stage: the assessment's headline figures and interview theme counts."""


import dagster as dg
import pandas as pd

from assets.estimates.headline import headline_indicators as compute_headline
from assets.estimates.interview_themes import theme_counts
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings

GROUP = "estimates"


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"])
def headline_indicators(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                        officer_responses: pd.DataFrame) -> pd.DataFrame:
    """Every figure the assessment reports from the officer survey (share trained, aware, handling
    cases, ...), overall and by county group or experience, with n, 95% interval, the published 2015
    value beside it and a suppression flag for cells below the publication minimum."""
    table = compute_headline(officer_responses, settings.assessment(), context.partition_key)
    context.add_output_metadata({"indicators": int(table["indicator"].nunique()),
                                 "suppressed_cells": int(table["suppressed"].sum())})
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"])
def interview_theme_counts(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                           stakeholder_interviews: pd.DataFrame, survivor_interviews: pd.DataFrame) -> pd.DataFrame:
    """How many stakeholder and survivor interviews raised each service gap or barrier (housing,
    after-hours response, transportation, trust in law enforcement, ...); small counts suppressed."""
    a = settings.assessment()
    wave = context.partition_key
    parts = [theme_counts(df, getattr(a.frames, name), name, wave, a.min_cell_count)
             for name, df in [("stakeholder_interviews", stakeholder_interviews),
                              ("survivor_interviews", survivor_interviews)]]
    return pd.concat(parts, ignore_index=True)
