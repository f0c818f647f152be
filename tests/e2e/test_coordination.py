"""Coordinators and evaluators on one instance: one run of a wave at a time, whoever starts it, and
the same run history from `htna run`, `dagster dev -w workspace.yaml` and `dg dev`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.config import REPO_ROOT
from pipelines.coordination import resolve_dagster_home, write_env_file
from pipelines.ui_launch import dagster_dev, graphql, launch_wave, wait_for_run
from tests.conftest import cli_env

pytestmark = pytest.mark.slow

DEMO = REPO_ROOT / "data" / "demo"


def _instance(home: Path):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _steps_window(instance, run_id: str) -> tuple[float, float]:
    """When the run executed its steps: its first step's start to its last step's end."""
    times = [e.timestamp for e in instance.all_logs(run_id)
             if e.dagster_event is not None and e.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS",
                                                                                      "STEP_FAILURE")]
    assert times, f"run {run_id} executed no step"
    return min(times), max(times)


def test_two_runs_of_one_wave_from_the_ui_and_one_from_the_cli_never_overlap(tmp_path):
    home = tmp_path / "dagster"
    env = cli_env(home)  # the dagster.yaml htna writes: one run per wave in the queue
    ui_env = {**env, "HTNA_DATA": str(DEMO), "HTNA_WAREHOUSE": str(tmp_path / "ui.duckdb"),
              "HTNA_OUTPUT": str(tmp_path / "site_ui")}
    with _instance(home) as instance:
        from pipelines.partitions import register_waves

        register_waves(instance, ["2015"])
    with dagster_dev(REPO_ROOT, ui_env) as port:
        first = launch_wave(port, "2015")
        second = launch_wave(port, "2015")  # a coordinator clicks again: it queues
        time.sleep(1)
        cli = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(DEMO),
                                "--warehouse", str(tmp_path / "cli.duckdb"), "--output", str(tmp_path / "site_cli")],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = cli.communicate(timeout=900)
        assert cli.returncode == 0, err[-3000:]
        runs = {first: wait_for_run(port, first), second: wait_for_run(port, second)}
    assert all(r["status"] == "SUCCESS" for r in runs.values()), runs
    with _instance(home) as instance:
        import dagster as dg

        [cli_run] = instance.get_runs(filters=dg.RunsFilter(tags={"htna/started_by": "cli"}))
        assert cli_run.tags["htna/warehouse"] == str(tmp_path / "cli.duckdb")  # which warehouse it wrote
        windows = sorted(_steps_window(instance, run_id) for run_id in (first, second, cli_run.run_id))
        # the queue held the second UI run until the first had ended (it was not launched to wait on the lock)
        [launched] = [e.timestamp for e in instance.all_logs(second) if e.dagster_event is not None
                      and e.dagster_event.event_type_value == "PIPELINE_STARTING"]
        assert launched >= _steps_window(instance, first)[1]
    for (_, end), (start, _) in zip(windows, windows[1:]):
        assert end <= start, f"runs of wave 2015 overlapped: {windows}"


def test_htna_run_dagster_dev_and_dg_dev_share_one_instance(tmp_path):
    """A project folder whose .env htna wrote: `dagster dev` started there without DAGSTER_HOME uses the
    home htna resolves (not a temporary one), and lists the runs of `htna run`."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "workspace.yaml", project / "workspace.yaml")
    (project / "workspace.yaml").write_text((project / "workspace.yaml").read_text().replace(
        "working_directory: .", f"working_directory: {REPO_ROOT}"))
    write_env_file(project)
    env = cli_env(tmp_path / "unused")
    del env["DAGSTER_HOME"]
    import os

    saved = os.environ.pop("DAGSTER_HOME", None)
    try:
        home = resolve_dagster_home(project)
    finally:
        if saved is not None:
            os.environ["DAGSTER_HOME"] = saved
    assert home == (project / "build" / "dagster").resolve()
    cli_env(home)  # htna's dagster.yaml there
    code = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(DEMO),
                           "--warehouse", str(tmp_path / "other.duckdb"), "--output", str(tmp_path / "site")],
                          cwd=REPO_ROOT, env={**env, "DAGSTER_HOME": str(home)}, capture_output=True, text=True,
                          timeout=900)
    assert code.returncode == 0, code.stderr[-3000:]
    query = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
    with dagster_dev(project, env) as port:  # no DAGSTER_HOME: read from the project's .env
        runs = graphql(port, query)["runsOrError"]["results"]
    [run] = runs
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert run["status"] == "SUCCESS" and tags["htna/started_by"] == "cli"
    assert tags["htna/warehouse"] == str(tmp_path / "other.duckdb")  # the UI says which warehouse it wrote
    assert not list(project.glob(".tmp_dagster_home_*"))
    # dg dev, started in the checkout (it reads the checkout's .env; DAGSTER_HOME set there wins, as here)
    dg = [str(Path(sys.executable).parent / "dg"), "dev", "--use-active-venv"]
    with dagster_dev(REPO_ROOT, {**env, "DAGSTER_HOME": str(home)}, command=dg) as port:
        assert [r["runId"] for r in graphql(port, query)["runsOrError"]["results"]] == [run["runId"]]


def test_the_sensor_does_not_rerun_a_folder_htna_run_already_ran(tmp_path):
    """Turning the sensor on after `htna run`: the folder's content is that of the last successful run of
    the wave (started from the CLI), so no run is requested; a changed export is."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.resources import AssessmentSettings

    home, data = tmp_path / "dagster", tmp_path / "data"
    shutil.copytree(DEMO / "incoming" / "2015", data / "incoming" / "2015")
    warehouse = tmp_path / "htna.duckdb"
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(data),
                           "--warehouse", str(warehouse), "--output", str(tmp_path / "site")],
                          cwd=REPO_ROOT, env=cli_env(home), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    settings = AssessmentSettings(config_path=str(REPO_ROOT / "config" / "maine" / "assessment.yaml"),
                                  data_dir=str(data), warehouse=str(warehouse), output_dir=str(tmp_path / "site"))
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("incoming_exports")
    from assets.ingest.readiness import write_manifest

    folder = data / "incoming" / "2015"
    write_manifest(settings.assessment(), "2015", folder)  # `htna ready 2015`: the folder is complete
    with _instance(home) as instance:
        def tick():
            return sensor.evaluate_tick(dg.build_sensor_context(resources={"settings": settings}, definitions=defs,
                                                                instance=instance, instance_ref=instance.get_ref()))

        first = tick()
        assert first.run_requests == []
        [line] = [x for x in first.cursor.splitlines() if x.startswith("2015:")]
        [cli_run] = instance.get_runs()
        assert f"already run (run {cli_run.run_id[:8]})" in line
        # the same files against another warehouse were never run there: requested
        other = AssessmentSettings(**{**settings.model_dump(), "warehouse": str(tmp_path / "other.duckdb")})
        assert [r.partition_key for r in sensor.evaluate_tick(dg.build_sensor_context(
            resources={"settings": other}, definitions=build_definitions(other), instance=instance,
            instance_ref=instance.get_ref())).run_requests] == ["2015"]
        export = data / "incoming" / "2015" / "stakeholder_interviews.csv"
        export.write_bytes(export.read_bytes() + b"\n")
        assert tick().run_requests == []  # differs from READY: not run until declared again
        write_manifest(settings.assessment(), "2015", folder)
        changed = tick()
        assert [r.partition_key for r in changed.run_requests] == ["2015"]
        assert changed.run_requests[0].tags["htna/started_by"] == "sensor"
