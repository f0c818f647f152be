"""The one result structure every check reports in, whether Great Expectations or a plain-pandas rule ran it.

Results carry counts, shares and row numbers (``source_row``: the line of the export), never the
values of a row: they go to Dagster metadata, the warehouse and the quality page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

EXAMPLE_ROWS = 5
QUARANTINE_COLUMNS = ["dataset", "wave", "source_row", "check", "reason"]
CHECK_RESULT_COLUMNS = [
    "wave", "dataset", "check", "kind", "type", "column", "severity", "passed", "evaluated", "unexpected",
    "unexpected_percent", "rows_quarantined", "observed", "threshold", "message", "fix", "example_rows",
    "description",
]


@dataclass
class Outcome:
    """What one check found. ``rows`` are row numbers (all failing rows for a row check)."""

    passed: bool
    evaluated: int = 0
    unexpected: int = 0
    rows: list[int] = field(default_factory=list)
    observed: Any = None
    threshold: Any = None
    message: str = ""
    error: str | None = None
    unexpected_percent: float | None = None

    @classmethod
    def failed_to_run(cls, error: str) -> "Outcome":
        return cls(passed=False, error=error, message=f"could not be evaluated: {error}")

    def percent(self) -> float | None:
        if self.unexpected_percent is not None:
            return float(self.unexpected_percent)
        return 100.0 * self.unexpected / self.evaluated if self.evaluated else None


@dataclass
class CheckResult:
    """A check's result as reported: which check, its severity, and the outcome in counts."""

    dataset: str
    check: str
    kind: str           # "expectation" (GX) | "rule" | "builtin"
    type: str
    column: str | None
    severity: str       # "blocking" | "row"
    description: str
    fix: str
    outcome: Outcome
    rows_quarantined: int = 0

    @property
    def passed(self) -> bool:
        return self.outcome.passed

    @property
    def blocking_failure(self) -> bool:
        return self.severity == "blocking" and not self.outcome.passed

    def examples(self, n: int = EXAMPLE_ROWS) -> list[int]:
        return sorted(int(r) for r in self.outcome.rows)[:n]

    def record(self, wave: str) -> dict[str, Any]:
        o = self.outcome
        pct = o.percent()
        return {
            "wave": wave, "dataset": self.dataset, "check": self.check, "kind": self.kind, "type": self.type,
            "column": self.column, "severity": self.severity, "passed": bool(o.passed),
            "evaluated": int(o.evaluated), "unexpected": int(o.unexpected),
            "unexpected_percent": None if pct is None or math.isnan(pct) else round(pct, 3),
            "rows_quarantined": int(self.rows_quarantined),
            "observed": _text(o.observed), "threshold": _text(o.threshold),
            "message": o.message, "fix": self.fix,
            "example_rows": ", ".join(str(r) for r in self.examples()),
            "description": self.description,
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def results_frame(results: list[CheckResult], wave: str) -> pd.DataFrame:
    rows = [r.record(wave) for r in results]
    frame = pd.DataFrame(rows, columns=CHECK_RESULT_COLUMNS)
    for col in ("evaluated", "unexpected", "rows_quarantined"):
        frame[col] = frame[col].astype("int64")
    frame["passed"] = frame["passed"].astype(bool)
    frame["unexpected_percent"] = frame["unexpected_percent"].astype("float64")
    return frame


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({
        "dataset": pd.Series([], dtype=object), "wave": pd.Series([], dtype=object),
        "source_row": pd.Series([], dtype="int64"), "check": pd.Series([], dtype=object),
        "reason": pd.Series([], dtype=object)})


def blocking_message(results: pd.DataFrame, dataset: str, wave: str) -> str:
    """What holds a dataset back for a wave and what to fix, from its check results (empty: nothing)."""
    rows = results[(results["dataset"] == dataset) & (results["severity"] == "blocking") & ~results["passed"].astype(bool)]
    if not len(rows):
        return ""
    lines = [f"{dataset}, wave {wave}: held back — {len(rows)} blocking check(s) failed "
             f"(nothing is estimated from it until they pass):"]
    for r in rows.itertuples():
        lines.append(f"  - {r.check}: {r.description} — {r.message}")
        if r.fix:
            lines.append(f"    fix: {r.fix}")
    return "\n".join(lines)
