"""Publishing the county estimates of the training gap in a form that cannot be inverted.

``training_gap_by_county`` holds a model-based estimate for every county (a Fay–Herriot EBLUP:
part the county's own respondents, part a prediction from county covariates). For a county whose
survey cell is hidden, that estimate is a disguised copy of the hidden share: with the model's
form and the public covariates an intruder solves for the county's own part, and a county of
1–5 officers has only a handful of possible answers to try. So, per measure:

* a county whose cell of the matching indicator is published gets its model estimate, interval
  and officers needing training, rounded (shares to ``share_decimals``, officers to
  ``people_step``), ranked among the counties shown;
* the other counties of a county group are shown together as one row, "other counties of the
  group combined": the plain share of their respondents, which the published group and county
  figures already imply (group minus the counties shown), with a Wilson interval, and the
  officers that means for their combined headcount; nothing of a single hidden county is shown;
* the survey's own direct share of a county is not repeated here (it is in the indicator table,
  where published), and neither are the model's coefficients, variance or shrinkage: with the
  published estimates they would let the model be solved back for hidden counties.

County × experience rows are shown for the counties shown, rounded the same way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from assets.estimates.intervals import wilson_interval
from assets.publication.policy import DisclosurePolicy

__all__ = ["PUBLISHED_COUNTY_COLUMNS", "publish_county_estimates"]

PUBLISHED_COUNTY_COLUMNS = ["wave", "measure", "measure_label", "breakdown", "county", "county_group",
                            "experience_band", "shown_as", "respondents", "survey_share", "estimate", "ci_low",
                            "ci_high", "headcount", "officers_needing_training", "officers_low", "officers_high",
                            "rank", "method", "note"]
MODEL = "model estimate"
COMBINED = "combined with similar counties"


def _indicator_for(outcome: str, assessment) -> tuple[object | None, bool]:
    """The indicator on the model outcome's question (no subgroup), and whether its share is the
    gap itself (True) or its complement (False)."""
    from assets.models.specs import outcomes_of

    spec = next((o for o in outcomes_of(assessment) if o.column == outcome), None)
    if spec is None:
        return None, False
    for ind in assessment.indicators.indicators:
        if ind.variable != spec.column or ind.among or ind.by not in (None, "county_group", "county"):
            continue
        if set(map(str, ind.success)) == set(spec.success):
            return ind, False
        options = _options(assessment, spec.column)
        if options and set(map(str, ind.success)) | set(spec.success) == set(options) \
                and not set(map(str, ind.success)) & set(spec.success):
            return ind, True
    return None, False


def _options(assessment, variable: str) -> list[str]:
    for v in assessment.codebook.variables:
        if v.name == variable and v.type == "single":
            return [str(x) for x in assessment.options(v)]
    return []


def publish_county_estimates(county: pd.DataFrame, indicators: pd.DataFrame, assessment,
                             policy: DisclosurePolicy, wave: str) -> pd.DataFrame:
    """The published county table (see the module docstring).

    ``county`` is ``training_gap_by_county``; ``indicators`` the published indicator table of the
    wave (its unweighted county and county-group cells decide what may be shown).
    """
    if county is None or county.empty:
        return pd.DataFrame(columns=PUBLISHED_COUNTY_COLUMNS)
    if not policy.linked:
        return _unprotected(county, wave)
    unweighted = indicators[~indicators["weighted"].astype(bool)] if len(indicators) else indicators
    headcounts = assessment.config.officer_headcounts.by_county
    groups = {g.name: list(g.counties) for g in assessment.config.county_groups}
    rows: list[dict] = []
    for (outcome, measure), part in county.groupby(["outcome", "measure"], sort=False):
        ind, gap_is_share = _indicator_for(str(outcome), assessment)
        cells = unweighted[unweighted["indicator"] == ind.id] if ind is not None else unweighted.iloc[0:0]
        shown = {str(r.level): r for r in cells.itertuples() if r.domain == "county" and not r.suppressed}
        group_cells = {str(r.level): r for r in cells.itertuples() if r.domain == "county_group"
                       and not r.suppressed}
        label = str(part["measure_label"].iloc[0])
        by_county = part[part["breakdown"] == "county"]
        for r in by_county.itertuples():
            cell = shown.get(str(r.county))
            if cell is not None:  # its survey figures are the indicator table's, as published there
                share = float(cell.estimate)
                rows.append({**_model_row(r, wave, measure, label, policy), "respondents": float(cell.n),
                             "survey_share": policy.share(share if gap_is_share else 1 - share)})
        for g, members in groups.items():
            hidden = [c for c in members if c not in shown]
            if not hidden:
                continue
            rows.append(_combined_row(g, hidden, members, shown, group_cells.get(g), gap_is_share, headcounts,
                                      wave, measure, label, policy, assessment.config.estimates.level))
        for r in part[part["breakdown"] != "county"].itertuples():
            if str(r.county) in shown:
                rows.append({**_model_row(r, wave, measure, label, policy), "breakdown": str(r.breakdown),
                             "note": "headcount by experience assumed from the county group's respondents; band "
                                     "split by the regression's experience odds ratio"})
    out = pd.DataFrame(rows, columns=PUBLISHED_COUNTY_COLUMNS)
    out["rank"] = np.nan
    is_model = (out["shown_as"] == MODEL) & (out["breakdown"] == "county")
    for measure, idx in out[is_model].groupby("measure").groups.items():
        out.loc[idx, "rank"] = out.loc[idx, "officers_needing_training"].rank(ascending=False, method="min")
    return out


def _model_row(r, wave: str, measure: str, label: str, policy: DisclosurePolicy) -> dict:
    est = policy.share(float(r.eblup))
    low, high = policy.share(float(r.ci_low)), policy.share(float(r.ci_high))
    head = float(r.headcount)
    return {"wave": wave, "measure": measure, "measure_label": label, "breakdown": "county", "county": str(r.county),
            "county_group": str(r.county_group), "experience_band": str(getattr(r, "experience_band", "All")),
            "shown_as": MODEL, "estimate": est, "ci_low": low, "ci_high": high, "headcount": policy.people(head),
            "officers_needing_training": policy.people(est * head), "officers_low": policy.people(low * head),
            "officers_high": policy.people(high * head), "rank": np.nan, "method": str(getattr(r, "fh_method", "")),
            "note": ""}


def _combined_row(group: str, hidden: list[str], members: list[str], shown: dict, group_cell, gap_is_share: bool,
                  headcounts: dict, wave: str, measure: str, label: str, policy: DisclosurePolicy,
                  level: float) -> dict:
    """The hidden counties of a group as one row: what the published group and counties imply."""
    head = float(sum(headcounts.get(c, 0) for c in hidden))
    row = {"wave": wave, "measure": measure, "measure_label": label, "breakdown": "county",
           "county": f"Other counties of {group} ({len(hidden)})", "county_group": group, "experience_band": "All",
           "shown_as": COMBINED, "respondents": np.nan, "survey_share": np.nan, "estimate": np.nan,
           "ci_low": np.nan, "ci_high": np.nan,
           "headcount": policy.people(head), "officers_needing_training": np.nan, "officers_low": np.nan,
           "officers_high": np.nan, "rank": np.nan, "method": "survey share (combined)",
           "note": "too few officers answered in " + ", ".join(hidden) + " to show each county"}
    if group_cell is None:
        row["note"] += "; the group's figure is not published either"
        return row
    n = float(group_cell.n) - sum(float(shown[c].n) for c in members if c in shown)
    k = float(group_cell.successes) - sum(float(shown[c].successes) for c in members if c in shown)
    if n <= 0 or math.isnan(n) or math.isnan(k):
        return row
    gap_k = k if gap_is_share else n - k
    low, high = wilson_interval(int(round(gap_k)), int(round(n)), level)
    est = policy.share(gap_k / n)
    row.update(respondents=n, survey_share=est, estimate=est, ci_low=policy.share(low), ci_high=policy.share(high),
               officers_needing_training=policy.people(est * head), officers_low=policy.people(policy.share(low) * head),
               officers_high=policy.people(policy.share(high) * head))
    return row


def _unprotected(county: pd.DataFrame, wave: str) -> pd.DataFrame:
    """Every county's full-precision model estimate, and its respondents and survey share where at
    least the minimum answered (the gate bypassed, as the county sheet was published before the gate;
    see ``DisclosurePolicy.linked``)."""
    enough = county["respondents"].fillna(0) >= 6
    out = pd.DataFrame({"wave": wave, "measure": county["measure"], "measure_label": county["measure_label"],
                        "breakdown": county["breakdown"], "county": county["county"],
                        "county_group": county["county_group"],
                        "experience_band": county.get("experience_band", "All"), "shown_as": MODEL,
                        "respondents": county["respondents"], "survey_share": county["direct"].where(enough),
                        "estimate": county["eblup"], "ci_low": county["ci_low"], "ci_high": county["ci_high"],
                        "headcount": county["headcount"],
                        "officers_needing_training": county["officers_needing_training"],
                        "officers_low": county["officers_low"], "officers_high": county["officers_high"],
                        "rank": county["rank"], "method": county.get("fh_method", ""), "note": ""})
    return out.reindex(columns=PUBLISHED_COUNTY_COLUMNS)
