"""Publication stage: the one gate between the assessment's tables and its readers.

Everything the published site shows (pages, the data inside every chart, ``indicators.csv``, every
workbook sheet) is one of the ``published_*`` tables made here; the report reads nothing else.
The work is in :mod:`assets.publication.gate`. The gate's multi-asset is built with the assessment's
Definitions (:func:`publication_asset`): it reads the data-quality tables of every survey instrument the
config declares."""

from collections.abc import Iterable, Iterator

import dagster as dg
import pandas as pd

from assets.publication.gate import PUBLISHED_TABLES, WaveTables, describe, indicator_history, publish_wave
from assets.publication.gate import stacked_quality
from assets.publication.gate import typed_table
from assets.publication.policy import DisclosurePolicy
from assets.publication.trends import PUBLISHED_CHANGE_COLUMNS, publish_changes
from pipelines.failures import as_user_failure, value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings

GROUP = "publication"
OWNERS = ["team:evaluation"]
_LATER = {"published_indicator_history", "published_changes"}  # made from the published tables of every wave
_MEANING = {
    "published_indicators": "Every indicator as readers see it: cells resting on fewer than the minimum of people "
                            "(or of answers either way) hidden, with the further cells that would give them away "
                            "across every table of the same officers; shares rounded; a weighted figure withheld "
                            "where it alone would reveal a hidden one. The source of indicators.csv.",
    "published_county_estimates": "The training gap by county as published: model estimates only for counties whose "
                                  "own survey figure is published, the other counties of a group shown combined.",
}


def publication_asset(quality_summaries: Iterable[str] = ()) -> dg.AssetsDefinition:
    """The gate's multi-asset (built with the assessment's Definitions): every published table of the
    wave. ``quality_summaries``: the data-quality tables of every further survey instrument
    (``<id>_quality_summary``), published beside the officer survey's under the same rule."""
    extra = tuple(quality_summaries)

    @dg.multi_asset(
        name="publication", partitions_def=survey_waves, group_name=GROUP, can_subset=False,
        ins={"officer_weights": dg.AssetIn(metadata={"htna/columns": "weighting atoms"}),
             "headline_indicators": dg.AssetIn(), "interview_theme_counts": dg.AssetIn(),
             "data_quality_summary": dg.AssetIn(), "training_gap_by_county": dg.AssetIn(),
             "training_gap_model": dg.AssetIn(), "model_cards": dg.AssetIn(), "prevalence_estimate": dg.AssetIn(),
             "case_list_overlap": dg.AssetIn(), "prevalence_sensitivity": dg.AssetIn(),
             "service_coverage_by_county": dg.AssetIn(), "counties_without_after_hours": dg.AssetIn(),
             "survey_exports": dg.AssetIn(), "open_ended_theme_counts": dg.AssetIn(),
             "open_ended_rule_precision": dg.AssetIn(), "intercoder_agreement": dg.AssetIn(),
             **{name: dg.AssetIn() for name in extra}},
        outs={name: dg.AssetOut(kinds={"duckdb"}, owners=OWNERS,
                                description=_MEANING.get(name, f"{spec.title}, as published: {spec.protection}."))
              for name, spec in PUBLISHED_TABLES.items() if name not in _LATER},
    )
    @value_safe
    def publication(context: dg.AssetExecutionContext, settings: AssessmentSettings, officer_weights: pd.DataFrame,
                    headline_indicators: pd.DataFrame, interview_theme_counts: pd.DataFrame,
                    data_quality_summary: pd.DataFrame, training_gap_by_county: pd.DataFrame,
                    training_gap_model: pd.DataFrame, model_cards: pd.DataFrame, prevalence_estimate: pd.DataFrame,
                    case_list_overlap: pd.DataFrame, prevalence_sensitivity: pd.DataFrame,
                    service_coverage_by_county: pd.DataFrame, counties_without_after_hours: pd.DataFrame,
                    survey_exports: pd.DataFrame, open_ended_theme_counts: pd.DataFrame,
                    open_ended_rule_precision: pd.DataFrame, intercoder_agreement: pd.DataFrame,
                    **instrument_quality: pd.DataFrame) -> Iterator[dg.Output]:
        """Apply the disclosure policy to every table of the wave that readers will see."""
        a = settings.assessment()
        wave = context.partition_key
        quality = [data_quality_summary, *(instrument_quality[name] for name in extra)]
        tables = WaveTables(
            wave=wave, headline=headline_indicators, weights=officer_weights, themes=interview_theme_counts,
            quality=stacked_quality(quality), county=training_gap_by_county, model=training_gap_model,
            cards=model_cards, prevalence=prevalence_estimate, overlap=case_list_overlap,
            sensitivity=prevalence_sensitivity, coverage=service_coverage_by_county,
            after_hours=counties_without_after_hours, sources=survey_exports, open_ended=open_ended_theme_counts,
            rule_precision=open_ended_rule_precision, agreement=intercoder_agreement)
        with as_user_failure():
            published = publish_wave(tables, a, DisclosurePolicy.from_assessment(a))
        hidden = describe(published)
        for name, frame in published.items():
            yield dg.Output(frame, output_name=name,
                            metadata={"rows": len(frame), "hidden": hidden.get(name, 0)})

    return publication


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"duckdb"}, owners=OWNERS,
          ins={"published_indicators": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
@value_safe
def published_indicator_history(context: dg.AssetExecutionContext,
                                published_indicators: pd.DataFrame) -> pd.DataFrame:
    """The indicators of every wave up to this one, exactly as each wave published them: the
    trends page and the change columns are drawn from these and nothing else."""
    return indicator_history(published_indicators, context.partition_key)


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"duckdb"}, owners=OWNERS)
@value_safe
def published_changes(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                      indicator_trends: pd.DataFrame, published_indicator_history: pd.DataFrame) -> pd.DataFrame:
    """How each indicator moved since the previous and the first wave, shown only where both waves
    published the cell (a change beside one published figure would give the hidden one back)."""
    a = settings.assessment()
    table = publish_changes(indicator_trends, published_indicator_history, DisclosurePolicy.from_assessment(a))
    return typed_table(table, PUBLISHED_CHANGE_COLUMNS, context.partition_key)
