"""Benchmark of the quality checks: a 182-respondent wave and a 1,000,000-row table.

Targets (issue 4): the Great Expectations run adds under 3 s to a 182-respondent wave once GX is
imported, and validating 1,000,000 rows stays under 15 s. Not a test: ``htna bench`` calls
:func:`bench_quality` and prints :func:`format_bench`.

The tables are synthetic officer responses in canonical form (``synthetic_officer_frame``), built
without going through an export so the timing is of the checks alone.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from pipelines.config import Assessment, Option


def synthetic_officer_frame(assessment: Assessment, wave: str = "2015", n: int = 182, seed: int = 2015) -> pd.DataFrame:
    """Synthetic ``officer_responses`` rows in canonical form (as ingestion would build them)."""
    from assets.ingest.open_ended import code_open_ended
    from assets.ingest.synthetic import generate_officer_answers

    answers = generate_officer_answers(assessment, wave, seed, n)
    frame = answers.drop(columns=["ip_address"])
    ids = frame["respondent_id"].to_numpy(dtype=object)
    for v in assessment.codebook.variables:
        if v.type == "multi":
            options = [f"{v.name}__{o.code}" for o in v.options or [] if isinstance(o, Option)]
            for col in options:
                frame[col] = pd.array(frame[col].tolist(), dtype="boolean")
            text = f"{v.name}__other_text"
            if text in frame.columns:  # as ingestion: whether "Other" was given and its themes, never its text
                other = frame.pop(text).to_numpy(dtype=object)
                given = np.array([t is not None and t == t and str(t).strip() != "" for t in other])
                answered = frame[options].notna().any(axis=1).to_numpy() | given
                frame[v.other_column] = pd.arrays.BooleanArray(given, ~answered)
                if v.coding is not None:
                    for col, values in code_open_ended(v, other, ids, None).columns.items():
                        frame[col] = values
        elif v.free_text and v.coding is not None and v.name in frame.columns:
            for col, values in code_open_ended(v, frame[v.name].to_numpy(dtype=object), ids, None).columns.items():
                frame[col] = values
    frame.insert(0, "wave", wave)
    frame.insert(1, "source_row", np.arange(3, 3 + n, dtype="int64"))
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["end_date"] = pd.to_datetime(frame["end_date"])
    frame["duration_seconds"] = (frame["end_date"] - frame["start_date"]).dt.total_seconds()
    for d in assessment.codebook.derived:
        mapping = assessment.derived_map(d)
        frame[d.name] = frame[d.from_].map(mapping).astype(object).where(frame[d.from_].notna(), None)
    return frame


def tile(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``frame`` repeated to ``rows`` rows, with unique source rows and respondent ids."""
    reps = -(-rows // len(frame))
    big = pd.concat([frame] * reps, ignore_index=True).iloc[:rows].copy()
    big["source_row"] = np.arange(3, 3 + rows, dtype="int64")
    big["respondent_id"] = (10_000_000_000 + np.arange(rows)).astype(str)
    return big


def _time(fn) -> tuple[float, Any]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def _times(fn) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (CPU time tells the cost when other work shares the machine)."""
    c, t = time.process_time(), time.perf_counter()
    value = fn()
    return time.perf_counter() - t, time.process_time() - c, value


def bench_quality(assessment: Assessment | None = None, sizes: tuple[int, ...] = (182, 1_000_000)) -> dict[str, Any]:
    """Time GX's import, then the officer suite (GX entries alone, and the whole screening) per size."""
    from assets.quality import gx_runner
    from assets.quality.screening import screen_dataset
    from assets.quality.suites import load_suite
    from pipelines.config import load_assessment

    assessment = assessment or load_assessment()
    suite = load_suite("officer_responses", assessment)
    already = "great_expectations" in sys.modules
    import_s, _ = _time(lambda: __import__("great_expectations"))
    context_s, _ = _time(gx_runner._batch_definition)
    base = synthetic_officer_frame(assessment, "2015", 182)
    out: dict[str, Any] = {"gx_import_s": round(import_s, 2), "gx_already_imported": already,
                           "gx_context_s": round(context_s, 2), "sizes": {}}
    gx_checks = [c for c in suite.checks if c.kind == "expectation"]
    for n in sizes:
        frame = base if n == len(base) else tile(base, n)
        row = [c for c in gx_checks if not c.blocking]
        blocking = [c for c in gx_checks if c.blocking]

        def gx_only(frame: pd.DataFrame = frame) -> None:
            gx_runner.run_expectations(frame, suite, row, "source_row", all_rows=True)
            gx_runner.run_expectations(frame, suite, blocking, "source_row", all_rows=False)

        gx_s, gx_cpu, _ = _times(gx_only)
        screen_s, screen_cpu, screened = _times(lambda frame=frame: screen_dataset(frame, suite, assessment, "2015"))
        out["sizes"][n] = {"gx_s": round(gx_s, 2), "gx_cpu_s": round(gx_cpu, 2), "screening_s": round(screen_s, 2),
                           "screening_cpu_s": round(screen_cpu, 2),
                           "expectations": len(gx_checks), "checks": len(screened.results),
                           "quarantined": screened.rows_quarantined, "blocked": screened.blocked}
    return out


def format_bench(result: dict[str, Any]) -> str:
    lines = [f"Great Expectations import: {result['gx_import_s']:.2f} s"
             + (" (already imported)" if result["gx_already_imported"] else "")
             + f"; context: {result['gx_context_s']:.2f} s"]
    targets = {182: 3.0, 1_000_000: 15.0}
    for n, r in result["sizes"].items():
        target = targets.get(n)
        verdict = "" if target is None else (f"  (target < {target:.0f} s: " + ("met" if r["gx_s"] < target else "MISSED") + ")")
        lines.append(f"{n:>9,} rows: GX {r['gx_s']:.2f} s ({r['gx_cpu_s']:.2f} s CPU) for {r['expectations']} "
                     f"expectations; whole screening {r['screening_s']:.2f} s ({r['screening_cpu_s']:.2f} s CPU) "
                     f"for {r['checks']} checks{verdict}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m assets.quality.bench
    print(format_bench(bench_quality()))
