"""Publishing the prevalence estimate and the case-list counts behind it.

The counts are people (victims on agency lists), linked many ways: per group (age group and all),
the cases on each list add up over the combinations of lists that include it, all combinations add
up to the distinct cases, and the groups add up to "all". Every count from 1 to the minimum minus
one is hidden, and the audit (:mod:`assets.publication.audit`) hides further counts until none of
them can be narrowed to fewer than ``min_possible_values`` values from everything shown. A count of
none is shown (a list that saw no case in a group describes nobody).

Estimated numbers of victims and their intervals are rounded to ``people_step`` (model estimates,
not counts; the rounding also keeps a hidden overlap from being read back out of a two-list
estimate's exact value). The sensitivity table shows estimates only: its distinct-case counts per
scenario are differences of list totals that would reveal hidden combinations.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from assets.publication.audit import COMPLEMENTARY, PRIMARY, LinkedCounts, ProtectionFailed, Secrets, protect
from assets.publication.policy import DisclosurePolicy

__all__ = ["PUBLISHED_CASE_COUNT_COLUMNS", "PUBLISHED_OVERLAP_COLUMNS", "PUBLISHED_PREVALENCE_COLUMNS",
           "PUBLISHED_SENSITIVITY_COLUMNS", "publish_prevalence"]

PUBLISHED_PREVALENCE_COLUMNS = ["wave", "stratum", "lists", "n_lists", "method", "model", "estimate", "ci_low",
                                "ci_high", "boot_low", "boot_high", "level", "interval", "exists", "identifiable",
                                "message", "caveats", "observed", "suppressed", "suppression_reason"]
PUBLISHED_CASE_COUNT_COLUMNS = ["wave", "stratum", "list", "list_label", "cases", "suppressed", "suppression_reason"]
PUBLISHED_OVERLAP_COLUMNS = ["wave", "stratum", "history", "lists_in_history", "n_lists", "count", "suppressed",
                             "suppression_reason"]
PUBLISHED_SENSITIVITY_COLUMNS = ["wave", "stratum", "scenario", "selection", "lists", "estimate", "ci_low", "ci_high",
                                 "model", "exists", "note", "interval"]


def _json(value) -> dict:
    if isinstance(value, dict):
        return value
    try:
        out = json.loads(value) if isinstance(value, str) and value else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def _protect_counts(estimate: pd.DataFrame, overlap: pd.DataFrame, lists: list[str],
                    policy: DisclosurePolicy) -> tuple[dict, dict]:
    """Reasons for every (stratum, list | '__observed__') and (stratum, history) count."""
    strata = [str(s) for s in estimate["stratum"]]
    cells: list[float] = []
    where: dict[tuple, int] = {}

    def cell(key: tuple, value: float) -> int:
        where[key] = len(cells)
        cells.append(float(value))
        return where[key]

    per_list = {str(r.stratum): _json(r.cases_per_list) for r in estimate.itertuples()}
    observed = {str(r.stratum): r.observed for r in estimate.itertuples()}
    for s in strata:
        for name in lists:
            cell((s, name), per_list[s].get(name, 0) or 0)
        cell((s, "__observed__"), 0 if pd.isna(observed[s]) else observed[s])
    histories: dict[str, list[str]] = {}
    if overlap is not None and len(overlap):
        for r in overlap.itertuples():
            h = str(r.history)
            histories.setdefault(h, [x for x in lists if x in h.split("+")])
            cell(("overlap", str(r.stratum), h), r.count)
    eqs: list[tuple[int, tuple[int, ...]]] = []
    for s in strata:
        members = [where[k] for k in where if k[:2] == ("overlap", s)]
        if members:
            eqs.append((where[(s, "__observed__")], tuple(members)))
            for name in lists:
                eqs.append((where[(s, name)], tuple(where[("overlap", s, h)] for h, on in histories.items()
                                                   if name in on and ("overlap", s, h) in where)))
    parts = [s for s in strata if s != "all"]
    if "all" in strata and parts:
        for name in [*lists, "__observed__"]:
            eqs.append((where[("all", name)], tuple(where[(s, name)] for s in parts)))
        for h in histories:
            members = tuple(where[("overlap", s, h)] for s in parts if ("overlap", s, h) in where)
            if ("overlap", "all", h) in where and members:
                eqs.append((where[("overlap", "all", h)], members))
    values = np.array(cells)
    counts = LinkedCounts(n=values, k=values, equations=[e for e in eqs if e[1]])
    secret = (values > 0) & (values < policy.min_cell_count)
    if not policy.linked:  # the gate bypassed: every count on its own
        return {k: PRIMARY if secret[i] else "" for k, i in where.items()}, histories
    try:
        reasons, _ = protect(counts, Secrets.frame(secret), policy.protection_values, min_count=policy.min_cell_count)
    except ProtectionFailed:  # nothing short of hiding every count protects them
        reasons = np.where(values > 0, PRIMARY, "").astype(object)
    return {k: reasons[i] for k, i in where.items()}, histories


def publish_prevalence(estimate: pd.DataFrame, overlap: pd.DataFrame, sensitivity: pd.DataFrame, assessment,
                       policy: DisclosurePolicy, wave: str) -> dict[str, pd.DataFrame]:
    """The published prevalence tables: ``estimate``, ``case_counts``, ``overlap``, ``sensitivity``."""
    labels = {x.name: x.label for x in assessment.config.prevalence.lists} if assessment.config.prevalence else {}
    if estimate is None or estimate.empty:
        return {"estimate": pd.DataFrame(columns=PUBLISHED_PREVALENCE_COLUMNS),
                "case_counts": pd.DataFrame(columns=PUBLISHED_CASE_COUNT_COLUMNS),
                "overlap": pd.DataFrame(columns=PUBLISHED_OVERLAP_COLUMNS),
                "sensitivity": pd.DataFrame(columns=PUBLISHED_SENSITIVITY_COLUMNS)}
    lists = [x for x in str(estimate["lists"].iloc[0]).split(",") if x]
    for r in estimate.itertuples():
        lists += [x for x in _json(r.cases_per_list) if x not in lists]
    reasons, histories = _protect_counts(estimate, overlap, lists, policy)

    def shown(key: tuple, value) -> tuple[float, str]:
        reason = reasons.get(key, "")
        reason = PRIMARY if reason == PRIMARY else (COMPLEMENTARY if reason else "")
        return (np.nan if reason else float(value)), reason

    people = policy.people
    est = estimate.copy()
    for col in ("estimate", "ci_low", "ci_high", "boot_low", "boot_high"):
        if col in est.columns:
            est[col] = people(pd.to_numeric(est[col], errors="coerce").to_numpy(dtype=float))
    obs = [shown((str(r.stratum), "__observed__"), r.observed) for r in est.itertuples()]
    est["observed"] = [o for o, _ in obs]
    est["suppression_reason"] = [why for _, why in obs]
    est["suppressed"] = est["suppression_reason"] != ""
    est["lists"] = [", ".join(labels.get(x, x) for x in str(v).split(",") if x) for v in est["lists"]]
    case_rows = []
    for r in estimate.itertuples():
        per = _json(r.cases_per_list)
        for name in lists:
            value, why = shown((str(r.stratum), name), per.get(name, 0) or 0)
            case_rows.append({"wave": wave, "stratum": str(r.stratum), "list": name, "list_label": labels.get(name, name),
                              "cases": value, "suppressed": bool(why), "suppression_reason": why})
    overlap_rows = []
    if overlap is not None and len(overlap):
        for r in overlap.itertuples():
            h = str(r.history)
            value, why = shown(("overlap", str(r.stratum), h), r.count)
            members = histories.get(h) or [x for x in lists if x in h.split("+")]
            overlap_rows.append({"wave": wave, "stratum": str(r.stratum), "history": h,
                                 "lists_in_history": " + ".join(labels.get(x, x) for x in members),
                                 "n_lists": int(r.n_lists), "count": value, "suppressed": bool(why),
                                 "suppression_reason": why})
    sens = sensitivity.copy() if sensitivity is not None else pd.DataFrame(columns=PUBLISHED_SENSITIVITY_COLUMNS)
    for col in ("estimate", "ci_low", "ci_high"):
        if col in sens.columns:
            sens[col] = people(pd.to_numeric(sens[col], errors="coerce").to_numpy(dtype=float))
    for name in lists:  # list ids in scenario names read as the config's labels
        if "scenario" in sens.columns:
            sens["scenario"] = sens["scenario"].astype(str).str.replace(f"list {name}", labels.get(name, name),
                                                                          regex=False)
    return {"estimate": est.reindex(columns=PUBLISHED_PREVALENCE_COLUMNS).reset_index(drop=True),
            "case_counts": pd.DataFrame(case_rows, columns=PUBLISHED_CASE_COUNT_COLUMNS),
            "overlap": pd.DataFrame(overlap_rows, columns=PUBLISHED_OVERLAP_COLUMNS),
            "sensitivity": sens.reindex(columns=PUBLISHED_SENSITIVITY_COLUMNS).reset_index(drop=True)}
