"""Many states at once: a workspace of two invented states (`htna states workspace`) loads every code
location, and one wave of each, launched together as the UI launches runs, goes through the workspace's
run queue and daemon, runs at the same time as the other, hits no lock and publishes its own site."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from assets.ingest.synthetic import write_demo_wave
from pipelines.bench_states import lock_events, wait_for_locations
from pipelines.config import load_assessment
from pipelines.coordination import STATE_TAG
from pipelines.states import state_name
from pipelines.synthetic_states import invented_states, make_state_config
from pipelines.ui_launch import dagster_dev, launch_wave, wait_for_run
from tests.conftest import cli_env, run_cli

pytestmark = pytest.mark.slow


def test_two_states_load_and_run_at_once_through_the_queue_into_their_own_sites(tmp_path):
    specs = invented_states(2)
    configs, names = [], []
    for i, spec in enumerate(specs):
        config = make_state_config(tmp_path / "configs" / f"s{i}", geometry=False, **spec)
        name = state_name(load_assessment(config))
        write_demo_wave(load_assessment(config), "2015", 2015 + i, 150, tmp_path / "data" / name / "incoming" / "2015")
        configs.append(config)
        names.append(name)
    ws = tmp_path / "ws"
    code, out, err = run_cli(["states", "workspace", str(ws), *map(str, configs), "--data-root", str(tmp_path / "data"),
                              "--max-runs", "2"])
    assert code == 0, err
    assert all(f"{n}: config" in out for n in names)

    env = {k: v for k, v in cli_env(tmp_path / "unused").items()}
    env["DAGSTER_HOME"] = str(ws / "dagster")
    # Dagster's own loading of the workspace: every code location loads
    check = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                           cwd=ws, env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr[-3000:]
    assert "All code locations passed validation" in check.stderr + check.stdout
    for name in names:
        assert name in check.stderr + check.stdout

    with dagster_dev(ws, env, command=[sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml"]) as port:
        wait_for_locations(port, 2)
        run_ids = {name: launch_wave(port, "2015", location=name) for name in names}
        runs = {name: wait_for_run(port, run_id) for name, run_id in run_ids.items()}
    assert all(r["status"] == "SUCCESS" for r in runs.values()), runs
    for name, run in runs.items():
        assert {t["key"]: t["value"] for t in run["tags"]}[STATE_TAG] == name
    a, b = runs.values()
    assert a["startTime"] < b["endTime"] and b["startTime"] < a["endTime"], runs  # in progress at the same time

    import dagster as dg

    with dg.DagsterInstance.from_config(str(ws / "dagster")) as instance:
        for run_id in run_ids.values():
            assert lock_events(instance, run_id) == (0, 0)
    for spec, name in zip(specs, names):
        index = (ws / name / "site" / "2015" / "index.html").read_text(encoding="utf-8")
        other = next(s for s in specs if s is not spec)
        assert spec["name"] in index and other["name"] not in index
        with duckdb.connect(str(ws / name / f"{name}.duckdb"), read_only=True) as con:
            counties = set(con.execute("SELECT DISTINCT county FROM assessment.training_gap_by_county").df()["county"])
        assert counties == {c[0] for c in spec["counties"]}
