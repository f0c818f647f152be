"""The model card of a county model (one outcome of ``training_gap_by_county``): what was estimated, how,
and, in plain words, what was done for counties where few officers answered, without naming them
(the caveats are published; the diagnostics, which name counties, stay in the warehouse)."""

from __future__ import annotations

import json
import math

import pandas as pd

__all__ = ["county_model_card"]

WHY = {
    "benchmarked": "This model (the default) was used because a simulation study showed its 95% ranges hold the "
                   "truth 94-97% of the time for counties of every size, and its errors are no larger than the "
                   "survey's own county figures for any size.",
    "fay_herriot": "The earlier county model was chosen in the configuration (small_area.estimator: fay_herriot); "
                   "the default benchmarked model gives more honest ranges for counties with few respondents.",
    "unit_level": "The unit-level model was chosen in the configuration (small_area.estimator: unit_level): it "
                  "models each officer's answer and suits counties whose respondents are like their officers, "
                  "but it does not use the survey weights.",
}


def county_model_card(c: pd.DataFrame, o, assessment, wave: str, general: list[str]) -> dict:
    """One card for the county rows ``c`` of outcome ``o`` (``general``: caveats every card carries)."""
    first = c.iloc[0]
    sampled = c[~c["synthetic"]]
    sa = assessment.config.small_area
    diag = {
        "counties": len(c), "counties_with_respondents": int((c["respondents"] > 0).sum()),
        "synthetic_counties": c[c["synthetic"]]["county"].tolist(),
        "counties_under_min_cell": c[(c["respondents"] > 0)
                                     & (c["respondents"] < assessment.min_cell_count)]["county"].tolist(),
        "mean_shrinkage": float(sampled["shrinkage"].mean()) if len(sampled) else None,
        "max_cv": float(c["cv"].max()),
        "mean_rmse_direct_vs_model": [float(sampled["direct_se"].mean()), float(sampled["rmse"].mean())],
        "coefficients": json.loads(first["fh_coefficients"]),
        "variance_truncated_at_zero": bool(first["fh_truncated"]),
        "between_county_variance": {str(first["fh_method"]): float(first["fh_variance"]),
                                    "ML (earlier model)": float(first["fh_variance_ml"]),
                                    "FH moment (earlier model)": float(first["fh_variance_moment"])},
        "officers_needing_training_total": float(c["officers_needing_training"].sum()),
        "model_selection": json.loads(first["fh_selection"] or "{}") if "fh_selection" in c else {},
    }
    kind = sa.estimator
    estimable = bool(first["fh_converged"]) or math.isfinite(float(first["fh_variance"]))
    chosen = diag["model_selection"].get("chosen", [])
    caveats = list(general)
    if not estimable:
        caveats.insert(0, "NOT ESTIMABLE IN THIS WAVE: too few counties had enough respondents to fit the county "
                          "model, so no county figures are given.")
    caveats.append(WHY[kind])
    if kind == "benchmarked":
        caveats += [
            f"Where fewer than {sa.min_effective_sample:g} officers of a county answered (or none did), the "
            "county's own answers are not used: a handful of answers is too few to say anything about a "
            "county. Its figure is a prediction from counties like it (county group, population, officers per "
            "1,000 residents), and its range is wider to say so.",
            "Counties with more respondents are pulled ('shrunk') towards counties like them; the fewer the "
            "respondents, the more their estimate is borrowed. How much a county's own answers vary by chance "
            "is taken from a curve fitted across all counties and questions, not from its own few answers.",
            "The model always allows real differences between counties (it is not allowed to conclude there "
            "are none from so few counties).",
            "The county figures are adjusted to add up to the state figure (county shares x officers sum to "
            "the state share x all officers); the ranges include that adjustment.",
        ]
    elif kind == "unit_level":
        caveats += [
            "Counties with few respondents are pulled towards counties like them, the more so the fewer answered; "
            "counties where no officer answered get a prediction from counties like them. Ranges come from "
            "re-running the model on data simulated from it (a bootstrap).",
            "The county figures are not adjusted to add up to the state figure.",
        ]
    else:
        caveats.append("Counties with few respondents are pulled ('shrunk') towards counties with similar "
                       "population, officer numbers and county group; the fewer the respondents, the more their "
                       "estimate is borrowed. Counties without respondents get a model prediction only.")
        if first["fh_truncated"]:
            caveats.append("The model found no county differences beyond chance, so every county estimate is "
                           "the regression prediction (full shrinkage).")
    if diag["model_selection"].get("candidates"):
        sel = diag["model_selection"]
        caveats.append(f"County covariates chosen by {sel['criterion'].upper()} among {len(sel['candidates'])} "
                       "candidate sets: " + (", ".join(x.replace("_", " ") for x in chosen) if chosen else
                                             "none from the covariates file")
                       + " beside county group, population and officers per 1,000 residents.")
        if sa.covariates_status == "illustrative":
            caveats.append("The county covariates file holds ILLUSTRATIVE values, not official statistics.")
    caveats += ["Officers needing training = estimated share x county headcount; the interval reflects survey "
                "uncertainty, not errors in the headcounts.",
                "Experience-band rows assume each county's officers split by experience like the weighted "
                "respondents of its county group; their ranges include the uncertainty of the experience "
                "difference taken from the regression."]
    regressors = "county_group + log(population) + officers per 1,000 residents" + "".join(f" + {x}" for x in chosen)
    if kind == "unit_level":
        model_type = "logistic mixed model with a county random effect (unit level)"
        spec = f"logit P(officer not prepared) ~ {regressors} + county effect"
        estimation = ("maximum likelihood (Gauss-Hermite quadrature); empirical best prediction of each county's "
                      f"share; parametric-bootstrap MSE ({sa.bootstrap_replicates} replicates); unweighted")
    else:
        model_type = "Fay-Herriot area-level small-area model" + (", benchmarked" if kind == "benchmarked" else "")
        spec = (f"asin(sqrt(direct share not prepared)) ~ {regressors}; "
                + ("sampling variance from a variance function fitted across counties and questions; counties "
                   f"under {sa.min_effective_sample:g} effective respondents predicted (synthetic)"
                   if kind == "benchmarked" else "sampling variance 1 / (4 n_eff)"))
        estimation = (f"adjusted likelihood ({first['fh_method']}) for the between-county variance; EBLUP; "
                      "bias-corrected back-transformation; benchmarked to the state direct share "
                      f"({sa.benchmark}); MSE with the benchmarking adjustment" if kind == "benchmarked" else
                      f"{first['fh_method']} variance; EBLUP with Prasad-Rao MSE; intervals on the arcsine scale, "
                      "back-transformed")
    return {
        "wave": wave, "model": f"training_gap_by_county: {o.gap}", "asset": "training_gap_by_county",
        "model_type": model_type, "outcome": o.gap_label, "specification": spec, "estimation": estimation,
        "n": float(c["respondents"].sum()), "n_areas": float(first["fh_areas"]),
        "n_parameters": float(len(diag["coefficients"]) + 1), "deviance": math.nan, "null_deviance": math.nan,
        "aic": float(first["fh_aic"]), "loglike": float(first["fh_loglike"]),
        "fh_variance": float(first["fh_variance"]), "converged": bool(first["fh_converged"]),
        "separation": False, "reliable": bool(first["fh_converged"]), "diagnostics": json.dumps(diag),
        "caveats": " ".join(caveats),
    }
