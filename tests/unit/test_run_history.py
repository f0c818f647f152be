"""The run history (Dagster's SQLite event log, connections kept open): what the UI reads stays complete."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.run_history import KEPT_RUN_DATABASES, MARKER, KeptOpenSqliteEventLogStorage, instance_config


@dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="counted")])
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3},
                                check_results=[dg.AssetCheckResult(check_name="has_rows", passed=True)])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text(instance_config(tmp_path))
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


def test_an_instance_loaded_from_its_folder_needs_no_dagster_home(home, monkeypatch):
    with dg.DagsterInstance.get() as instance:
        run_id = _materialise(instance)
    monkeypatch.delenv("DAGSTER_HOME")
    with dg.DagsterInstance.from_config(str(home)) as instance:  # as tools and tests load an instance
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        assert any(e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
                   for e in instance.all_logs(run_id))


def test_the_cli_writes_the_instance_config_and_keeps_its_own_up_to_date(tmp_path, monkeypatch):
    from pipelines import cli

    def written(folder):
        monkeypatch.setenv("DAGSTER_HOME", str(folder))
        cli._dagster_home()
        return (folder / "dagster.yaml").read_text()

    new = tmp_path / "new"
    assert written(new) == instance_config(new)
    assert str(new / "history" / "runs") in instance_config(new)
    old = tmp_path / "old"
    old.mkdir()
    (old / "dagster.yaml").write_text(cli._OLD_INSTANCE_CONFIG)  # an earlier version's file
    assert written(old) == instance_config(old)
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "dagster.yaml").write_text(instance_config(tmp_path / "where-it-was"))  # the folder moved
    assert written(moved) == instance_config(moved)
    own = tmp_path / "own"
    own.mkdir()
    mine = instance_config(tmp_path / "elsewhere").replace(MARKER + "\n", "")  # edited, marker removed
    (own / "dagster.yaml").write_text(mine)
    assert written(own) == mine
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")  # a file the user wrote is left alone
    assert written(own) == "telemetry:\n  enabled: true\n"


def test_its_databases_are_in_wal_mode_and_synced_at_checkpoints_only(home):
    """Each event is a commit: in WAL mode the event log syncs at checkpoints (``synchronous=NORMAL``)."""
    with dg.DagsterInstance.get() as instance:
        run_id = _materialise(instance)
        storage = instance.event_log_storage
        for shard in ("index", run_id):
            with storage._connect(shard) as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL (FULL is 2)


def test_the_index_database_is_not_reopened_for_each_event(home):
    """Dagster asks whether the index has a table before storing each asset event and check result, and
    answers on a new connection each time (some 870 a demo run): the tables found are remembered, and the
    index is used through its kept connection only."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    opened = []

    def count(dbapi_connection, record) -> None:
        opened.append(dbapi_connection.execute("PRAGMA database_list").fetchone()[2])

    with dg.DagsterInstance.get() as instance:
        _materialise(instance)  # the index made, its tables found
        event.listen(Engine, "connect", count)
        try:
            runs = [_materialise(instance) for _ in range(3)]
        finally:
            event.remove(Engine, "connect", count)
        assert instance.get_latest_materialization_event(dg.AssetKey("counted")).run_id == runs[-1]
    index = str(home / "history" / "runs" / "index.db")
    assert opened and index not in opened  # (the run storage and each run's own database were opened)
