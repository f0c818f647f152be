"""The drop-folder sensor requests a run for new or changed content, never for unchanged files."""

from __future__ import annotations

import contextlib
import os

import dagster as dg
import pytest

from pipelines.config import REPO_ROOT
from pipelines.definitions import build_definitions
from pipelines.resources import AssessmentSettings


@pytest.fixture()
def drop(tmp_path):
    with contextlib.ExitStack() as stack:
        yield _drop(tmp_path, stack)


def _drop(tmp_path, stack):
    settings = AssessmentSettings(config_path=str(REPO_ROOT / "config" / "maine" / "assessment.yaml"),
                                  data_dir=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"),
                                  output_dir=str(tmp_path / "site"))
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("incoming_exports")
    state = {"cursor": None}
    instance = stack.enter_context(dg.instance_for_test())  # a stored instance (the sensor reads its runs)

    def tick():
        ctx = dg.build_sensor_context(cursor=state["cursor"], resources={"settings": settings}, definitions=defs,
                                      instance=instance, instance_ref=instance.get_ref())
        result = sensor.evaluate_tick(ctx)
        state["cursor"] = result.cursor
        for request in result.dynamic_partitions_requests or []:  # as the daemon does
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    tick.instance = instance
    return tmp_path, tick


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


REQUIRED = ("officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv")


def fill(data, wave, text="x"):
    """A complete wave folder (the config's required inputs), not yet declared READY."""
    for name in REQUIRED:
        write(data / "incoming" / wave / name, f"{name},{text}\n")


def declare(data, wave):
    """`htna ready WAVE`: the READY manifest of the folder's files."""
    from assets.ingest.readiness import write_manifest
    from pipelines.config import load_assessment

    write_manifest(load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml"), wave, data / "incoming" / wave)


def test_new_file_one_request_same_file_none_changed_file_new_request(drop):
    data, tick = drop
    assert tick().run_requests == []  # empty drop folder
    fill(data, "2015")
    declare(data, "2015")
    first = tick()
    assert [r.partition_key for r in first.run_requests] == ["2015"]
    assert tick().run_requests == []
    # re-saved with the same content (new modification time): still nothing to do
    export = data / "incoming" / "2015" / "officer_survey.csv"
    export.write_text(export.read_text())
    os.utime(export, ns=(export.stat().st_atime_ns, export.stat().st_mtime_ns + 5_000_000_000))
    assert tick().run_requests == []
    write(export, "a,b\n1,3\n")
    assert tick().run_requests == []  # differs from its READY manifest: not run until declared again
    declare(data, "2015")
    changed = tick()
    assert [r.partition_key for r in changed.run_requests] == ["2015"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key


def test_a_half_copied_folder_is_never_requested(drop):
    """Files arriving one by one, in any order: no request until the folder is complete and declared."""
    data, tick = drop
    for name in reversed(REQUIRED):
        write(data / "incoming" / "2015" / name, f"{name}\n")
        result = tick()
        assert result.run_requests == []
        [line] = [x for x in result.cursor.splitlines() if x.startswith("2015:")]
        assert "not ready" in line
    declare(data, "2015")
    write(data / "incoming" / "2015" / "provider_inventory.csv", "late\n")  # a file arriving after READY
    assert tick().run_requests == []
    (data / "incoming" / "2015" / "provider_inventory.csv").unlink()
    assert [r.partition_key for r in tick().run_requests] == ["2015"]


def test_each_wave_is_its_own_request_and_unknown_folders_are_named(drop):
    data, tick = drop
    for wave in ("2015", "2016"):
        fill(data, wave, wave)
        declare(data, wave)
    write(data / "incoming" / "1999" / "officer_survey.csv", "z\n")
    assert sorted(r.partition_key for r in tick().run_requests) == ["2015", "2016"]
    again = tick()
    assert again.run_requests == [] and "1999" in again.skip_message


def test_lock_and_hidden_files_are_ignored(drop):
    data, tick = drop
    fill(data, "2015")
    declare(data, "2015")
    assert tick().run_requests
    write(data / "incoming" / "2015" / "~$officer_survey.xlsx", "lock")
    write(data / "incoming" / "2015" / ".DS_Store", "junk")
    assert tick().run_requests == []


def test_the_cursor_is_one_readable_line_per_wave(drop):
    data, tick = drop
    fill(data, "2015")
    declare(data, "2015")
    write(data / "incoming" / "2016" / "officer_survey.csv", "z\n")
    cursor = tick().cursor
    lines = cursor.splitlines()
    assert [line.split(":")[0] for line in lines] == ["2015", "2016"]
    assert lines[0].startswith("2015: 3 files, sha256 ") and "run requested" in lines[0]  # READY is not content
    assert lines[1].startswith("2016: 1 file, sha256 ") and "not ready" in lines[1] and "missing" in lines[1]
    assert "{" not in cursor  # not a JSON blob


def test_a_year_added_to_the_config_is_watched_without_reloading(tmp_path):
    import shutil

    import json

    import yaml

    config_dir = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config" / "maine", config_dir)
    config = config_dir / "assessment.yaml"
    settings = AssessmentSettings(config_path=str(config), data_dir=str(tmp_path / "data"),
                                  warehouse=str(tmp_path / "w.duckdb"), output_dir=str(tmp_path / "site"))
    defs = build_definitions(settings)  # built once, as the UI's code server does
    sensor = defs.resolve_sensor_def("incoming_exports")
    fill(tmp_path / "data", "2031")
    with dg.instance_for_test() as instance:
        def tick():
            ctx = dg.build_sensor_context(resources={"settings": settings}, definitions=defs, instance=instance,
                                          instance_ref=instance.get_ref())
            return sensor.evaluate_tick(ctx)

        before = tick()
        assert before.run_requests == [] and "2031" in before.skip_message  # not a configured wave (yet)
        waves = yaml.safe_load(config.read_text())["waves"]
        config.write_text(config.read_text().replace(f"waves: {json.dumps(waves)}", f"waves: {json.dumps(waves + ['2031'])}"))
        assert "2031" in yaml.safe_load(config.read_text())["waves"]
        from assets.ingest.readiness import write_manifest
        from pipelines.config import load_assessment

        write_manifest(load_assessment(config), "2031", tmp_path / "data" / "incoming" / "2031")
        after = tick()
        assert [r.partition_key for r in after.run_requests] == ["2031"]
        [added] = after.dynamic_partitions_requests
        assert added.partitions_def_name == "survey_waves" and "2031" in added.partition_keys
