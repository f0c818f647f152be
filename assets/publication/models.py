"""Publishing the training-gap regressions and the model cards.

A regression term rests on the officers of its level: an odds ratio for a group of four officers
says how those four answered. A term (odds ratio, marginal effect) is published only when its
level's cell in the matching indicator is published (a derived factor such as "handled a case"
needs every answer it is made of published); a predicted share for a county group x experience
band needs both cells published. Everything shown is rounded: shares and effects to
``share_decimals``, odds ratios to two decimals, p-values to three. Standard errors are not shown
(the interval is).

Model cards keep their words (specification, estimation, caveats) and the counts of the fit (n,
areas, parameters); fit statistics (deviance, log-likelihood, AIC, the between-county variance) and
the diagnostics (which name the groups that answered all one way) stay in the warehouse: with the
published estimates they would let the models be solved back for hidden cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.policy import DisclosurePolicy, round_half_up

__all__ = ["PUBLISHED_CARD_COLUMNS", "PUBLISHED_MODEL_COLUMNS", "publish_model_cards", "publish_model_results"]

PUBLISHED_MODEL_COLUMNS = ["wave", "outcome", "outcome_label", "kind", "term", "variable", "level", "reference",
                           "county_group", "experience_band", "estimate", "ci_low", "ci_high", "p_value", "n",
                           "estimator", "reliable", "note", "suppressed", "suppression_reason"]
PUBLISHED_CARD_COLUMNS = ["wave", "model", "asset", "model_type", "outcome", "specification", "estimation", "n",
                          "n_areas", "n_parameters", "converged", "separation", "reliable", "caveats"]
HIDDEN_LEVEL = "primary"


def _hidden_cells(indicators: pd.DataFrame, indicator_id: str | None) -> tuple[set[tuple[str, str]], set[str]]:
    """(domain, level) cells hidden in the indicator, and the domains it has."""
    if indicator_id is None or indicators.empty:
        return set(), set()
    part = indicators[(indicators["indicator"] == indicator_id) & ~indicators["weighted"].astype(bool)]
    hidden = {(str(d), str(lv)) for d, lv, s in zip(part["domain"], part["level"], part["suppressed"]) if s}
    return hidden, set(part["domain"].astype(str))


def _level_hidden(variable: str, level: str, hidden: set, domains: set, assessment) -> bool:
    """Whether a regressor level rests on a hidden (or unpublished) cell."""
    if variable in domains:
        return (variable, level) in hidden
    for d in assessment.codebook.derived:
        if d.name == variable:
            sources = [str(a) for a, v in assessment.derived_map(d).items() if str(v) == level]
            if d.from_ in domains and sources:
                return any((d.from_, s) in hidden for s in sources)
    return True  # a level no published cell covers


def publish_model_results(model: pd.DataFrame, indicators: pd.DataFrame, assessment,
                          policy: DisclosurePolicy) -> pd.DataFrame:
    """The published regression table (see the module docstring)."""
    if model is None or model.empty:
        return pd.DataFrame(columns=PUBLISHED_MODEL_COLUMNS)
    from assets.publication.counties import _indicator_for

    out = model.copy()
    for col in PUBLISHED_MODEL_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan if col not in ("note", "suppression_reason") else ""
    if not policy.linked:
        out["suppressed"], out["suppression_reason"] = False, ""
        return out[PUBLISHED_MODEL_COLUMNS].reset_index(drop=True)
    reasons = []
    for r in out.itertuples():
        ind, _ = _indicator_for(str(r.outcome), assessment)
        hidden, domains = _hidden_cells(indicators, ind.id if ind is not None else None)
        if r.kind == "predicted_probability":
            bad = (_level_hidden("county_group", str(r.county_group), hidden, domains, assessment)
                   or _level_hidden("experience_band", str(r.experience_band), hidden, domains, assessment))
        else:
            bad = _level_hidden(str(r.variable), str(r.level), hidden, domains, assessment)
        small = np.isnan(float(r.n)) or float(r.n) < policy.min_cell_count
        reasons.append(HIDDEN_LEVEL if bad or small else "")
    out["suppression_reason"] = reasons
    out["suppressed"] = out["suppression_reason"] != ""
    ratio = out["kind"] == "odds_ratio"
    for col in ("estimate", "ci_low", "ci_high"):
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        out[col] = np.where(ratio, round_half_up(values, 2), policy.share(values))
    out["p_value"] = round_half_up(pd.to_numeric(out["p_value"], errors="coerce").to_numpy(dtype=float), 3)
    hide = out["suppressed"].to_numpy()
    for col in ("estimate", "ci_low", "ci_high", "p_value"):
        out.loc[hide, col] = np.nan
    return out[PUBLISHED_MODEL_COLUMNS].reset_index(drop=True)


def publish_model_cards(cards: pd.DataFrame) -> pd.DataFrame:
    """The model cards as published: their words and the counts of each fit (see the module docstring)."""
    if cards is None or cards.empty:
        return pd.DataFrame(columns=PUBLISHED_CARD_COLUMNS)
    out = cards.copy()
    for col in PUBLISHED_CARD_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    return out[PUBLISHED_CARD_COLUMNS].reset_index(drop=True)
