"""The run history (Dagster's SQLite event log, connections kept open): what the UI reads stays complete."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.run_history import INSTANCE_CONFIG, KEPT_RUN_DATABASES, KeptOpenSqliteEventLogStorage


@dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="counted")])
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3},
                                check_results=[dg.AssetCheckResult(check_name="has_rows", passed=True)])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text(INSTANCE_CONFIG)
    return tmp_path


def _materialise(instance: dg.DagsterInstance) -> str:
    result = dg.materialize([counted], instance=instance)
    assert result.success
    return result.run_id


def test_the_configured_instance_stores_and_reads_back_every_run(home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        runs = [_materialise(instance) for _ in range(KEPT_RUN_DATABASES + 2)]
        storage = instance.event_log_storage
        assert len(storage._engines) <= KEPT_RUN_DATABASES + 1  # older run databases were closed
        # another process (here: another instance on the same files) sees everything, while this one is open
        with dg.DagsterInstance.from_config(str(home)) as other:
            for run_id in runs:
                kinds = [e.dagster_event.event_type_value for e in other.all_logs(run_id) if e.dagster_event]
                assert kinds.count("ASSET_MATERIALIZATION") == 1
                assert kinds.count("ASSET_CHECK_EVALUATION") == 1
                assert kinds[-1] == "PIPELINE_SUCCESS"
            latest = other.get_latest_materialization_event(dg.AssetKey("counted"))
            assert latest is not None and latest.run_id == runs[-1]
            assert other.event_log_storage.get_asset_records([dg.AssetKey("counted")])
        # the files are where Dagster's default storage keeps them (earlier runs stay visible after an upgrade)
        assert sorted(p.stem for p in (home / "history" / "runs").glob("*.db") if p.stem != "index") == sorted(runs)
        # deleting a run closes the kept connections first; later runs are still stored
        instance.delete_run(runs[0])
        assert instance.all_logs(runs[0]) == []
        again = _materialise(instance)
        assert instance.get_latest_materialization_event(dg.AssetKey("counted")).run_id == again
    assert storage._engines == {}  # closed with the instance


def test_the_cli_writes_the_instance_config_and_updates_its_old_one(tmp_path, monkeypatch):
    from pipelines import cli

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "new"))
    cli._dagster_home()
    assert (tmp_path / "new" / "dagster.yaml").read_text() == INSTANCE_CONFIG
    old = tmp_path / "old"
    old.mkdir()
    (old / "dagster.yaml").write_text(cli._OLD_INSTANCE_CONFIG)
    monkeypatch.setenv("DAGSTER_HOME", str(old))
    cli._dagster_home()
    assert (old / "dagster.yaml").read_text() == INSTANCE_CONFIG
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")  # a file the user wrote is left alone
    monkeypatch.setenv("DAGSTER_HOME", str(own))
    cli._dagster_home()
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"
