"""The shared Dagster home and the per-wave lock, without a run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from pipelines.config import REPO_ROOT
from pipelines.coordination import (
    STARTED_BY_TAG, WAVE_TAG, end_abandoned_cli_runs, env_file_text, resolve_dagster_home, wave_lock, write_env_file)


def test_the_env_file_gives_dagster_and_htna_the_same_home(tmp_path, monkeypatch):
    from dagster._core.secrets.env_file import get_env_var_dict

    write_env_file(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = resolve_dagster_home(tmp_path)
    assert home == (tmp_path / "build" / "dagster").resolve()
    assert get_env_var_dict(str(tmp_path))["DAGSTER_HOME"] == str(home)  # what dagster dev / dg dev read
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))  # a DAGSTER_HOME set in the shell wins, for both
    assert resolve_dagster_home(tmp_path) == (tmp_path / "mine").resolve()
    assert get_env_var_dict(str(tmp_path))["DAGSTER_HOME"] == str(tmp_path / "mine")


def test_the_env_file_is_kept_up_to_date_unless_the_user_made_it_theirs(tmp_path):
    env = tmp_path / ".env"
    env.write_text(env_file_text(tmp_path / "moved"))  # written by htna for the checkout's old place
    write_env_file(tmp_path)
    assert env.read_text() == env_file_text(tmp_path)
    env.write_text("DAGSTER_HOME=/elsewhere\n")
    write_env_file(tmp_path)
    assert env.read_text() == "DAGSTER_HOME=/elsewhere\n"


def test_a_second_process_waits_for_the_wave_lock_and_the_holder_may_take_it_again(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from pipelines.coordination import wave_lock
        with wave_lock(Path({str(tmp_path)!r}), "2015", on_wait=lambda: print("waited", flush=True)):
            print("got", time.time(), flush=True)
    """)
    with wave_lock(tmp_path, "2015"):
        with wave_lock(tmp_path, "2015"):  # re-entrant: the run inside `htna run` takes it again
            pass
        other = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            other.wait(timeout=3)  # blocked while this process holds the wave
        import time

        released = time.time()
    out, _ = other.communicate(timeout=60)
    assert out.splitlines()[0] == "waited"
    assert float(out.splitlines()[1].split()[1]) >= released
    with wave_lock(tmp_path, "2016"):  # other waves are independent
        pass


def test_a_killed_cli_runs_record_is_ended_by_the_next_run_of_the_wave(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        job = dg.JobDefinition(graph_def=dg.GraphDefinition(name="assessment", node_defs=[]))
        dead = instance.create_run_for_job(job, tags={WAVE_TAG: "2015", STARTED_BY_TAG: "cli"},
                                           status=dg.DagsterRunStatus.STARTED)
        ui = instance.create_run_for_job(job, tags={WAVE_TAG: "2015"}, status=dg.DagsterRunStatus.STARTED)
        other_wave = instance.create_run_for_job(job, tags={WAVE_TAG: "2016", STARTED_BY_TAG: "cli"},
                                                 status=dg.DagsterRunStatus.STARTED)
        assert end_abandoned_cli_runs(instance, "2015") == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(ui.run_id).status == dg.DagsterRunStatus.STARTED  # its worker may be alive
        assert instance.get_run_by_id(other_wave.run_id).status == dg.DagsterRunStatus.STARTED


def test_step_processes_of_one_multiprocess_run_share_the_wave_but_htna_run_waits(tmp_path):
    code = textwrap.dedent(f"""
        from pathlib import Path
        from pipelines.coordination import wave_lock
        with wave_lock(Path({str(tmp_path)!r}), "2015", shared=SHARED):
            print("got", flush=True)
    """)
    with wave_lock(tmp_path, "2015", shared=True):
        step = subprocess.run([sys.executable, "-c", code.replace("SHARED", "True")], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=60)
        assert step.stdout == "got\n"  # another step of the run: not held up
        cli = subprocess.Popen([sys.executable, "-c", code.replace("SHARED", "False")], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            cli.wait(timeout=3)
    assert cli.communicate(timeout=60)[0] == "got\n"
