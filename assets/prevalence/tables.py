"""The prevalence stage's three warehouse tables, built by plain functions the assets call.

* :func:`case_list_overlap_table` — the completed overlap table of the wave: how many distinct
  cases were on each combination of lists, pooled (``stratum = "all"``) and per stratum. Counts
  only; ``publishable`` marks the cells the disclosure rule allows to be shown.
* :func:`prevalence_estimate_table` — per stratum: the estimated number of victims (seen + unseen),
  its interval, the model, the method, the cases on each list, whether the estimate exists and is
  identifiable, a bootstrap interval that repeats the model selection, and plain-language caveats.
* :func:`prevalence_sensitivity_table` — the pooled estimate under other selection rules,
  thresholds, the independence model and each list left out.

A wave without case lists gives empty tables with the same columns (and a note), not a failure.
Every table has a ``wave`` column (the warehouse keeps one slice of rows per wave).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .inputs import ALL_STRATA, read_wave_lists
from .mse import MSEError, fit_model
from .mse_selection import bootstrap, estimate_population
from .overlap import COUNT_COLUMN, complete_overlap_table, drop_list
from .sensitivity import DEFAULT_THRESHOLDS, sensitivity_table

__all__ = [
    "CAVEATS",
    "caveats",
    "ESTIMATE_COLUMNS",
    "OVERLAP_META_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "INTERVALS",
    "StageResult",
    "case_list_overlap_table",
    "overlap_tables_from_warehouse",
    "prevalence_estimate_table",
    "prevalence_sensitivity_table",
]

#: Interval names of the config and the CLI → :func:`assets.prevalence.mse_selection.estimate_population`.
INTERVALS = {"wald-log": "wald", "wald": "wald", "lognormal": "lognormal", "profile": "profile",
             "profile-poisson": "profile-poisson", "bootstrap": "bootstrap"}

CAVEATS = [
    "Closed population: the estimate assumes every victim of the year could have been seen by "
    "each agency during the year; people who arrive, leave or stop being trafficked part-way "
    "through the year make the estimate less reliable.",
    "List dependence: the model allows for the two-way dependences between lists that its "
    "selection rule finds (e.g. one agency referring victims to another), but dependences it "
    "cannot detect, or victims who avoid every agency alike, usually make the estimate too low.",
    "Linkage errors: cases are matched across lists on name and date of birth; a misspelling "
    "or a missing date makes one person look like two (estimate too high), two people with the "
    "same details look like one (too low).",
    "Model choice: equally defensible models can give quite different numbers (see the "
    "sensitivity table). The headline interval is for the chosen model; the bootstrap interval "
    "repeats the model selection and is usually wider.",
    "Definitions: the lists must count the same thing ({population}, by the same definition); cases "
    "outside that definition on any list bias the estimate.",
]


def caveats(assessment: Any) -> list[str]:
    """The caveats of every estimate, with the population counted as the config's prevalence section
    defines it (its ``{state}`` filled with the config's state name)."""
    population = assessment.config.prevalence.population.format(state=assessment.config.state.name)
    return [c.replace("{population}", population) for c in CAVEATS]

OVERLAP_META_COLUMNS = ["wave", "stratum", "source", "lists", "history", "n_lists"]
OVERLAP_TAIL_COLUMNS = [COUNT_COLUMN, "publishable"]

ESTIMATE_COLUMNS = [
    "wave", "stratum", "lists", "n_lists", "observed", "estimate", "ci_low", "ci_high", "level",
    "interval", "criterion", "threshold", "model", "method", "exists", "identifiable", "message",
    "aic", "boot_low", "boot_high", "boot_replicates", "boot_failed", "cases_per_list", "source",
    "caveats",
]
_ESTIMATE_TYPES = {
    "wave": object, "stratum": object, "lists": object, "n_lists": "int64", "observed": "int64",
    "estimate": float, "ci_low": float, "ci_high": float, "level": float, "interval": object,
    "criterion": object, "threshold": float, "model": object, "method": object, "exists": bool,
    "identifiable": bool, "message": object, "aic": float, "boot_low": float, "boot_high": float,
    "boot_replicates": "int64", "boot_failed": "int64", "cases_per_list": object, "source": object,
    "caveats": object,
}
SENSITIVITY_COLUMNS = [
    "wave", "stratum", "scenario", "selection", "lists", "observed", "estimate", "ci_low", "ci_high",
    "model", "aic", "exists", "note", "interval",
]
_SENSITIVITY_TYPES = {
    "wave": object, "stratum": object, "scenario": object, "selection": object, "lists": object,
    "observed": "int64", "estimate": float, "ci_low": float, "ci_high": float, "model": object,
    "aic": float, "exists": bool, "note": object, "interval": object,
}


@dataclass
class StageResult:
    """A table for the warehouse plus log notes and metadata (counts and settings only)."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def _empty(columns: Sequence[str], types: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, object)) for c in columns})


def _float(x: Any) -> float:
    if x is None:
        return math.nan
    x = float(x)
    return x if math.isfinite(x) else math.nan


# ----------------------------------------------------------------------------- overlap


def _lists_config(prevalence: Any) -> list[tuple[str, str]]:
    return [(x.name, x.label) for x in prevalence.lists]


def case_list_overlap_table(data_dir: Path, wave: str, assessment: Any) -> StageResult:
    """Read the wave's case lists from ``<data_dir>/incoming/<wave>/`` and return the overlap table.

    Columns: ``wave, stratum, lists, history, n_lists``, one 0/1 column per list, ``count`` and
    ``publishable``. ``stratum`` is ``"all"`` for the pooled table, then each stratum value;
    ``lists`` is the comma-separated list order; ``history`` names the lists of the row
    (``hotline+advocates``). Cells with 1 to ``min_cell_count - 1`` cases are not publishable.
    """
    cfg = assessment.config.prevalence
    folder = Path(data_dir) / "incoming" / wave
    read = read_wave_lists(folder, identifiers=cfg.identifiers, lists=_lists_config(cfg),
                           stratum=cfg.stratum, limits=assessment.config.input_limits)
    if read.table is None:
        names = [x.name for x in cfg.lists]
        types = {n: "int64" for n in names} | {"n_lists": "int64", COUNT_COLUMN: "int64",
                                               "publishable": bool}
        return StageResult(_empty([*OVERLAP_META_COLUMNS, *names, *OVERLAP_TAIL_COLUMNS], types),
                           read.notes, {"source": "none", "lists": 0, "observed": 0})
    min_cell = cfg.min_cell_count or assessment.min_cell_count
    raw = read.table
    names = read.lists
    parts = []
    if "stratum" in raw.columns:
        pooled = raw.groupby(names, as_index=False, sort=False)[COUNT_COLUMN].sum()
        parts.append((ALL_STRATA, complete_overlap_table(pooled, names)))
        for value, group in raw.groupby("stratum", sort=True):
            parts.append((str(value), group.drop(columns=["stratum"]).reset_index(drop=True)))
    else:
        parts.append((ALL_STRATA, raw))
    frames = []
    for stratum, table in parts:
        hist = table[names].to_numpy()
        out = pd.DataFrame({
            "wave": wave,
            "stratum": stratum,
            "source": read.source,
            "lists": ",".join(names),
            "history": ["+".join(n for n, h in zip(names, row, strict=True) if h) for row in hist],
            "n_lists": hist.sum(axis=1).astype(np.int64),
        })
        for n in names:
            out[n] = table[n].to_numpy(dtype=np.int64)
        out[COUNT_COLUMN] = table[COUNT_COLUMN].to_numpy(dtype=np.int64)
        out["publishable"] = (out[COUNT_COLUMN] == 0) | (out[COUNT_COLUMN] >= min_cell)
        frames.append(out)
    result = pd.concat(frames, ignore_index=True)
    pooled_rows = result[result["stratum"] == ALL_STRATA]
    meta = dict(read.metadata)
    meta.update({
        "lists": len(names),
        "observed": int(pooled_rows[COUNT_COLUMN].sum()),
        "strata": [s for s, _ in parts if s != ALL_STRATA],
        "cells_not_publishable": int((~pooled_rows["publishable"]).sum()),
        "min_cell_count": int(min_cell),
    })
    return StageResult(result, read.notes, meta)


def overlap_tables_from_warehouse(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Completed overlap tables by stratum from the stored ``case_list_overlap`` rows of one wave.

    The warehouse table has the list columns of every wave; the ``lists`` column says which are
    this wave's, and in what order.
    """
    if frame is None or len(frame) == 0:
        return {}
    out: dict[str, pd.DataFrame] = {}
    for stratum, group in frame.groupby("stratum", sort=False):
        names = str(group["lists"].iloc[0]).split(",")
        table = group[names].astype(np.int64).copy()
        table[COUNT_COLUMN] = group[COUNT_COLUMN].astype(np.int64).to_numpy()
        out[str(stratum)] = complete_overlap_table(table.reset_index(drop=True), names)
    if ALL_STRATA in out:  # pooled first
        out = {ALL_STRATA: out.pop(ALL_STRATA), **out}
    return out


def _informative(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Leave out lists with no cases (they carry no information and have no finite main effect)."""
    names = [c for c in table.columns if c != COUNT_COLUMN]
    dropped = []
    for n in names:
        if int((table[n] * table[COUNT_COLUMN]).sum()) == 0 and len(names) - len(dropped) > 2:
            dropped.append(n)
    for n in dropped:
        table = drop_list(table, n)
    return table, dropped


# ----------------------------------------------------------------------------- estimate


def _estimate_row(table: pd.DataFrame, cfg: Any, wave: str, stratum: str, source: str,
                  notes_of_caveats: list[str]) -> dict[str, Any]:
    names = [c for c in table.columns if c != COUNT_COLUMN]
    cases = {n: int((table[n] * table[COUNT_COLUMN]).sum()) for n in names}
    observed = int(table[COUNT_COLUMN].sum())
    row: dict[str, Any] = {
        "wave": wave, "stratum": stratum, "lists": ",".join(names), "n_lists": len(names),
        "observed": observed, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
        "level": float(cfg.level), "interval": cfg.interval, "criterion": cfg.criterion,
        "threshold": float(cfg.threshold), "model": "", "method": "", "exists": False,
        "identifiable": False, "message": "", "aic": math.nan, "boot_low": math.nan,
        "boot_high": math.nan, "boot_replicates": 0, "boot_failed": 0,
        "cases_per_list": json.dumps(cases), "source": source, "caveats": json.dumps(notes_of_caveats),
    }
    notes: list[str] = []
    if observed == 0:
        row["message"] = "no cases on any list: nothing to estimate"
        return row
    used, dropped = _informative(table)
    if dropped:
        notes.append(f"lists with no cases left out: {', '.join(dropped)}")
    used_names = [c for c in used.columns if c != COUNT_COLUMN]
    row["lists"], row["n_lists"] = ",".join(used_names), len(used_names)
    if len(used_names) < 2 or sum(1 for n in used_names if cases[n] > 0) < 2:
        row["message"] = "; ".join([*notes, "cases on fewer than 2 lists: no estimate"])
        return row
    interval = INTERVALS[cfg.interval]
    kwargs = dict(threshold=cfg.threshold, criterion=cfg.criterion, level=cfg.level,
                  n_boot=max(1, cfg.bootstrap_replicates), seed=cfg.seed)
    try:
        est = estimate_population(used, interval=interval, **kwargs)
    except (MSEError, ValueError, RuntimeError, ArithmeticError) as exc:
        est = estimate_population(used, interval="wald", **kwargs)  # the estimate, without that interval
        note = (est.note + "; " if est.note else "") + f"{cfg.interval} interval failed: {exc}"
        est = dataclasses.replace(est, ci_low=None, ci_high=None, note=note)
    fit = fit_model(used, est.model)
    row.update({
        "observed": int(est.observed), "estimate": _float(est.estimate), "ci_low": _float(est.ci_low),
        "ci_high": _float(est.ci_high), "model": ", ".join(est.model) or "(main effects)",
        "method": est.method, "exists": bool(est.exists), "identifiable": bool(fit.identifiable),
        "aic": _float(fit.aic),
    })
    if est.exists and est.ci_high is not None and not math.isfinite(float(est.ci_high)):
        notes.append("upper interval bound not reached")
    if est.note:
        notes.append(est.note)
    if est.exists and cfg.bootstrap_replicates > 0:
        try:
            bs = bootstrap(used, threshold=cfg.threshold, criterion=cfg.criterion,
                           n_boot=cfg.bootstrap_replicates, seed=cfg.seed, level=cfg.level)
            row.update(boot_low=_float(bs.ci_low), boot_high=_float(bs.ci_high),
                       boot_replicates=int(bs.n_boot), boot_failed=int(bs.n_failed))
        except (MSEError, ValueError, RuntimeError, ArithmeticError) as exc:
            notes.append(f"bootstrap failed: {exc}")
    row["message"] = "; ".join(dict.fromkeys(notes))
    return row


def prevalence_estimate_table(overlap: pd.DataFrame, assessment: Any, wave: str) -> StageResult:
    """One row per stratum (``all`` first): estimate, interval, model, flags and message.

    ``overlap`` is the stored ``case_list_overlap`` slice of the wave (empty: empty result).
    """
    cfg = assessment.config.prevalence
    tables = overlap_tables_from_warehouse(overlap)
    if not tables:
        return StageResult(_empty(ESTIMATE_COLUMNS, _ESTIMATE_TYPES),
                           [f"wave {wave} has no case lists: no prevalence estimate"])
    source = str(overlap["source"].iloc[0]) if "source" in overlap.columns else ""
    rows = [_estimate_row(t, cfg, wave, s, source, caveats(assessment)) for s, t in tables.items()]
    table = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS).astype(_ESTIMATE_TYPES)
    head = rows[0]
    notes = [f"{r['stratum']}: {r['message']}" for r in rows if r["message"]]
    meta = {
        "observed": int(head["observed"]),
        "estimate": None if math.isnan(head["estimate"]) else round(head["estimate"], 1),
        "ci": None if math.isnan(head["ci_low"]) else
        [round(head["ci_low"], 1), None if math.isnan(head["ci_high"]) else round(head["ci_high"], 1)],
        "model": head["model"], "method": head["method"], "exists": bool(head["exists"]),
        "strata": len(rows) - 1,
    }
    return StageResult(table, notes, meta)


# ----------------------------------------------------------------------------- sensitivity


def prevalence_sensitivity_table(overlap: pd.DataFrame, assessment: Any, wave: str) -> StageResult:
    """The pooled estimate under alternative choices (see :func:`sensitivity_table`): stepwise at
    thresholds 0.001–0.05 with the configured rule, the other rules (AIC, BIC, SparseMSE's
    p-value), the independence model and each list left out."""
    cfg = assessment.config.prevalence
    tables = overlap_tables_from_warehouse(overlap)
    if not tables or int(tables[ALL_STRATA][COUNT_COLUMN].sum()) == 0:
        return StageResult(_empty(SENSITIVITY_COLUMNS, _SENSITIVITY_TYPES),
                           [f"wave {wave} has no case lists: no sensitivity table"])
    table, dropped = _informative(tables[ALL_STRATA])
    interval = cfg.interval if cfg.interval != "bootstrap" else "lognormal"
    thresholds = sorted(set(DEFAULT_THRESHOLDS) | {float(cfg.threshold)})
    common = dict(loo_threshold=cfg.threshold, level=cfg.level, interval=INTERVALS[interval])
    sens = sensitivity_table(table, thresholds=thresholds, criterion=cfg.criterion, **common)
    if cfg.criterion != "aic":  # the AIC rule too, at the configured threshold
        aic = sensitivity_table(table, thresholds=[cfg.threshold], criterion="aic",
                                leave_one_out=False, **common)
        sens = pd.concat([sens.iloc[:len(thresholds)], aic.iloc[:1], sens.iloc[len(thresholds):]],
                         ignore_index=True)
    sens.insert(0, "stratum", ALL_STRATA)
    sens.insert(0, "wave", wave)
    sens["interval"] = interval
    sens["estimate"] = sens["estimate"].map(_float)
    sens["ci_low"] = sens["ci_low"].map(_float)
    sens["ci_high"] = sens["ci_high"].map(_float)
    sens["note"] = sens["note"].fillna("").astype(str)
    out = sens[SENSITIVITY_COLUMNS].astype(_SENSITIVITY_TYPES)
    notes = [f"lists with no cases left out: {', '.join(dropped)}"] if dropped else []
    est = out["estimate"].dropna()
    meta = {"scenarios": len(out),
            "estimate_range": [round(float(est.min()), 1), round(float(est.max()), 1)] if len(est) else None}
    return StageResult(out, notes, meta)
