"""Estimates stage: officer weights, the assessment's headline figures, interview theme counts and
service coverage by county."""


import dagster as dg
import pandas as pd

from assets.estimates.headline import headline_indicators as compute_headline
from assets.estimates.interview_themes import open_ended_theme_counts as compute_open_ended
from assets.estimates.interview_themes import theme_counts
from assets.estimates.trends import indicator_trends as compute_trends
from assets.estimates.services import counties_without_after_hours as compute_after_hours_gaps
from assets.estimates.services import service_coverage_by_county as compute_coverage
from assets.estimates.weighting import weight_officers
from pipelines.failures import as_user_failure, value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings

GROUP = "estimates"


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"officer_responses": dg.AssetIn(key="accepted_officer_responses",  # rows that passed the checks
                                               metadata={"htna/columns": "weighting"})})  # the columns it reads
@value_safe
def officer_weights(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                    officer_responses: pd.DataFrame) -> pd.DataFrame:
    """How many sworn officers each responding officer stands for: one row per accepted respondent
    with its weighting cell (county, or merged small counties of a county group) and weight, so the
    weighted survey adds up to the officer headcount of every county. Diagnostics (weight range,
    Kish design effect, effective n, convergence, merged cells) are in the metadata."""
    with as_user_failure():
        result = weight_officers(officer_responses, settings.assessment(), context.partition_key)
    d = result.diagnostics
    context.add_output_metadata({
        "method": d["method"], "headcounts": d["headcounts"],
        "weight_min": dg.MetadataValue.float(float(d["weight_min"])),
        "weight_max": dg.MetadataValue.float(float(d["weight_max"])),
        "kish_deff": dg.MetadataValue.float(float(d["kish_deff"])),
        "effective_n": dg.MetadataValue.float(float(d["effective_n"])),
        "converged": bool(d["converged"]), "iterations": int(d["iterations"]),
        "max_margin_error": dg.MetadataValue.float(float(d["max_margin_error"])),
        "cells": int(d["cells"]),
        "merged_cells": dg.MetadataValue.json(d["merged_cells"]),
        "unknown_county": dg.MetadataValue.json(d["unknown_county"]),
    })
    return result.table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"officer_responses": dg.AssetIn(key="accepted_officer_responses",  # rows that passed the checks
                                               metadata={"htna/columns": "headline"}),  # the columns it reads
               "officer_weights": dg.AssetIn(metadata={"htna/columns": "weights"}),
               "officer_survey_questions": dg.AssetIn()})
@value_safe
def headline_indicators(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                        officer_responses: pd.DataFrame, officer_weights: pd.DataFrame,
                        officer_survey_questions: pd.DataFrame) -> pd.DataFrame:
    """Every figure the assessment reports from the officer survey (share trained, aware, handling
    cases, ...), overall and by county group, county, experience, agency type and caseload: the
    weighted share with its design-based interval beside the plain share of respondents (what 2015
    printed), with n and the published 2015 value. Every cell as computed, small ones included:
    what readers may see of it is decided by the publication gate (published_indicators). An
    indicator whose question this wave's export lacks has one overall row pair marked
    collected = false, with no numbers ('not collected in this wave')."""
    from assets.ingest.officer_responses import not_collected_in

    with as_user_failure():
        not_collected = not_collected_in(officer_survey_questions)
        table = compute_headline(officer_responses, settings.assessment(), context.partition_key,
                                 weights=officer_weights, not_collected=not_collected)
    missing = sorted(table.loc[~table["collected"], "indicator"].unique())
    if missing:
        context.log.warning(f"indicators not collected in this wave (their question is not in the export): "
                            f"{', '.join(missing)}")
    context.add_output_metadata({"indicators": int(table["indicator"].nunique()),
                                 "cells": int(len(table) // 2),
                                 "not_collected": dg.MetadataValue.json(missing)})
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"stakeholder_interviews": dg.AssetIn("accepted_stakeholder_interviews"),
               "survivor_interviews": dg.AssetIn("accepted_survivor_interviews")})
@value_safe
def interview_theme_counts(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                           stakeholder_interviews: pd.DataFrame, survivor_interviews: pd.DataFrame) -> pd.DataFrame:
    """How many stakeholder and survivor interviews raised each service gap or barrier (housing,
    after-hours response, transportation, trust in law enforcement, ...), overall and by who raised
    them: stakeholders by sector and by region, survivors by region. Every count as computed: what
    readers may see of it is decided by the publication gate (published_interview_themes)."""
    a = settings.assessment()
    wave = context.partition_key
    table = pd.concat([theme_counts(df, getattr(a.frames, name), name, wave)
                       for name, df in [("stakeholder_interviews", stakeholder_interviews),
                                        ("survivor_interviews", survivor_interviews)]], ignore_index=True)
    context.add_output_metadata({"cells": len(table)})
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"officer_responses": dg.AssetIn(key="accepted_officer_responses",
                                               metadata={"htna/columns": "open-ended"})})
@value_safe
def open_ended_theme_counts(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                            officer_responses: pd.DataFrame) -> pd.DataFrame:
    """How many officers raised each theme in their open-ended answers (the comment at the end of
    the survey), coded by the coding frame's rules or by hand: officers accepted, those who answered
    and those raising the theme. Every count as computed: what readers may see of it is decided by
    the publication gate (published_open_ended_themes), with the interview themes' rule."""
    with as_user_failure():
        table = compute_open_ended(officer_responses, settings.assessment(), context.partition_key, "officer_survey")
    context.add_output_metadata({"themes": len(table)})
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"headline_indicators": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
@value_safe
def indicator_trends(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                     headline_indicators: pd.DataFrame) -> pd.DataFrame:
    """How each indicator moved: change from the previous survey wave and from the first, with an
    interval and a test, for every wave up to this one already in the warehouse (every cell; the
    publication gate shows a change only between two published cells)."""
    level = settings.assessment().config.estimates.level
    table = compute_trends(headline_indicators, up_to_wave=context.partition_key, level=level) \
        if len(headline_indicators) \
        else compute_trends(pd.DataFrame(columns=["wave", "indicator", "domain", "level", "weighted", "label",
                                                  "estimate", "se", "ci_low", "ci_high"]))
    context.add_output_metadata({"comparisons": len(table),
                                 "changes": int((table["direction"] != "no clear change").sum())})
    table["wave"] = context.partition_key
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"survey_exports": dg.AssetIn(), "service_providers": dg.AssetIn()})
@value_safe
def service_coverage_by_county(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                               survey_exports: pd.DataFrame, service_providers: pd.DataFrame) -> pd.DataFrame:
    """Where services fall short: one row per county and service type (emergency response, basic
    needs, shelter and housing, medical, legal, mental health, substance use treatment, mentorship)
    with how many providers serve it there (all, and local rather than statewide), how many can be
    reached after hours or 24/7, and whether the county is covered at all. Counts of organisations,
    not respondents, so no small-count suppression; no provider names. Empty for a wave without a
    provider inventory."""
    with as_user_failure():
        table = compute_coverage(service_providers, settings.assessment(), context.partition_key,
                                 inventory=bool((survey_exports["dataset"] == "provider_inventory").any()))
    context.add_output_metadata({"cells": len(table), "uncovered_cells": int((~table["covered"]).sum())})
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"])
@value_safe
def counties_without_after_hours(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                                 service_coverage_by_county: pd.DataFrame) -> pd.DataFrame:
    """The counties with no after-hours response: one row per county where a service the config
    requires after hours (emergency response) has no local provider reachable after hours, listing
    every service type without after-hours cover there. The 2015 assessment's gap in rural counties,
    tracked each wave. Empty when the wave has no provider inventory (or no such county)."""
    with as_user_failure():
        table = compute_after_hours_gaps(service_coverage_by_county, settings.assessment(), context.partition_key)
    context.add_output_metadata({"counties": len(table)})
    return table
