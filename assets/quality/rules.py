"""The assessment's own checks, in plain pandas, for what Great Expectations does not express well.

Each rule takes the table, its row numbers and the rule's kwargs from the suite, and returns an
:class:`~assets.quality.results.Outcome` (the same structure the GX entries report in). A row rule
lists the failing rows (they are quarantined); a blocking rule says whether the wave can go on.

Definitions (a methodologist's, documented in ``expectations/README.md``):

* **speeders** — time per answered question below ``fraction_of_median`` (default one third) of the
  wave's median time per answered question. Per answered question, so an officer who stopped
  part-way (SurveyMonkey keeps partial responses) is not taken for a speeder.
* **straight_lining** — every item of a battery answered, all with the same answer, and that answer
  one of ``flag_answers`` (default: the two ends of the agreement scale). Identical middling answers
  are plausible opinions; the same extreme on training, preparedness and the need for new laws is
  the pattern of someone not reading the items.
* **skip_logic** — an answer to a question the codebook's ``asked_if`` did not ask of this respondent
  (e.g. actions taken ticked by an officer who handled no case). A multi-select counts as answered
  when an option is ticked; only respondents who answered the condition question are judged.
* **county_coverage** — respondents from at least ``min_share`` of the state's counties and, with
  ``every_group``, from every county group the estimates compare.
* **max_quarantined_share** — row checks held back at most ``max_share`` of the rows they saw.
* **not_blank** — a row with every listed column empty (an interview never coded).
* **min_lists** / **observable_histories** — an overlap table has enough lists and no all-zero row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from assets.quality.results import Outcome
from pipelines.config import Assessment, Option


@dataclass
class RuleContext:
    assessment: Assessment
    rows_received: int = 0
    rows_quarantined: int = 0
    #: text columns of the table the rules are given, already factorised (the same values as
    #: categories; code -1 is exactly ``isna``): read instead of a million strings where they help
    known: dict[str, pd.Categorical] = field(default_factory=dict)

    def _known(self, frame: pd.DataFrame, column: str) -> pd.Categorical | None:
        cat = self.known.get(column)
        return cat if cat is not None and len(cat) == len(frame) else None

    def notna(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """``frame[column].notna()`` as an array."""
        cat = self._known(frame, column)
        return cat.codes >= 0 if cat is not None else frame[column].notna().to_numpy()

    def same_answers(self, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """Rows where every column equals the first (``frame[columns].eq(first, axis=0).all(axis=1)``),
        for rows with every column filled in (the others are not defined here)."""
        cats = [self._known(frame, c) for c in columns]
        if any(c is None for c in cats):
            items = frame[columns]
            return items.eq(items.iloc[:, 0], axis=0).all(axis=1).to_numpy()
        # one code per distinct answer across the columns (equal answers share it)
        shared, _ = pd.factorize(np.concatenate([np.asarray(c.categories, dtype=object) for c in cats]))
        same = np.ones(len(frame), dtype=bool)
        start, first = 0, None
        for cat in cats:
            lookup = np.append(shared[start:start + len(cat.categories)], -1)  # code -1 (blank) stays -1
            start += len(cat.categories)
            codes = lookup[cat.codes]
            if first is None:
                first = codes
            else:
                same &= codes == first
        return same


def _missing(frame: pd.DataFrame, columns: list[str]) -> Outcome | None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        return Outcome.failed_to_run(f"missing column(s): {', '.join(missing)}")
    return None


def _flagged(mask: np.ndarray, ids: np.ndarray, evaluated: int, message: str, **extra: Any) -> Outcome:
    k = int(mask.sum())
    return Outcome(passed=k == 0, evaluated=int(evaluated), unexpected=k, rows=ids[mask].tolist(),
                   message=message, **extra)


def speeders(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, duration_column: str = "duration_seconds",
             answer_columns: list[str] = (), fraction_of_median: float = 1 / 3, min_timed_rows: int = 10) -> Outcome:
    answer_columns = list(answer_columns)
    if (bad := _missing(frame, [duration_column, *answer_columns])) is not None:
        return bad
    if answer_columns:  # answered questions per row (frame[answer_columns].notna().sum(axis=1))
        answered = np.zeros(len(frame), dtype="int64")
        for c in answer_columns:
            answered += ctx.notna(frame, c)
    else:
        answered = np.ones(len(frame))
    seconds = pd.to_numeric(frame[duration_column], errors="coerce").to_numpy(dtype=float)
    timed = (answered > 0) & np.isfinite(seconds) & (seconds > 0)
    n = int(timed.sum())
    if n < min_timed_rows:
        return Outcome(passed=True, evaluated=n, threshold=fraction_of_median,
                       message=f"only {n} timed responses: too few to judge speed (at least {min_timed_rows})")
    pace = np.full(len(frame), np.nan)
    pace[timed] = seconds[timed] / answered[timed]
    median = float(np.median(pace[timed]))
    fast = timed & (pace < fraction_of_median * median)
    return _flagged(fast, ids, n, f"{int(fast.sum())} of {n} timed responses took under {fraction_of_median:.0%} "
                    f"of the median {median:.0f} s per answered question",
                    observed=round(median, 1), threshold=fraction_of_median)


def straight_lining(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, columns: list[str],
                    flag_answers: list[Any]) -> Outcome:
    columns = list(columns)
    if len(columns) < 2:
        return Outcome.failed_to_run("straight-lining needs at least two items")
    if (bad := _missing(frame, columns)) is not None:
        return bad
    complete = np.logical_and.reduce([ctx.notna(frame, c) for c in columns])
    first = frame[columns[0]]
    same = ctx.same_answers(frame, columns) & complete
    flagged = same & first.isin(list(flag_answers)).to_numpy()
    return _flagged(flagged, ids, int(complete.sum()),
                    f"{int(flagged.sum())} of {int(complete.sum())} officers who answered all {len(columns)} items "
                    f"gave each the same extreme answer")


def _answered(frame: pd.DataFrame, a: Assessment, name: str) -> np.ndarray | None:
    v = next(x for x in a.codebook.variables if x.name == name)
    if v.type == "multi":
        cols = [f"{v.name}__{o.code}" for o in v.options or [] if isinstance(o, Option)]
        cols += [v.other_column] if v.other_specify else []  # an "Other (please specify)" answer is an answer
        cols = [c for c in cols if c in frame.columns]
        if not cols:
            return None
        return frame[cols].fillna(False).astype(bool).any(axis=1).to_numpy()
    if name not in frame.columns:
        return None
    return frame[name].notna().to_numpy()


def skip_logic(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext) -> Outcome:
    a = ctx.assessment
    flagged = np.zeros(len(frame), dtype=bool)
    parts, missing = [], []
    for v in a.codebook.variables:
        if not v.asked_if:
            continue
        answered = _answered(frame, a, v.name)
        if answered is None or any(c not in frame.columns for c in v.asked_if):
            missing.append(v.name)
            continue
        not_asked = np.zeros(len(frame), dtype=bool)
        for cond, values in v.asked_if.items():
            col = frame[cond]
            not_asked |= (col.notna() & ~col.isin(values)).to_numpy()
        bad = answered & not_asked
        if bad.any():
            parts.append(f"{v.name}: {int(bad.sum())}")
        flagged |= bad
    if missing:
        return Outcome.failed_to_run(f"columns of {', '.join(missing)} or of its asked_if question are missing")
    msg = ("answers to questions that did not apply — " + "; ".join(parts)) if parts else \
        "every answer follows the codebook's skip logic"
    return _flagged(flagged, ids, len(frame), msg)


def county_coverage(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, column: str = "county",
                    counties: list[str] = (), min_share: float = 0.75, every_group: bool = True) -> Outcome:
    if (bad := _missing(frame, [column])) is not None:
        return bad
    counties = list(counties)
    present = set(frame[column].dropna().unique()) & set(counties)
    share = len(present) / len(counties) if counties else 0.0
    problems = []
    if share < min_share:
        problems.append(f"respondents from {len(present)} of {len(counties)} counties ({share:.0%}; "
                        f"at least {min_share:.0%} needed)")
    if every_group:
        empty = [g.name for g in ctx.assessment.config.county_groups if not present & set(g.counties)]
        if empty:
            problems.append(f"no respondent from county group(s): {', '.join(empty)}")
    absent = sorted(set(counties) - present)
    msg = "; ".join(problems) if problems else f"respondents from {len(present)} of {len(counties)} counties"
    if absent and len(absent) <= 6:
        msg += f" (none from {', '.join(absent)})"
    return Outcome(passed=not problems, evaluated=len(frame), unexpected=len(absent),
                   observed=f"{len(present)} of {len(counties)} counties", threshold=min_share, message=msg)


def max_quarantined_share(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, max_share: float = 0.25) -> Outcome:
    n, q = ctx.rows_received, ctx.rows_quarantined
    share = q / n if n else 0.0
    return Outcome(passed=share <= max_share, evaluated=n, unexpected=q, observed=round(share, 4),
                   threshold=max_share, unexpected_percent=100 * share,
                   message=f"{q} of {n} rows held back by row checks ({share:.1%}; at most {max_share:.0%} allowed)")


def not_blank(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, columns: list[str]) -> Outcome:
    columns = list(columns)
    if (bad := _missing(frame, columns)) is not None:
        return bad
    blank = frame[columns].isna().all(axis=1).to_numpy() if columns else np.zeros(len(frame), bool)
    return _flagged(blank, ids, len(frame), f"{int(blank.sum())} of {len(frame)} rows have every cell empty")


def min_lists(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, columns: list[str], min_lists: int = 2) -> Outcome:
    k = len(list(columns))
    return Outcome(passed=k >= min_lists, evaluated=len(frame), observed=k, threshold=min_lists,
                   message=f"{k} list column(s) ({min_lists} or more needed)")


def observable_histories(frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, *, columns: list[str]) -> Outcome:
    columns = list(columns)
    if (bad := _missing(frame, columns)) is not None:
        return bad
    if not columns:
        return Outcome.failed_to_run("no list columns")
    zero = (frame[columns].apply(pd.to_numeric, errors="coerce") == 0).all(axis=1).to_numpy()
    return _flagged(zero, ids, len(frame), f"{int(zero.sum())} row(s) for cases on no list")


RULES: dict[str, Callable[..., Outcome]] = {
    "speeders": speeders, "straight_lining": straight_lining, "skip_logic": skip_logic,
    "county_coverage": county_coverage, "max_quarantined_share": max_quarantined_share,
    "not_blank": not_blank, "min_lists": min_lists, "observable_histories": observable_histories,
}


def run_rule(name: str, frame: pd.DataFrame, ids: np.ndarray, ctx: RuleContext, kwargs: dict[str, Any]) -> Outcome:
    """Run one rule; a kwarg the rule does not take is reported as a problem of the suite by the caller."""
    return RULES[name](frame, ids, ctx, **kwargs)
