"""Models stage: who is less prepared, in which counties, how many officers need training, and the
model cards that say how far to trust each model. The work is in :mod:`assets.models.training_gap`."""

import dagster as dg
import pandas as pd

from assets.models import training_gap as tg
from pipelines.failures import as_user_failure, value_safe
from pipelines.partitions import survey_waves
from pipelines.resources import AssessmentSettings

GROUP = "models"
# rows that passed the checks, only the columns the models read
_ACCEPTED = {"officer_responses": dg.AssetIn(key="accepted_officer_responses", metadata={"htna/columns": "models"}),
             # only what checking the stored weights against the rebuilt design needs
             "officer_weights": dg.AssetIn(metadata={"htna/columns": "weights"}),
             # which questions this wave collected: a model needing one that was not is not fit
             "officer_survey_questions": dg.AssetIn()}


def _not_collected(questions: pd.DataFrame) -> set[str]:
    from assets.ingest.officer_responses import not_collected_in

    return not_collected_in(questions)


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins=_ACCEPTED)
@value_safe
def training_gap_model(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                       officer_responses: pd.DataFrame, officer_weights: pd.DataFrame,
                       officer_survey_questions: pd.DataFrame) -> pd.DataFrame:
    """Which officers feel less prepared, all else equal. For each outcome of the config's models
    file (in the demo: agency trained for sex trafficking, for labor trafficking, prepared for cases
    with minors, familiar with the state's organisations), a weighted logistic regression on its
    regressors (in the demo: experience, having handled a case, county group and agency type): odds ratios with 95% intervals and p-values (kind = odds_ratio), the
    change in the share prepared in percentage points (marginal_effect), and the predicted share
    prepared for each county group x experience band (predicted_probability). A model where some
    group answered all one way is flagged (reliable = false) and its numbers are left blank. A model
    whose question (or a regressor's) was not collected in this wave is not fit (see model_cards)."""
    a = settings.assessment()
    with as_user_failure():
        outcomes = tg.fitted_outcomes(a, _not_collected(officer_survey_questions))
        design = tg.model_design(officer_responses, a, context.partition_key, officer_weights).design
        table = tg.regression_table(design, tg.fit_outcome_models(design, outcomes), context.partition_key, a,
                                    a.config.estimates.level, outcomes)
    fits = table.drop_duplicates("outcome")
    context.add_output_metadata({
        "models": int(len(fits)),
        "unreliable_models": dg.MetadataValue.json(fits.loc[~fits["reliable"], "outcome"].tolist()),
        "respondents_per_model": dg.MetadataValue.json(dict(zip(fits["outcome"], fits["n"].astype(int)))),
    })
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins=_ACCEPTED)
@value_safe
def training_gap_by_county(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                           officer_responses: pd.DataFrame, officer_weights: pd.DataFrame,
                           officer_survey_questions: pd.DataFrame, training_gap_model: pd.DataFrame) -> pd.DataFrame:
    """Where to send training: for each county, and each model outcome the config gives county
    estimates, the estimated share of officers not prepared (in the demo: not adequately trained,
    not prepared for minors, not familiar with resources), the number of
    officers that means (share x headcount) with a 95% range, and a rank (1 = most officers to
    train). Counties with few respondents borrow strength from similar counties (small-area
    model; 'shrinkage' is the weight on the county's own answers); counties with too few respondents
    (or none) get a model prediction (synthetic = true), and, with the default model, the county
    figures add up to the state's. Rows with breakdown 'county x experience band' split each
    county by experience, assuming its officers split like the weighted respondents of its county
    group."""
    a = settings.assessment()
    with as_user_failure():
        outcomes = tg.fitted_outcomes(a, _not_collected(officer_survey_questions))
        design = tg.model_design(officer_responses, a, context.partition_key, officer_weights).design
        table = tg.county_table(design, training_gap_model, context.partition_key, a, a.config.estimates.level,
                                outcomes=outcomes)
    first = table["measure"].iloc[0] if len(table) else None  # the config's first outcome with county estimates
    county = table[(table["breakdown"] == "county") & (table["measure"] == first)] if first else table.iloc[0:0]
    top = county.sort_values("rank").head(5)
    context.add_output_metadata({
        "counties": int(county["county"].nunique()),
        "synthetic_counties": dg.MetadataValue.json(county.loc[county["synthetic"], "county"].tolist()),
        "measure": str(first),
        "top_counties": dg.MetadataValue.json(
            [f"{r.county}: {r.officers_needing_training:.0f} officers" for r in top.itertuples()]),
        "officers_needing_training": dg.MetadataValue.float(
            float(county["officers_needing_training"].sum())),
    })
    return table


@dg.asset(partitions_def=survey_waves, group_name=GROUP, kinds={"pandas", "duckdb"}, owners=["team:evaluation"],
          ins={"training_gap_model": dg.AssetIn(), "training_gap_by_county": dg.AssetIn(),
               "officer_survey_questions": dg.AssetIn()})
@value_safe
def model_cards(context: dg.AssetExecutionContext, settings: AssessmentSettings,
                training_gap_model: pd.DataFrame, training_gap_by_county: pd.DataFrame,
                officer_survey_questions: pd.DataFrame) -> pd.DataFrame:
    """How far to trust each model of this wave: one card per model with what it estimates (its
    formula), how many respondents and counties it rests on, fit statistics (deviance, AIC,
    between-county variance, convergence), diagnostics, and caveats in plain language (convenience
    sample, illustrative headcounts, small counties pulled towards similar counties)."""
    with as_user_failure():
        cards = tg.model_cards(training_gap_model, training_gap_by_county, settings.assessment(),
                               context.partition_key, _not_collected(officer_survey_questions))
    context.add_output_metadata({"models": int(len(cards)),
                                 "unreliable": dg.MetadataValue.json(cards.loc[~cards["reliable"], "model"].tolist())})
    return cards
