"""Where Dagster keeps the run history (what coordinators see in the UI), tuned for short runs.

Dagster's SQLite event log opens a new database connection for every event it stores (a run of
one wave stores some 540: step starts, inputs, outputs, materialisations, 95 check results) and
closes it again, which costs about 12 ms an event here, 6 s of a 25 s demo run. This is the same
storage, the same files and tables under ``$DAGSTER_HOME/history/runs/`` (so earlier runs stay
visible), except that each process keeps its connection to a database open between events. SQLite
in WAL mode lets the UI read while a run writes, as before.

It is named in ``$DAGSTER_HOME/dagster.yaml`` (written by the CLI: :func:`instance_config`)::

    event_log_storage:
      module: pipelines.run_history
      class: KeptOpenSqliteEventLogStorage
      config:
        base_dir: <DAGSTER_HOME>/history/runs
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dagster._config import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

#: run databases kept open at once by one process (the index database is always kept)
KEPT_RUN_DATABASES = 4

#: first line of a dagster.yaml the CLI wrote (and may rewrite, e.g. when the folder has moved)
MARKER = "# Written by htna (pipelines/run_history.py); delete this line to keep your own edits."


def instance_config(home: Path, max_concurrent_runs: int = 4, per_state: bool = False) -> str:
    """The instance config (dagster.yaml) the CLI writes for ``home``: no telemetry (this machine
    may have no network), this storage, at the path Dagster's default storage uses, and the run
    queue's limits: at most ``max_concurrent_runs`` runs in progress on this machine, and one run in
    progress per wave, or, for the instance of a multi-state workspace (``per_state``), one per state
    (:mod:`pipelines.states`: each state's runs share its one DuckDB file, and the same wave of
    different states must not wait for each other)."""
    base_dir = json.dumps(str(Path(home).resolve() / "history" / "runs"))  # a quoted YAML string
    if per_state:
        limit = """# One run of a state at a time (its waves share its DuckDB file); states run side by side
# (pipelines/states.py, pipelines/coordination.py)
    tag_concurrency_limits:
      - key: "htna/state"
        value:
          applyLimitPerUniqueValue: true
        limit: 1"""
    else:
        limit = """    tag_concurrency_limits:
      - key: "dagster/partition"
        value:
          applyLimitPerUniqueValue: true
        limit: 1"""
    return f"""{MARKER}
telemetry:
  enabled: false
# Dagster's SQLite run history, keeping its database connections open
event_log_storage:
  module: pipelines.run_history
  class: KeptOpenSqliteEventLogStorage
  config:
    base_dir: {base_dir}
# One run of a wave at a time: runs from the UI or the sensor queue while another run of the same wave
# (any way started, `htna run` included) is in progress (pipelines/coordination.py)
concurrency:
  runs:
    max_concurrent_runs: {int(max_concurrent_runs)}
{limit}
# A run whose process died is marked failed instead of holding its wave's place in the queue
run_monitoring:
  enabled: true
"""


def default_base_dir() -> str:
    """Where Dagster's default SQLite storage keeps the event logs: ``$DAGSTER_HOME/history/runs``
    (for a dagster.yaml that names this class without a ``base_dir``)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError("DAGSTER_HOME is not set: the run history lives under it")
    return os.path.join(home, "history", "runs", "")


def _sync_normal_if_wal(engine: Engine) -> None:
    """A database in WAL mode (Dagster makes its event logs so) is synced to disk at its checkpoints, not
    at every commit (``synchronous=NORMAL``, SQLite's advice for WAL): a run stores some 940 events, each
    a commit and so an fsync, which cost over 2 s of a demo run's 20. A crash of the process loses
    nothing; a power cut may lose the last events, never the database's consistency. A database in
    another journal mode keeps SQLite's default (there NORMAL could corrupt it at a power cut).
    The engine keeps its one connection (``StaticPool``), so the setting holds for its life."""
    with engine.connect() as conn:
        if str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() == "wal":
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with one open connection per database and process."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,  # ty: ignore[invalid-method-override]
                          config_value: dict[str, Any]) -> KeptOpenSqliteEventLogStorage:
        return cls(config_value.get("base_dir") or default_base_dir(), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard), poolclass=StaticPool,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        _sync_normal_if_wal(engine)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-KEPT_RUN_DATABASES]:
            self._engines.pop(old).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # as Dagster's, minus opening and closing
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def has_table(self, table_name: str) -> bool:
        """Whether the index database has the table. Dagster's answer opens a new database connection
        each time, and it asks before storing each asset event and check result (some 870 times a demo
        run); a table found is remembered for the life of this storage (tables are added by migrations,
        never dropped, except by :meth:`wipe`), a table not found is looked for again next time."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the files are deleted: no connection may keep writing to them
        self._tables_found.clear()
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        self._close_all()
        super().delete_events(run_id)

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
