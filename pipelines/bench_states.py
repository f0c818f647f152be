"""`htna bench --states N`: many states at once, through Dagster's run queue.

Builds N invented states of different sizes (3 to 16 counties; respondents spread from half to one and a
half times ``--respondents``, so N x ``--respondents`` in all), writes one wave of synthetic exports for
each, writes the multi-state workspace (``htna states workspace``: one code location per state, its own
DuckDB file and site), starts ``dagster dev`` on it (webserver, daemon, a code server per state), then
launches one run per state as the UI does (GraphQL ``launchRun``), all at once. The runs queue in the
workspace's instance (QueuedRunCoordinator: at most ``max_concurrent_runs`` at a time, one per state), the
daemon launches them (the default run launcher: a process per run), and this waits for every run.

Reported: the wall time from the first launch to the last run's end, states per minute, failed runs,
lock errors (any event of any run naming a file lock: DuckDB's "Could not set lock" or a conflicting
lock) and lock waits (a run waiting for another run's wave lock), the most runs in progress at once, the
time the workspace took to load (not in the wall time), and the load average before, during and after.
Nothing here asserts a time: BENCHMARKS.md reads the figures off the output.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def state_sizes(states: int, respondents: int) -> list[int]:
    """Respondents per state: from half to one and a half times ``respondents``, summing to states x respondents
    (up to rounding)."""
    if states == 1:
        return [respondents]
    return [max(50, round(respondents * (0.5 + i / (states - 1)))) for i in range(states)]


def build_states(root: Path, states: int, respondents: int, wave: str) -> tuple[list[Path], list[int], Path]:
    """Config folders and one wave of synthetic exports per invented state; returns the configs, the sizes
    and the data root (``<data root>/<state>/incoming/<wave>/``)."""
    from assets.ingest.synthetic import write_demo_wave
    from pipelines.config import load_assessment
    from pipelines.states import state_name
    from pipelines.synthetic_states import invented_states, make_state_config

    configs, sizes = [], state_sizes(states, respondents)
    data_root = root / "data"
    for i, (spec, size) in enumerate(zip(invented_states(states), sizes)):
        config = make_state_config(root / "configs" / f"state-{i + 1:02d}", geometry=False, **spec)
        assessment = load_assessment(config)
        write_demo_wave(assessment, wave, 2015 + i, size, data_root / state_name(assessment) / "incoming" / wave)
        configs.append(config)
    return configs, sizes, data_root


def wait_for_locations(port: int, expected: int, timeout: float = 900) -> None:
    from pipelines.ui_launch import graphql

    deadline = time.time() + timeout
    while True:
        entries = graphql(port, LOCATIONS, timeout=30)["workspaceOrError"].get("locationEntries") or []
        failed = [e for e in entries if (e.get("locationOrLoadError") or {}).get("__typename") == "PythonError"]
        if failed:
            raise RuntimeError(f"code location {failed[0]['name']} failed to load: "
                               f"{failed[0]['locationOrLoadError']['message'][:500]}")
        loaded = [e for e in entries if e["loadStatus"] == "LOADED" and e.get("locationOrLoadError")]
        if len(loaded) >= expected:
            return
        if time.time() > deadline:
            raise RuntimeError(f"{len(loaded)} of {expected} code locations loaded after {timeout:.0f} s")
        time.sleep(1)


LOCK_ERRORS = ("could not set lock", "conflicting lock", "database is locked", "lock on file")
LOCK_WAIT = "waiting for another run"


def lock_events(instance, run_id: str) -> tuple[int, int]:
    """(lock errors, lock waits) in a run's event log."""
    errors = waits = 0
    for entry in instance.all_logs(run_id):
        text = (entry.user_message or "").lower()
        event = entry.dagster_event
        if event is not None and event.event_specific_data is not None:
            error = getattr(event.event_specific_data, "error", None)
            while error is not None:
                text += " " + (error.message or "").lower()
                error = error.cause
        if any(k in text for k in LOCK_ERRORS):
            errors += 1
        elif LOCK_WAIT in text:
            waits += 1
    return errors, waits


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    now = best = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best


def many_states(workdir: Path, states: int = 20, respondents: int = 1000, max_runs: int | None = None,
                wave: str = "2015", timeout: float = 3600) -> dict:
    """Run the benchmark (see the module's docstring) under ``workdir``; return and print its figures."""
    import dagster as dg

    from pipelines.states import write_workspace, workspace_home
    from pipelines.ui_launch import dagster_dev, launch_wave

    root = Path(workdir).resolve() / f"states-{states}x{respondents}"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    t0 = time.perf_counter()
    configs, sizes, data_root = build_states(root, states, respondents, wave)
    located = write_workspace(root / "workspace", configs, data_root, max_runs)
    prepared = time.perf_counter() - t0
    runs_at_once = max_runs or os.cpu_count() or 1
    print(f"{states} states written ({sum(sizes):,} respondents, {min(sizes)} to {max(sizes)} each) in {prepared:.1f} s; "
          f"queue: at most {runs_at_once} runs at once, one per state", flush=True)
    home = workspace_home(root / "workspace")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTNA_")}
    env["DAGSTER_HOME"] = str(home)
    load_before = os.getloadavg()
    loads: list[float] = []
    command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml"]
    t_start = time.perf_counter()
    with dagster_dev(root / "workspace", env, command=command, startup_timeout=900) as port:
        wait_for_locations(port, len(located))
        loaded_s = time.perf_counter() - t_start
        print(f"workspace loaded ({len(located)} code locations) in {loaded_s:.1f} s", flush=True)
        start = time.perf_counter()
        started_wall = time.time()
        run_ids = {s.name: launch_wave(port, wave, location=s.name) for s in located}
        launched_s = time.perf_counter() - start
        with dg.DagsterInstance.from_config(str(home)) as instance:
            finished = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
            deadline = time.time() + timeout
            while True:
                runs = instance.get_runs(filters=dg.RunsFilter(run_ids=list(run_ids.values())))
                loads.append(os.getloadavg()[0])
                if all(r.status in finished for r in runs) and len(runs) == len(run_ids):
                    break
                if time.time() > deadline:
                    raise RuntimeError(f"runs not finished after {timeout:.0f} s")
                time.sleep(1)
            wall = time.perf_counter() - start
            records = {r.dagster_run.run_id: r for r in instance.get_run_records(
                filters=dg.RunsFilter(run_ids=list(run_ids.values())))}
            per_state = []
            lock_errors = lock_waits = 0
            for name, run_id in run_ids.items():
                record = records[run_id]
                errors, waits = lock_events(instance, run_id)
                lock_errors += errors
                lock_waits += waits
                per_state.append({"state": name, "run_id": run_id, "status": record.dagster_run.status.value,
                                  "queued_s": (record.start_time or started_wall) - started_wall,
                                  "run_s": (record.end_time or 0) - (record.start_time or 0),
                                  "lock_errors": errors, "lock_waits": waits})
            intervals = [(records[i].start_time, records[i].end_time) for i in run_ids.values()
                         if records[i].start_time and records[i].end_time]
    failed = [p["state"] for p in per_state if p["status"] != "SUCCESS"]
    sites = sum(1 for s in located if (s.output / wave / "index.html").is_file())
    result = {"states": states, "respondents_each": sizes, "respondents_total": sum(sizes), "wave": wave,
              "max_concurrent_runs": runs_at_once, "prepare_s": prepared, "workspace_load_s": loaded_s,
              "launch_s": launched_s, "wall_s": wall, "states_per_minute": states / (wall / 60),
              "failed_runs": failed, "lock_errors": lock_errors, "lock_waits": lock_waits,
              "most_runs_at_once": most_at_once(intervals), "sites_written": sites,
              "mean_run_s": sum(p["run_s"] for p in per_state) / len(per_state),
              "load_average_before": load_before[0], "load_average_max": max(loads) if loads else None,
              "load_average_after": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": per_state}
    print(format_many_states(result), flush=True)
    return result


def format_many_states(r: dict) -> str:
    verdict = "met" if r["wall_s"] < 180 and not r["failed_runs"] and r["states"] >= 20 else "not met"
    return (f"{r['states']} states x 1 wave ({r['respondents_total']:,} respondents) through the queued coordinator: "
            f"wall {r['wall_s']:.1f} s from the first launch to the last run's end, "
            f"{r['states_per_minute']:.1f} states per minute; failed runs {len(r['failed_runs'])}"
            f"{' (' + ', '.join(r['failed_runs']) + ')' if r['failed_runs'] else ''}; lock errors {r['lock_errors']}; "
            f"lock waits {r['lock_waits']}; at most {r['most_runs_at_once']} runs at once (limit "
            f"{r['max_concurrent_runs']}); mean run {r['mean_run_s']:.1f} s; sites written {r['sites_written']}\n"
            f"    workspace load {r['workspace_load_s']:.1f} s (before the wall time); load average "
            f"{r['load_average_before']:.2f} before, {r['load_average_max']:.2f} at most, {r['load_average_after']:.2f} "
            f"after, {r['cpus']} CPUs; target (20 states x 1,000 in under 3 minutes, no run failing): {verdict}")
