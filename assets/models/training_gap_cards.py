"""The model cards of a wave (asset ``model_cards``): one row per model with its specification, n,
fit statistics, diagnostics and plain-language caveats."""

from __future__ import annotations

import json
import math

import pandas as pd

from assets.models.county_card import county_model_card
from assets.models.specs import fitted_outcomes, outcomes_of
from assets.models.training_gap_design import MODEL_CARD_COLUMNS, NO_RESPONDENTS, NOT_COLLECTED, _typed
from pipelines.config import Assessment

__all__ = ["CONVENIENCE", "model_cards"]


# --------------------------------------------------------------------------------------------
# model cards
# --------------------------------------------------------------------------------------------

CONVENIENCE = ("The officer survey is a convenience sample (officers who chose to answer), weighted to county "
               "officer headcounts; officers who did not answer may differ in ways the weights cannot fix.")


def model_cards(model_table: pd.DataFrame, county: pd.DataFrame, assessment: Assessment, wave: str,
                not_collected: set[str] | None = None) -> pd.DataFrame:
    """One row per model of the wave: specification, n, fit statistics, diagnostics and caveats (a model
    resting on a question not collected in this wave: a card saying so, not reliable, no numbers)."""
    heads = assessment.config.officer_headcounts.status
    head_caveat = ("Officer headcounts are ILLUSTRATIVE, not a roster: weights and officer numbers are only "
                   "as good as these figures." if heads == "illustrative" else "Officer headcounts are roster counts.")
    cards: list[dict] = []
    outcomes = outcomes_of(assessment)
    for o in outcomes:
        t = model_table[model_table["outcome"] == o.column]
        if len(t) == 0:
            continue
        first = t.iloc[0]
        ors = t[t["kind"] == "odds_ratio"]
        pred = t[t["kind"] == "predicted_probability"]
        sig = ors[(ors["p_value"] < 0.05)]
        diag = {
            "df": float(first["df"]),
            "significant_at_5pct": [f"{r.variable}={r.level} (OR {r.estimate:.2f})" for r in sig.itertuples()],
            "terms_without_respondents": ors[ors["note"].astype(str).str.contains(NO_RESPONDENTS, regex=False)]["term"].tolist(),
            "predicted_range": [float(pred["estimate"].min()), float(pred["estimate"].max())] if len(pred) else [],
            "messages": first["note"] or "",
        }
        caveats = [CONVENIENCE, head_caveat,
                   "Associations, not causes: agencies differ in many ways the model does not measure.",
                   "Odds ratios compare each group with the reference group with the other factors held fixed."]
        if not first["reliable"]:
            caveats.insert(0, "THIS MODEL IS NOT REPORTED: some group answered all one way (separation) or the "
                              "fit failed, so its odds ratios would be meaningless.")
        elif first["estimator"] == "firth":
            caveats.insert(0, "Some group of officers answered all one way (separation), so this model uses a "
                              "bias-reduced (Firth) fit: that group's odds ratio is pulled towards 1 and its "
                              "interval is approximate; read it as 'very different', not as a precise number.")
        if first["n"] < 100:
            caveats.append(f"Only {int(first['n'])} respondents: intervals are wide.")
        dev, null = float(first["deviance"]), float(first["null_deviance"])
        cards.append({
            "wave": wave, "model": f"training_gap_model: {o.column}", "asset": "training_gap_model",
            "model_type": "survey-weighted logistic regression (quasibinomial svyglm)", "outcome": o.label,
            "specification": o.formula_text(),
            "estimation": ("weighted Firth (bias-reduced) likelihood because of separation"
                           if first["estimator"] == "firth" else "weighted quasi-likelihood")
                          + " on the post-stratified design; linearised (calibration-aware) standard errors; "
                          "t intervals on the design degrees of freedom",
            "n": float(first["n"]), "n_areas": math.nan, "n_parameters": float(len(ors) + 1),
            "deviance": dev, "null_deviance": null, "aic": math.nan, "loglike": math.nan, "fh_variance": math.nan,
            "converged": bool(first["converged"]), "separation": bool(first["separation"]),
            "reliable": bool(first["reliable"]),
            "diagnostics": json.dumps({**diag, "deviance_explained": (1 - dev / null) if null > 0 and
                                       math.isfinite(dev) else None}),
            "caveats": " ".join(caveats),
        })
    for o in outcomes:
        c = county[(county["measure"] == o.gap) & (county["breakdown"] == "county")]
        if len(c):
            cards.append(county_model_card(c, o, assessment, wave, [CONVENIENCE, head_caveat]))
    fitted = fitted_outcomes(assessment, not_collected)
    for o in (o for o in outcomes if o not in fitted):
        from assets.estimates.headline import needed_questions

        missing = sorted(needed_questions(assessment, o.column, *o.regressors) & set(not_collected or ()))
        for asset, model, label in (("training_gap_model", o.column, o.label),
                                    ("training_gap_by_county", o.gap, o.gap_label))[:2 if o.county_estimates else 1]:
            cards.append({
                "wave": wave, "model": f"{asset}: {model}", "asset": asset, "model_type": NOT_COLLECTED,
                "outcome": label, "specification": o.formula_text(), "estimation": NOT_COLLECTED,
                "n": math.nan, "n_areas": math.nan, "n_parameters": math.nan, "deviance": math.nan,
                "null_deviance": math.nan, "aic": math.nan, "loglike": math.nan, "fh_variance": math.nan,
                "converged": False, "separation": False, "reliable": False,
                "diagnostics": json.dumps({"not_collected": missing}),
                "caveats": f"THIS MODEL IS NOT FIT: {', '.join(missing)} not collected in this wave (the question "
                           "is not in the wave's export)."})
    return _typed(pd.DataFrame(cards, columns=MODEL_CARD_COLUMNS),
                  floats=["n", "n_areas", "n_parameters", "deviance", "null_deviance", "aic", "loglike", "fh_variance"],
                  bools=["converged", "separation", "reliable"])
