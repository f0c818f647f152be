"""One Dagster instance for every way in, and one run of a wave at a time.

Where the run history lives: ``$DAGSTER_HOME``, else the project's ``.env`` (which ``dagster dev`` and
``dg dev`` read from the folder they start in), else ``build/dagster``. The CLI writes that ``.env``
(``DAGSTER_HOME=${DAGSTER_HOME:-<checkout>/build/dagster}``: a DAGSTER_HOME set in the shell still
wins), so ``htna run``, ``htna ui``, ``dagster dev -w workspace.yaml`` and ``dg dev`` all read and write
the same history.

One run per wave, two guards:

- the run queue (runs launched from the UI or by the sensor): a tag limit on ``dagster/partition``
  lets one run per wave be in progress (:func:`pipelines.run_history.instance_config`). A run of
  ``htna run`` is "in progress" in the same instance, so the queue also holds a UI run while it runs;
- a file lock per wave in the Dagster home (:func:`wave_lock`), held by every run while it executes
  its steps, whoever started it: ``htna run`` (outside the queue) takes it before its run, and a run
  launched by the queue takes it when its resources start (the warehouse IO manager,
  :class:`pipelines.resources.WarehouseIOManager`). Whichever comes second waits.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

#: the tag Dagster puts on every run of a partition (a wave: the assessment job's only partitions)
WAVE_TAG = "dagster/partition"
#: which warehouse a run wrote (shown with the run in the UI)
WAREHOUSE_TAG = "htna/warehouse"
#: the drop folder's content a run read (see :mod:`assets.ingest.drop_folder`)
FINGERPRINT_TAG = "htna/fingerprint"
#: who started a run: cli, ui or sensor
STARTED_BY_TAG = "htna/started_by"
#: which state a run assesses, on every run of a code location of a multi-state workspace
#: (:mod:`pipelines.states`): the queue's one-run-per-state limit and the wave lock's name use it
STATE_TAG = "htna/state"

ENV_MARKER = "# Written by htna (pipelines/coordination.py); delete this line to keep your own edits."


def default_dagster_home(root: Path) -> Path:
    return (root / "build" / "dagster").resolve()


def env_file_text(root: Path) -> str:
    """The project's ``.env``: Dagster's CLIs load it from the folder they start in."""
    home = default_dagster_home(root)
    return (f"{ENV_MARKER}\n# The Dagster instance (run history) shared by htna run, htna ui, dagster dev and dg dev.\n"
            f"DAGSTER_HOME=${{DAGSTER_HOME:-{home}}}\n")


def write_env_file(root: Path) -> Path:
    """Write (or bring up to date) the project's ``.env`` unless the user has made it their own."""
    path = root / ".env"
    wanted = env_file_text(root)
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current is None or (current.startswith(ENV_MARKER) and current != wanted):
        path.write_text(wanted, encoding="utf-8")
    return path


def resolve_dagster_home(root: Path) -> Path:
    """``$DAGSTER_HOME``, else the ``.env`` file's (as Dagster's CLIs read it), else ``build/dagster``."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).expanduser().resolve()
    env = root / ".env"
    if env.exists():
        from dotenv import dotenv_values

        value = dotenv_values(env).get("DAGSTER_HOME")
        if value:
            return Path(value).expanduser().resolve()
    return default_dagster_home(root)


#: wave locks this process holds: (home, wave) -> how many holders (a run inside `htna run` holds it again)
_HELD: dict[tuple[str, str], int] = {}


@contextmanager
def wave_lock(home: Path, wave: str, on_wait: Callable[[], None] | None = None, shared: bool = False,
              state: str | None = None) -> Iterator[None]:
    """Hold ``<home>/locks/wave-<wave>.lock`` while a run of the wave executes (released when the
    process ends, even if killed). Re-entrant within a process: the run that ``htna run`` executes takes
    the lock the command already holds. ``shared``: the step processes of one multiprocess run, which
    may hold it side by side (the queue keeps a second UI run of the wave out; ``htna run`` still waits).
    ``state``: a run of one state of a multi-state workspace holds ``wave-<state>-<wave>.lock``, so the
    same wave of other states (each with its own warehouse) runs alongside."""
    name = f"{state}-{wave}" if state else wave
    key = (str(Path(home).resolve()), name)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    folder = Path(home) / "locks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / f"wave-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, mode)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing releases the lock


def runs_in_progress(instance, wave: str) -> list:
    """Runs of ``wave`` in the instance that are starting, running or being cancelled."""
    import dagster as dg

    statuses = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
    return list(instance.get_runs(filters=dg.RunsFilter(tags={WAVE_TAG: wave}, statuses=statuses)))


def end_abandoned_cli_runs(instance, wave: str) -> list[str]:
    """Runs of ``wave`` started by ``htna run`` that still say "in progress" although no CLI run of the
    wave is alive (the caller holds the wave's lock): their process was killed. Marked failed, so they
    no longer hold up the queue or the next run. Returns their ids."""
    ended = []
    for run in runs_in_progress(instance, wave):
        if run.tags.get(STARTED_BY_TAG) == "cli":
            instance.report_run_failed(run, message="htna run's process ended without finishing this run "
                                                    "(killed); marked failed by the next run of the wave")
            ended.append(run.run_id)
    return ended


def record_run_inputs(instance, run_id: str, fingerprint: str | None, warehouse: Path) -> None:
    """Tag a run with the drop folder's fingerprint it read and the warehouse it writes (shown in the UI;
    the sensor compares the fingerprint of the last successful run with the folder's content)."""
    tags = {WAREHOUSE_TAG: str(warehouse)}
    if fingerprint is not None:
        tags[FINGERPRINT_TAG] = fingerprint
    instance.add_run_tags(run_id, tags)


def last_successful_run(instance, wave: str, warehouse: Path, job_name: str = "assessment"):
    """The newest successful run of ``wave`` that wrote ``warehouse`` (a run without the warehouse tag
    was started from the UI against the code location's warehouse), whoever started it; or None."""
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job_name, tags={WAVE_TAG: wave},
                                                   statuses=[dg.DagsterRunStatus.SUCCESS]), limit=50)
    for run in runs:  # newest first
        if run.tags.get(WAREHOUSE_TAG, str(warehouse)) == str(warehouse):
            return run
    return None
