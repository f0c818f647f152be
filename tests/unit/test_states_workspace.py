"""The multi-state workspace's pieces: one code location per state (its own DuckDB file and site), the
workspace instance's queue limits, and the wave lock named per state."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from pipelines.config import REPO_ROOT
from pipelines.coordination import STATE_TAG, wave_lock
from pipelines.errors import HtnaError
from pipelines.run_history import instance_config
from pipelines.states import location_definitions, plan_states, write_workspace
from pipelines.synthetic_states import invented_states, make_state_config
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def two_configs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("configs")
    return [make_state_config(root / f"s{i}", geometry=False, **spec) for i, spec in enumerate(invented_states(2))]


def test_invented_states_differ_in_size_and_name():
    states = invented_states(20)
    assert len({s["name"] for s in states}) == 20 and len({s["abbreviation"] for s in states}) == 20
    assert len({len(s["counties"]) for s in states}) >= 10  # 3 to 16 counties
    for s in states:
        names = [c[0] for c in s["counties"]]
        assert len(set(names)) == len(names)
        assert sorted(sum(s["groups"].values(), [])) == sorted(names)


def test_the_workspace_has_one_location_per_state_each_with_its_own_files(tmp_path, two_configs):
    states = write_workspace(tmp_path / "ws", two_configs, tmp_path / "data", max_concurrent_runs=3)
    workspace = yaml.safe_load((tmp_path / "ws" / "workspace.yaml").read_text())
    assert [e["python_file"]["location_name"] for e in workspace["load_from"]] == [s.name for s in states]
    assert len({s.warehouse for s in states}) == 2 and len({s.output for s in states}) == 2
    assert [s.data for s in states] == [(tmp_path / "data" / s.name).resolve() for s in states]
    for s in states:
        defs = location_definitions(tmp_path / "ws" / s.name / "location.py")
        job = defs.resolve_job_def("assessment")
        assert job.run_tags[STATE_TAG] == s.name
        settings = defs.resources["settings"]
        assert Path(settings.warehouse_path()) == s.warehouse and Path(settings.output_path()) == s.output
        assert settings.assessment().path == s.config
    instance = yaml.safe_load((tmp_path / "ws" / "dagster" / "dagster.yaml").read_text())
    runs = instance["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] == 3
    assert runs["tag_concurrency_limits"] == [{"key": STATE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    import dagster as dg

    with dg.DagsterInstance.from_config(str(tmp_path / "ws" / "dagster")) as inst:
        assert "2015" in inst.get_dynamic_partitions("survey_waves")
        assert type(inst.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert inst.get_concurrency_config().run_queue_config.max_concurrent_runs == 3


def test_a_state_location_loads_without_the_checkout_default_config(tmp_path, two_configs):
    """A state's code location builds its own definitions only: it needs neither the checkout's default
    config (here pointed at a file that does not exist) nor the project's location module."""
    states = write_workspace(tmp_path / "ws", two_configs[:1], tmp_path / "data")
    location = tmp_path / "ws" / states[0].name / "location.py"
    code = textwrap.dedent(f"""
        import runpy, sys
        defs = runpy.run_path({str(location)!r})["defs"]
        assert defs.resolve_job_def("assessment") is not None
        print("pipelines.definitions" in sys.modules)
    """)
    import os

    env = {**os.environ, "HTNA_CONFIG": str(tmp_path / "no-such-config" / "assessment.yaml")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


def test_the_single_state_instance_keeps_one_run_per_wave():
    runs = yaml.safe_load(instance_config(Path("/tmp/h")))["concurrency"]["runs"]
    assert runs["tag_concurrency_limits"][0]["key"] == "dagster/partition"


def test_a_state_given_twice_or_a_folder_without_config_is_refused(tmp_path, two_configs):
    with pytest.raises(HtnaError, match="both the state"):
        plan_states(tmp_path / "ws", [two_configs[0], two_configs[0].parent])
    code, _, err = run_cli(["states", "workspace", str(tmp_path / "ws"), str(tmp_path)])
    assert code == 1 and "no assessment.yaml there" in err and "Traceback" not in err


def test_the_same_wave_of_two_states_runs_alongside_but_not_twice_for_one_state(tmp_path):
    code = textwrap.dedent(f"""
        from pathlib import Path
        from pipelines.coordination import wave_lock
        with wave_lock(Path({str(tmp_path)!r}), "2015", state=STATE):
            print("got", flush=True)
    """)
    with wave_lock(tmp_path, "2015", state="norland"):
        other = subprocess.run([sys.executable, "-c", code.replace("STATE", "'southland'")], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=60)
        assert other.stdout == "got\n"  # another state's wave 2015: not held up
        same = subprocess.Popen([sys.executable, "-c", code.replace("STATE", "'norland'")], cwd=REPO_ROOT,
                                stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            same.wait(timeout=3)
    assert same.communicate(timeout=60)[0] == "got\n"


def test_the_many_states_benchmark_spreads_sizes_and_counts_runs_in_progress():
    from pipelines.bench_states import most_at_once, state_sizes

    sizes = state_sizes(20, 1000)
    assert len(sizes) == 20 and min(sizes) == 500 and max(sizes) == 1500 and sum(sizes) == 20_000
    assert state_sizes(1, 800) == [800]
    assert most_at_once([(0, 10), (5, 15), (12, 20), (14, 16)]) == 3
    assert most_at_once([(0, 1), (1, 2)]) == 1  # one ends as the next starts
    code, _, err = run_cli(["bench", "--states", "0"])
    assert code == 2 and "--states" in err
