"""Screening a wave: run each dataset's suite, quarantine failing rows, decide whether the wave can go on.

Order, for each dataset:

1. **Row checks** (``severity: row``) run on every row received. A failing row goes to the
   quarantine table (dataset, wave, source_row, check, reason — never its values); a row that fails
   several checks has one quarantine line per check.
2. The **accepted** rows are the rows received minus every quarantined row.
3. **Blocking checks** (``severity: blocking``) run on the accepted rows — what would be estimated.
   If one fails, the dataset is *held back* for the wave: downstream assets do not run, and
   :meth:`DatasetScreening.fix_message` says what failed and what to fix.
4. **Reconciliation** (built in, blocking): rows in the export = accepted + quarantined, counting
   the rows ingestion already quarantined (blank, preview or test responses, repeated ids).

Plain functions of DataFrames and config: the Dagster assets in ``assets.py`` only call them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from assets.quality import gx_runner
from assets.quality.results import (
    QUARANTINE_COLUMNS,
    CheckResult,
    Outcome,
    blocking_message,
    empty_quarantine,
    results_frame,
)
from assets.quality.rules import RuleContext, run_rule
from assets.quality.suites import RECONCILIATION, SURVEY_DATASETS, Check, Suite, load_suite
from pipelines.config import Assessment

# The dataset name of each table in survey_exports (the file it was read from).
EXPORT_DATASET = {"officer_responses": "officer_survey", "stakeholder_interviews": "stakeholder_interviews",
                  "survivor_interviews": "survivor_interviews"}


@dataclass
class DatasetScreening:
    """One dataset of one wave after screening."""

    dataset: str
    wave: str
    rows_received: int
    rows_read: int
    accepted: pd.DataFrame
    quarantine: pd.DataFrame              # rows quarantined by the checks (not by ingestion)
    ingest_quarantined: int
    results: list[CheckResult] = field(default_factory=list)
    note: str = ""
    known: dict[str, pd.Categorical] = field(default_factory=dict)  # text columns of accepted, as categories
    not_collected: frozenset[str] = frozenset()  # questions the wave's export lacks: their checks not run

    @property
    def blocked(self) -> bool:
        return any(r.blocking_failure for r in self.results)

    @property
    def rows_quarantined(self) -> int:
        """Distinct rows quarantined by the checks."""
        return int(self.quarantine["source_row"].nunique()) if len(self.quarantine) else 0

    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocking_failure]

    def fix_message(self) -> str:
        """What stops the wave and what to do about it (empty when nothing blocks)."""
        return blocking_message(results_frame(self.results, self.wave), self.dataset, self.wave)


def _row_ids(frame: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    if suite.row_id in frame.columns:
        return frame
    first = suite.first_data_line
    return frame.assign(**{suite.row_id: np.arange(first, first + len(frame), dtype="int64")})


def _evaluate(frame: pd.DataFrame, gx_table: gx_runner.GxTable, suite: Suite, checks: list[Check],
              ctx: RuleContext, all_rows: bool) -> dict[str, Outcome]:
    outcomes = gx_runner.run_expectations(gx_table, suite, checks, suite.row_id, all_rows=all_rows)
    ids = frame[suite.row_id].to_numpy() if suite.row_id in frame.columns else np.arange(len(frame))
    for c in checks:
        if c.kind == "rule":
            outcomes[c.name] = run_rule(c.type, frame, ids, ctx, c.kwargs)
    return outcomes


def _result(suite: Suite, check: Check, outcome: Outcome, quarantined: int = 0) -> CheckResult:
    return CheckResult(dataset=suite.dataset, check=check.name, kind=check.kind, type=check.type,
                       column=check.column, severity=check.severity, description=check.description,
                       fix=check.fix, outcome=outcome, rows_quarantined=quarantined)


#: what a check on a question the wave's export lacks reports
NOT_COLLECTED_NOTE = "not run: the question is not collected in this wave"


def _needs(check: Check, not_collected: frozenset[str]) -> bool:
    """Whether a check is about a question the wave's export lacks (its for_each item or its column)."""
    return bool(not_collected) and (check.item in not_collected or check.column in not_collected)


def _without(check: Check, not_collected: frozenset[str]) -> Check:
    """A rule over several questions (a battery, every answer) run on the ones the wave collected."""
    if not not_collected:
        return check
    kwargs = {k: [c for c in v if c not in not_collected] if isinstance(v, list) and k.endswith("columns") else v
              for k, v in check.kwargs.items()}
    return check if kwargs == check.kwargs else replace(check, kwargs=kwargs)


def screen_dataset(frame: pd.DataFrame, suite: Suite, assessment: Assessment, wave: str, *,
                   rows_read: int | None = None, ingest_quarantine: pd.DataFrame | None = None,
                   not_collected: frozenset[str] | set[str] = frozenset(),
                   reconcile: bool | None = None) -> DatasetScreening:
    """Run ``suite`` on one dataset's rows of one wave (see the module docstring for the order).

    Checks of questions in ``not_collected`` are not run: they pass with a note saying so. ``reconcile``:
    add the built-in reconciliation check (default: for the survey datasets; an instrument's responses too)."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index(drop=True)
    frame = _row_ids(frame, suite)
    n = len(frame)
    ingest_rows = set()
    if ingest_quarantine is not None and len(ingest_quarantine):
        ingest_rows = set(ingest_quarantine["source_row"].astype("int64").tolist())
    rows_read = n + len(ingest_rows) if rows_read is None else int(rows_read)
    out = DatasetScreening(dataset=suite.dataset, wave=wave, rows_received=n, rows_read=rows_read,
                           accepted=frame, quarantine=empty_quarantine(), ingest_quarantined=len(ingest_rows),
                           not_collected=frozenset(not_collected))
    skipped = [c for c in suite.checks if _needs(c, out.not_collected)]
    checks = [_without(c, out.not_collected) for c in suite.checks if c not in skipped]

    if suite.optional and n == 0:
        out.note = f"no {suite.dataset} this wave: checks not applicable"
        for c in suite.checks:
            out.results.append(_result(suite, c, Outcome(passed=True, message=out.note)))
    else:
        ctx = RuleContext(assessment=assessment, rows_received=n)
        gx_table = gx_runner.prepare(frame, suite.checks, suite.row_id)
        ctx.known = gx_table.categories()
        row_checks = [c for c in checks if not c.blocking]
        outcomes = _evaluate(frame, gx_table, suite, row_checks, ctx, all_rows=True)
        parts = []
        for c in row_checks:
            o = outcomes[c.name]
            rows = sorted(set(o.rows))
            if rows:
                parts.append(pd.DataFrame({"source_row": np.asarray(rows, dtype="int64"), "check": c.name,
                                           "reason": c.reason}))
            out.results.append(_result(suite, c, o, quarantined=len(rows)))
        if parts:
            q = pd.concat(parts, ignore_index=True)
            q.insert(0, "wave", wave)
            q.insert(0, "dataset", suite.dataset)
            out.quarantine = q[QUARANTINE_COLUMNS].sort_values(["source_row", "check"], ignore_index=True)
            held = frame[suite.row_id].isin(out.quarantine["source_row"]).to_numpy()
            out.accepted = frame.take(np.flatnonzero(~held))  # one copy of the kept rows, renumbered
            out.accepted.index = pd.RangeIndex(len(out.accepted))
            gx_table = gx_table.take(~held)
        ctx.rows_quarantined = out.rows_quarantined
        ctx.known = {}  # blocking rules see the accepted rows
        out.known = gx_table.categories()
        blocking = [c for c in checks if c.blocking]
        outcomes = _evaluate(out.accepted, gx_table, suite, blocking, ctx, all_rows=False)
        for c in blocking:
            out.results.append(_result(suite, c, outcomes[c.name]))
        for c in skipped:
            out.results.append(_result(suite, c, Outcome(passed=True, message=NOT_COLLECTED_NOTE)))

    if suite.dataset in SURVEY_DATASETS if reconcile is None else reconcile:
        out.results.append(_reconcile(out, ingest_rows))
    return out


def _reconcile(s: DatasetScreening, ingest_rows: set[int]) -> CheckResult:
    screened = set(s.quarantine["source_row"].tolist()) if len(s.quarantine) else set()
    quarantined = len(screened | ingest_rows)
    accepted = len(s.accepted)
    ok = s.rows_read == accepted + quarantined
    msg = (f"{s.rows_read} rows read = {accepted} accepted + {quarantined} quarantined "
           f"({len(ingest_rows)} at ingestion, {len(screened)} by checks)")
    if not ok:
        msg = msg.replace(" = ", " ≠ ", 1)
    outcome = Outcome(passed=ok, evaluated=s.rows_read, unexpected=abs(s.rows_read - accepted - quarantined),
                      observed=accepted + quarantined, threshold=s.rows_read, message=msg)
    return CheckResult(dataset=s.dataset, check=RECONCILIATION, kind="builtin", type=RECONCILIATION, column=None,
                       severity="blocking",
                       description="Every row read from the export is either accepted or quarantined",
                       fix="Rows went missing between the export and the tables: re-run ingestion for the wave "
                           "and report the difference (it is a bug).", outcome=outcome)


@dataclass
class WaveScreening:
    """Every survey dataset of one wave after screening."""

    wave: str
    datasets: dict[str, DatasetScreening]
    ingest_quarantine: pd.DataFrame

    def accepted(self, dataset: str) -> pd.DataFrame:
        return self.datasets[dataset].accepted

    def quarantine(self) -> pd.DataFrame:
        """The wave's quarantine table: rows held back at ingestion and by the checks, every dataset."""
        parts = [self.ingest_quarantine[QUARANTINE_COLUMNS]] if len(self.ingest_quarantine) else []
        parts += [d.quarantine for d in self.datasets.values() if len(d.quarantine)]
        if not parts:
            return empty_quarantine()
        q = pd.concat(parts, ignore_index=True)
        q["source_row"] = q["source_row"].astype("int64")
        q["wave"] = self.wave
        return q.reset_index(drop=True)

    def results(self) -> list[CheckResult]:
        return [r for d in self.datasets.values() for r in d.results]

    def check_results(self) -> pd.DataFrame:
        """One row per check run: severity, passed, counts, example source rows (internal table)."""
        return results_frame(self.results(), self.wave)

    @property
    def blocked(self) -> list[str]:
        return [name for name, d in self.datasets.items() if d.blocked]


def rows_read_from_exports(exports: pd.DataFrame | None, dataset: str) -> int | None:
    """Respondent rows of the dataset's export file as fingerprinted by ``survey_exports`` (0 if no file)."""
    if exports is None or "dataset" not in exports.columns:
        return None
    rows = exports.loc[exports["dataset"] == EXPORT_DATASET.get(dataset, dataset), "rows"]
    return int(rows.iloc[0]) if len(rows) else 0


def screen_wave(assessment: Assessment, wave: str, tables: dict[str, pd.DataFrame], *,
                exports: pd.DataFrame | None = None, ingest_quarantine: pd.DataFrame | None = None,
                suite_dir: Path | str | None = None, not_collected: set[str] | None = None) -> WaveScreening:
    """Screen every survey dataset of a wave.

    ``tables`` maps dataset name (``officer_responses``, ``stakeholder_interviews``,
    ``survivor_interviews``) to its ingested rows; ``ingest_quarantine`` is ingestion's quarantine
    table (``officer_responses_quarantine``); ``exports`` is ``survey_exports`` (rows per file);
    ``not_collected`` the officer survey's questions the wave's export lacks (their checks are not run).
    """
    ingest_q = ingest_quarantine if ingest_quarantine is not None else empty_quarantine()
    screened = {}
    for dataset, frame in tables.items():
        suite = load_suite(dataset, assessment, suite_dir)
        mine = ingest_q[ingest_q["dataset"] == dataset] if len(ingest_q) else None
        screened[dataset] = screen_dataset(frame, suite, assessment, wave,
                                           rows_read=rows_read_from_exports(exports, dataset),
                                           ingest_quarantine=mine,
                                           not_collected=frozenset(not_collected or ()) if dataset == "officer_responses"
                                           else frozenset())
    return WaveScreening(wave=wave, datasets=screened, ingest_quarantine=ingest_q)


def check_table(table: pd.DataFrame, dataset: str, assessment: Assessment, wave: str = "",
                suite_dir: Path | str | None = None) -> DatasetScreening:
    """Screen a table that has no export behind it (e.g. the ``case_lists`` overlap table).

    The suite is expanded with the table's own columns (``$list_columns``); no reconciliation.
    """
    suite = load_suite(dataset, assessment, suite_dir, columns=[str(c) for c in table.columns])
    return screen_dataset(table, suite, assessment, wave)
