"""``htna prevalence OVERLAP.csv``: estimate the population size from one overlap table.

Defaults reproduce SparseMSE 2.0.1's ``estimatepopulation.0``: stepwise selection of two-way
interactions by its Poisson p-value rule at threshold 0.02 and a 95% Wald interval on the log of
the unseen count (on SparseMSE's ``Western`` data: 2,483.384; 1,657.094–3,830.030; model A:E).
``--criterion aic`` is the rule SparseMSE's documentation describes (lowest AIC, kept if its Wald
p < threshold); ``--ci profile`` gives Rcapture's multinomial profile-likelihood interval and
``--ci lognormal`` Chao's log-normal interval, which covers N better than the Wald interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import HtnaError, InputError

from .inputs import read_overlap_file
from .mse import MSEError
from .mse_selection import estimate_population
from .overlap import COUNT_COLUMN
from .results import PrevalenceEstimate
from .tables import INTERVALS

__all__ = ["CliResult", "estimate_overlap_file", "render", "run", "to_json"]


@dataclass
class CliResult:
    estimate: PrevalenceEstimate
    cases_per_list: dict[str, int]
    notes: list[str] = field(default_factory=list)


def _parse_model(model: str | None) -> tuple[str, tuple[str, ...]]:
    if model is None or model.strip() == "":
        return "stepwise", ()
    text = model.strip()
    if text.casefold() in ("independence", "main", "main-effects", "none"):
        return "independence", ()
    terms = tuple(t.strip() for t in text.replace(";", ",").replace("+", ",").split(",") if t.strip())
    return "fixed", terms


def estimate_overlap_file(
    path: Path | str,
    *,
    threshold: float = 0.02,
    criterion: str = "pvalue",
    ci: str = "wald-log",
    replicates: int = 1000,
    seed: int | None = 2015,
    level: float = 0.95,
    model: str | None = None,
) -> CliResult:
    """Read, validate and estimate one overlap table. Raises :class:`InputError` for a bad file
    and for impossible options (naming the option)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", fix="give the path of an overlap table CSV")
    if path.is_dir():
        raise InputError(path, "is a folder, not an overlap table CSV")
    if not 0.0 <= threshold <= 1.0:
        raise HtnaError(f"--threshold {threshold:g} is not between 0 and 1")
    if not 0.0 < level < 1.0:
        raise HtnaError(f"--level {level:g} is not between 0 and 1 (exclusive)")
    if replicates < 1:
        raise HtnaError(f"--replicates {replicates} must be at least 1")
    if ci not in INTERVALS:
        raise HtnaError(f"--ci {ci!r}: use one of {', '.join(INTERVALS)}")
    if criterion not in ("pvalue", "aic", "bic"):
        raise HtnaError(f"--criterion {criterion!r}: use pvalue, aic or bic")
    table = read_overlap_file(path)
    lists = [c for c in table.columns if c != COUNT_COLUMN]
    cases = {n: int((table[n] * table[COUNT_COLUMN]).sum()) for n in lists}
    notes: list[str] = list(table.attrs.get("notes", []))
    if int(table[COUNT_COLUMN].sum()) == 0:
        raise InputError(path, "every count is 0: no cases to estimate from", column=COUNT_COLUMN)
    empty = [n for n, c in cases.items() if c == 0]
    if empty:
        notes.append(f"lists with no cases: {', '.join(empty)} (no finite estimate with them; "
                     "leave them out)")
    selection, terms = _parse_model(model)
    try:
        est = estimate_population(table, selection=selection, interactions=terms or None,  # type: ignore[arg-type]
                                  threshold=threshold, criterion=criterion,  # type: ignore[arg-type]
                                  interval=INTERVALS[ci], level=level,  # type: ignore[arg-type]
                                  n_boot=replicates, seed=seed)
    except MSEError as exc:
        if selection == "fixed":
            raise InputError(path, f"--model {model!r}: {exc}") from None
        raise InputError(path, f"cannot estimate: {exc}") from None
    if est.note:
        notes.append(est.note)
    if est.exists and est.ci_high is not None and not math.isfinite(est.ci_high):
        notes.append("upper interval bound not reached")
    return CliResult(est, cases, notes)


def _fmt(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:,.3f}"


def render(result: CliResult, path: Path | str) -> str:
    """Plain-text summary for the terminal."""
    e = result.estimate
    lines = [f"{path}: {len(e.lists)} lists, {e.observed:,} cases seen"]
    width = max(len(n) for n in result.cases_per_list)
    for name, n in result.cases_per_list.items():
        lines.append(f"  {name:<{width}}  {n:,}")
    if e.exists:
        lines.append(f"estimated population: {_fmt(e.estimate)}  "
                     f"({100 * e.level:g}% interval {_fmt(e.ci_low)} – {_fmt(e.ci_high)})")
    else:
        lines.append("estimated population: none — the estimate does not exist for this model")
    lines.append(f"model: main effects{''.join(' + ' + t for t in e.model)}")
    lines.append(f"method: {e.method}")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def to_json(result: CliResult) -> dict[str, object]:
    """``observed, estimate, ci_low, ci_high, model, method`` (numbers ``null`` if not finite)."""
    return result.estimate.to_dict()


def run(path: str, *, as_json: bool = False, **options: object) -> tuple[str, list[str]]:
    """Text for stdout and notes for stderr (``pipelines.cli`` prints them)."""
    import json

    result = estimate_overlap_file(path, **options)  # type: ignore[arg-type]
    if as_json:
        return json.dumps(to_json(result), indent=2), result.notes
    return render(result, path), []
