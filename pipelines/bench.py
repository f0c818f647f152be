"""`htna bench`: how long the whole assessment takes, per asset, as the survey grows.

For each size it writes a synthetic officer export (SurveyMonkey layout) with the interview files,
then runs the full pipeline for one wave in a fresh process and records each asset's wall time,
the total, and the peak memory of that process. Floors are measured in the same run:

- DuckDB scan floor: DuckDB alone reading the same export once (``count(*)`` over every row as text,
  nothing kept). Issue #10's target is ingest within 2x of this floor.
- DuckDB load floor: DuckDB alone loading the same export, all columns as text, into a table of a
  new DuckDB file and closing it (so the table is written to disk), which ingest also has to do.
- Import floor: importing the libraries a run needs, in a fresh interpreter.

Per size, ``ingest_s`` is the survey_exports and officer_responses assets' time together, with its
ratio to each DuckDB floor. Results are printed and written as JSON. Nothing here asserts a time:
targets are read off the output (BENCHMARKS.md).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

FULL_SIZES = [182, 10_000, 100_000, 1_000_000]
QUICK_SIZES = [182, 2_000]
RUN_LIBRARIES = "import dagster, pandas, numpy, duckdb, scipy.stats, statsmodels.api, plotly, jinja2, yaml"


def _python(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def import_floor() -> float:
    """Seconds to import the libraries a run needs, in a fresh interpreter."""
    return _python(RUN_LIBRARIES)


EXPORT_SCAN = "read_csv(?, skip=2, header=false, all_varchar=true, strict_mode=false, parallel=true)"


def duckdb_scan_floor(export: Path) -> float:
    """Seconds for DuckDB alone to read the whole export once (text columns, two header rows)."""
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"SELECT count(*) FROM {EXPORT_SCAN}", [str(export)]).fetchone()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def duckdb_load_floor(export: Path, where: Path | None = None) -> float:
    """Seconds for DuckDB alone to load the whole export into a table of a new DuckDB file (text
    columns, two header rows), the connection closed so the table is on disk. The file is made in a
    temporary folder (under ``where``: the benchmark's own disk) and removed afterwards."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="load-floor-", dir=where) as tmp:
        start = time.perf_counter()
        con = duckdb.connect(str(Path(tmp) / "floor.duckdb"))
        con.execute(f"CREATE TABLE export AS SELECT * FROM {EXPORT_SCAN}", [str(export)])
        con.close()
        return time.perf_counter() - start


def write_wave(size: int, folder: Path, seed: int = 2015) -> Path:
    from assets.ingest.synthetic import write_demo_wave
    from pipelines.config import load_assessment

    write_demo_wave(load_assessment(), "2015", seed, size, folder)
    return folder / "officer_survey.csv"


def run_once(data: Path, workdir: Path) -> dict:
    """One full pipeline run for wave 2015 in a fresh process."""
    timings = workdir / "timings.json"
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--full", "--data", str(data),
           "--warehouse", str(workdir / "bench.duckdb"), "--output", str(workdir / "site"),
           "--timings", str(timings)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark run failed:\n{proc.stderr[-2000:]}")
    result = json.loads(timings.read_text())
    return {"total_s": total, "assets_s": result["steps"], "peak_rss_mb": result["peak_rss_mb"]}


def run_benchmark(sizes: list[int], repetitions: int, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": __import__("os").cpu_count()},
        "import_floor_s": min(import_floor() for _ in range(max(1, repetitions))),
        "sizes": [],
    }
    for size in sizes:
        folder = workdir / f"n{size}" / "data" / "incoming" / "2015"
        t0 = time.perf_counter()
        export = write_wave(size, folder)
        generated = time.perf_counter() - t0
        runs = [run_once(folder.parent.parent, workdir / f"n{size}") for _ in range(repetitions)]
        best = min(runs, key=lambda r: r["total_s"])
        scan_floor = min(duckdb_scan_floor(export) for _ in range(repetitions))
        load_floor = min(duckdb_load_floor(export, workdir / f"n{size}") for _ in range(repetitions))
        ingest = best["assets_s"]["survey_exports"] + best["assets_s"]["officer_responses"]
        entry = {"respondents": size, "export_mb": export.stat().st_size / 1e6, "generate_s": generated,
                 "duckdb_scan_floor_s": scan_floor, "duckdb_load_floor_s": load_floor,
                 "ingest_s": ingest, "ingest_vs_scan_floor": ingest / scan_floor,
                 "ingest_vs_load_floor": ingest / load_floor,
                 "total_s": best["total_s"], "assets_s": best["assets_s"],
                 "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "runs_total_s": [r["total_s"] for r in runs]}
        report["sizes"].append(entry)
        print(format_entry(entry), flush=True)
    return report


def format_entry(e: dict) -> str:
    steps = ", ".join(f"{k} {v:.2f}" for k, v in e["assets_s"].items())
    return (f"n={e['respondents']:>9,}  total {e['total_s']:7.2f} s  peak RSS {e['peak_rss_mb']:7.0f} MB  "
            f"DuckDB scan floor {e['duckdb_scan_floor_s']:.2f} s  DuckDB load floor {e['duckdb_load_floor_s']:.2f} s\n"
            f"    ingest {e['ingest_s']:.2f} s (survey_exports + officer_responses) = "
            f"{e['ingest_vs_scan_floor']:.1f}x scan floor, {e['ingest_vs_load_floor']:.1f}x load floor\n"
            f"    assets: {steps}")


def component_benchmarks(quick: bool) -> dict:
    """The targets that belong to one stage: quality checks, ad-hoc estimates, prevalence bootstrap."""
    from assets.estimates.bench import bench_estimate
    from assets.prevalence.bench import bench_prevalence
    from assets.quality.bench import bench_quality

    rows = 20_000 if quick else 1_000_000
    results = {
        "quality": bench_quality(sizes=(182, rows)),
        "estimate": bench_estimate(rows=rows),
        "prevalence": bench_prevalence(replicates=100 if quick else 1000),
    }
    for name, result in results.items():
        print(f"{name}: {json.dumps(result, default=str)[:400]}", flush=True)
    return results


def main(sizes: list[int] | None, quick: bool, repetitions: int, out: Path, workdir: Path,
         components: bool = True, ui: bool = True) -> dict:
    chosen = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    report = run_benchmark(chosen, repetitions, workdir)
    report["reruns"] = reruns(workdir, repetitions)
    if ui:
        report["ui_against_cli"] = ui_against_cli(workdir, chosen[0], repetitions)
    if components:
        report["components"] = component_benchmarks(quick)
    print(f"import floor {report['import_floor_s']:.2f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"Benchmark written: {out}")
    return report


def reruns(workdir: Path, repetitions: int = 1, size: int = 182) -> dict:
    """``htna run`` of a wave already run, with nothing changed and after editing only a page template
    (of a copy of the config whose ``report.templates`` is a copy of the templates): the re-runs only
    what changed does (pipelines/run_plan.py). Wall times of the command, best of ``repetitions``."""
    import os
    import shutil

    from pipelines.config import DEFAULT_CONFIG, REPO_ROOT

    root = workdir / "reruns"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(DEFAULT_CONFIG.parent, root / "config")
    shutil.copytree(REPO_ROOT / "reports" / "templates", root / "templates")
    config = root / "config" / DEFAULT_CONFIG.name
    config.write_text(config.read_text(encoding="utf-8").replace(
        "\nreport:\n", f"\nreport:\n  templates: {root / 'templates'}\n", 1), encoding="utf-8")
    write_wave(size, root / "data" / "incoming" / "2015")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTNA_")}
    env["DAGSTER_HOME"] = str(root / "dagster")
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--config", str(config),
           "--data", str(root / "data"), "--warehouse", str(root / "htna.duckdb"), "--output", str(root / "site")]

    def timed() -> float:
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"re-run failed:\n{proc.stderr[-2000:]}")
        return time.perf_counter() - start

    first = timed()
    unchanged, edited = [], []
    page = root / "templates" / "methods.html.j2"
    for i in range(max(1, repetitions)):
        unchanged.append(timed())
        page.write_text(page.read_text(encoding="utf-8") + f"\n{{# edit {i} #}}\n", encoding="utf-8")
        edited.append(timed())
    result = {"respondents": size, "first_run_s": first, "unchanged_s": min(unchanged),
              "template_edit_s": min(edited), "unchanged_runs_s": unchanged, "template_edit_runs_s": edited}
    print(f"re-run with nothing changed {result['unchanged_s']:.2f} s; after editing a page template "
          f"{result['template_edit_s']:.2f} s (target < 4 s; first run {first:.2f} s)", flush=True)
    return result


def ui_against_cli(workdir: Path, size: int = 182, repetitions: int = 1) -> dict:
    """A run of one wave launched from the UI (``launchRun`` through the webserver's GraphQL API of a
    started ``dagster dev``, queue and daemon included) beside ``htna run`` of the same wave, on the same
    instance (a fresh Dagster home) and the same exports, each into a fresh warehouse.

    ``cli_s`` is the command's wall time (process start, imports, run); ``ui_s`` is from the launch
    request to the run's end as the UI reports it (queue, run worker start, imports, run); ``ui_run_s``
    is the run's own start to end. The target (issue #19) is ``ui_over_cli`` <= 1.5."""
    import os

    from pipelines.config import REPO_ROOT
    from pipelines.partitions import register_waves
    from pipelines.run_history import instance_config
    from pipelines.ui_launch import dagster_dev, launch_wave, wait_for_run

    root = workdir / f"ui-n{size}"
    home = root / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(instance_config(home), encoding="utf-8")
    data = root / "data"
    write_wave(size, data / "incoming" / "2015")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTNA_")}
    env["DAGSTER_HOME"] = str(home)
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        register_waves(instance, ["2015"])
    cli_times, ui_times, ui_run_times = [], [], []
    for i in range(repetitions):
        cmd = [sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(data),
               "--warehouse", str(root / f"cli-{i}.duckdb"), "--output", str(root / f"site-cli-{i}")]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
        cli_times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(f"CLI run failed:\n{proc.stderr[-2000:]}")
    ui_env = {**env, "HTNA_DATA": str(data), "HTNA_WAREHOUSE": str(root / "ui.duckdb"),
              "HTNA_OUTPUT": str(root / "site-ui")}
    with dagster_dev(REPO_ROOT, ui_env) as port:
        for _ in range(repetitions):
            start = time.perf_counter()
            run_id = launch_wave(port, "2015")
            run = wait_for_run(port, run_id)
            ui_times.append(time.perf_counter() - start)
            if run["status"] != "SUCCESS":
                raise RuntimeError(f"UI-launched run {run_id} ended {run['status']}")
            ui_run_times.append(run["endTime"] - run["startTime"])
    result = {"respondents": size, "cli_s": min(cli_times), "ui_s": min(ui_times), "ui_run_s": min(ui_run_times),
              "cli_runs_s": cli_times, "ui_runs_s": ui_times}
    result["ui_over_cli"] = result["ui_s"] / result["cli_s"]
    print(f"UI-launched run (GraphQL launchRun, queue and daemon included) {result['ui_s']:.2f} s "
          f"(the run itself {result['ui_run_s']:.2f} s); htna run {result['cli_s']:.2f} s: "
          f"UI/CLI = {result['ui_over_cli']:.2f}x (target <= 1.5x)", flush=True)
    return result
