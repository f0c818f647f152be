"""The drop-folder sensor requests a run for new or changed content, never for unchanged files."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from pipelines.config import REPO_ROOT
from pipelines.definitions import build_definitions
from pipelines.resources import AssessmentSettings


@pytest.fixture()
def drop(tmp_path):
    settings = AssessmentSettings(config_path=str(REPO_ROOT / "config" / "maine" / "assessment.yaml"),
                                  data_dir=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"),
                                  output_dir=str(tmp_path / "site"))
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("incoming_exports")
    state = {"cursor": None}

    def tick():
        ctx = dg.build_sensor_context(cursor=state["cursor"], resources={"settings": settings}, definitions=defs)
        result = sensor.evaluate_tick(ctx)
        state["cursor"] = result.cursor
        return result

    return tmp_path, tick


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_new_file_one_request_same_file_none_changed_file_new_request(drop):
    data, tick = drop
    assert tick().run_requests == []  # empty drop folder
    export = data / "incoming" / "2015" / "officer_survey.csv"
    write(export, "a,b\n1,2\n")
    first = tick()
    assert [r.partition_key for r in first.run_requests] == ["2015"]
    assert tick().run_requests == []
    # re-saved with the same content (new modification time): still nothing to do
    write(export, "a,b\n1,2\n")
    os.utime(export, ns=(export.stat().st_atime_ns, export.stat().st_mtime_ns + 5_000_000_000))
    assert tick().run_requests == []
    write(export, "a,b\n1,3\n")
    changed = tick()
    assert [r.partition_key for r in changed.run_requests] == ["2015"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key


def test_each_wave_is_its_own_request_and_unknown_folders_are_named(drop):
    data, tick = drop
    write(data / "incoming" / "2015" / "officer_survey.csv", "x\n")
    write(data / "incoming" / "2016" / "officer_survey.csv", "y\n")
    write(data / "incoming" / "1999" / "officer_survey.csv", "z\n")
    assert sorted(r.partition_key for r in tick().run_requests) == ["2015", "2016"]
    again = tick()
    assert again.run_requests == [] and "1999" in again.skip_message


def test_lock_and_hidden_files_are_ignored(drop):
    data, tick = drop
    write(data / "incoming" / "2015" / "officer_survey.csv", "x\n")
    tick()
    write(data / "incoming" / "2015" / "~$officer_survey.xlsx", "lock")
    write(data / "incoming" / "2015" / ".DS_Store", "junk")
    assert tick().run_requests == []
