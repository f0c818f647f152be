"""Sensitivity of the MSE estimate to model choice and to each list.

Model choice moves the estimate more than the conditional (given-the-model) interval suggests,
so the assessment reports the estimate under several selection rules, the independence model and
each leave-one-list-out subset next to the headline number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from .mse import Criterion, MSEError, MSEFit, _prepare, fit_model
from .mse_intervals import lognormal_interval, profile_interval, wald_interval
from .mse_selection import data_to_table, stepwise
from .overlap import drop_list

__all__ = ["DEFAULT_THRESHOLDS", "sensitivity_table"]

DEFAULT_THRESHOLDS: tuple[float, ...] = (0.001, 0.01, 0.02, 0.05)

COLUMNS = [
    "scenario", "selection", "lists", "observed", "estimate", "ci_low", "ci_high", "model",
    "aic", "exists", "note",
]


def _row(
    scenario: str,
    selection: str,
    fit: MSEFit,
    level: float,
    interval: Literal["wald", "lognormal", "profile", "profile-poisson"],
) -> dict[str, object]:
    lo = hi = None
    note = fit.message
    if fit.exists:
        try:
            if interval == "wald":
                lo, hi = wald_interval(fit, level)
            elif interval == "lognormal":
                lo, hi = lognormal_interval(fit, level)
            else:
                pi = profile_interval(fit, level,
                                      "multinomial" if interval == "profile" else "poisson")
                lo, hi = pi.ci_low, pi.ci_high
        except (MSEError, ValueError, RuntimeError) as exc:  # keep the table going
            note = (note + "; " if note else "") + f"interval failed: {exc}"
    return {
        "scenario": scenario,
        "selection": selection,
        "lists": ",".join(fit.lists),
        "observed": fit.observed,
        "estimate": fit.estimate,
        "ci_low": lo,
        "ci_high": hi,
        "model": ", ".join(fit.interactions) or "(main effects)",
        "aic": fit.aic,
        "exists": fit.exists,
        "note": note,
    }


def sensitivity_table(
    table: pd.DataFrame,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    criterion: Criterion = "aic",
    loo_threshold: float = 0.02,
    level: float = 0.95,
    interval: Literal["wald", "lognormal", "profile", "profile-poisson"] = "wald",
    leave_one_out: bool = True,
) -> pd.DataFrame:
    """Estimate and interval under alternative modelling choices, one row per scenario.

    Rows: stepwise selection (``criterion``, default AIC + Wald p-value) at each threshold;
    stepwise by BIC; SparseMSE's Poisson p-value rule at ``loo_threshold``; the independence
    (main effects) model; and, if ``leave_one_out``, stepwise selection at ``loo_threshold`` on
    each subset of the lists with one list left out (its cases seen on no other list become
    unseen, so ``observed`` drops). Scenarios whose estimate does not exist have
    ``estimate = None`` and a ``note``.
    """
    data = _prepare(table)
    full = data_to_table(data)
    rows: list[dict[str, object]] = []
    for thr in thresholds:
        fit = stepwise(full, thr, criterion).fit
        rows.append(_row(f"stepwise {criterion.upper()}, p < {thr:g}", "stepwise", fit, level,
                         interval))
    if criterion != "bic":
        rows.append(_row("stepwise BIC", "stepwise", stepwise(full, None, "bic").fit, level,
                         interval))
    if criterion != "pvalue":
        rows.append(_row(f"stepwise Poisson p-value (SparseMSE), p < {loo_threshold:g}",
                         "stepwise", stepwise(full, loo_threshold, "pvalue").fit, level,
                         interval))
    rows.append(_row("independence (main effects only)", "independence", fit_model(full, ()),
                     level, interval))
    if leave_one_out and data.k >= 3:
        for name in data.lists:
            sub = drop_list(full, name)
            if int(sub["count"].sum()) == 0:
                continue
            fit = stepwise(sub, loo_threshold, criterion).fit
            rows.append(_row(f"without list {name}", "stepwise", fit, level, interval))
    return pd.DataFrame(rows, columns=COLUMNS)
