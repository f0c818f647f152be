"""Benchmark: a six-list overlap table, full stepwise search and a 1,000-replicate bootstrap.

The acceptance target is under 30 s on the project machine for stepwise selection plus a
parametric bootstrap that repeats the selection on every replicate. :func:`bench_prevalence`
returns the timings as a dict (for ``htna bench``); ``python -m assets.prevalence.bench`` prints
them as JSON. No test times this (timings depend on the machine).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .mse_selection import bootstrap, stepwise
from .simulate import simulate_overlap

__all__ = ["TARGET_SECONDS", "bench_prevalence", "main"]

TARGET_SECONDS = 30.0

# Six lists of a population of 3,000 with sparse-ish capture and two real dependences, so the
# stepwise search has something to find and replicates choose different models.
_P = (0.05, 0.08, 0.10, 0.04, 0.12, 0.06)
_DEPENDENCE = {"A:B": 3.0, "C:E": 2.0}


def bench_prevalence(
    *,
    size: int = 3000,
    capture: Sequence[float] = _P,
    replicates: int = 1000,
    criteria: Sequence[str] = ("pvalue", "aic"),
    threshold: float = 0.02,
    seed: int = 11,
) -> dict[str, Any]:
    """Time stepwise selection and the bootstrap (repeating the selection) for each criterion.

    Returns ``{"lists", "observed", "replicates", "target_s", "runs": [{criterion, stepwise_s,
    bootstrap_s, total_s, model, estimate, ci_low, ci_high, failed}], "max_total_s", "ok"}``.
    """
    table = simulate_overlap(size, list(capture), dependence=_DEPENDENCE, seed=seed)
    runs = []
    for criterion in criteria:
        t0 = time.perf_counter()
        sel = stepwise(table, threshold, criterion)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        bs = bootstrap(table, threshold=threshold, criterion=criterion,  # type: ignore[arg-type]
                       n_boot=replicates, seed=seed)
        t2 = time.perf_counter()
        runs.append({
            "criterion": criterion, "stepwise_s": round(t1 - t0, 3), "bootstrap_s": round(t2 - t1, 3),
            "total_s": round(t2 - t0, 3), "model": list(sel.interactions),
            "estimate": None if sel.fit.estimate is None else round(float(sel.fit.estimate), 1),
            "ci_low": round(bs.ci_low, 1) if np.isfinite(bs.ci_low) else None,
            "ci_high": round(bs.ci_high, 1) if np.isfinite(bs.ci_high) else None,
            "failed": bs.n_failed,
        })
    worst = max(r["total_s"] for r in runs)
    return {
        "benchmark": "prevalence: six-list stepwise + bootstrap",
        "lists": len(capture), "population": size, "observed": int(table["count"].sum()),
        "replicates": replicates, "target_s": TARGET_SECONDS, "runs": runs,
        "max_total_s": worst, "ok": worst < TARGET_SECONDS,
        "python": platform.python_version(), "machine": platform.machine(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    result = bench_prevalence()
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
