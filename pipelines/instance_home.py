"""The Dagster home every way in shares (``htna run``, ``htna ui``, ``dagster dev``, ``dg dev``): made and
kept private, its ``dagster.yaml`` and the project's ``.env`` written, the config's waves registered.

Called by the CLI's commands that run or show the assessment, and by ``make setup``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.errors import HtnaError

#: the dagster.yaml earlier versions of this CLI wrote (telemetry off, Dagster's default storage)
_OLD_INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"


def prepare_dagster_home() -> Path:
    """Runs from the CLI, `htna ui`, `dagster dev` and `dg dev` share one Dagster instance (run history)
    per checkout (see :mod:`pipelines.coordination`)."""
    from pipelines.config import REPO_ROOT
    from pipelines.run_history import MARKER, instance_config

    from pipelines.permissions import check_private, make_private_file, private_folder

    from pipelines.coordination import resolve_dagster_home, write_env_file

    home = resolve_dagster_home(REPO_ROOT)
    try:
        write_env_file(REPO_ROOT)  # dagster dev and dg dev, started in the checkout, read it: the same home
        # the run history and the instance config: the owner's only (a dagster.yaml others could write
        # would let them choose the code the next run loads)
        private_folder(home, "the Dagster home, with the run history")
        config = home / "dagster.yaml"
        check_private(config, "Dagster's instance config")
        wanted = instance_config(home)
        # a file this CLI wrote is kept up to date (a moved folder, an older version); the user's own is left
        current = config.read_text(encoding="utf-8") if config.exists() else None
        if current is None or current == _OLD_INSTANCE_CONFIG or (current.startswith(MARKER) and current != wanted):
            config.write_text(wanted, encoding="utf-8")
            make_private_file(config)
        for sub in ("history", "storage", "logs", "schedules"):  # what earlier versions made readable
            check_private(home / sub, "Dagster's run history")
    except OSError as exc:
        raise HtnaError(f"DAGSTER_HOME {home} cannot be created or written ({exc.strerror}); "
                        "point DAGSTER_HOME at a writable folder, or unset it to use build/dagster") from None
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def register_config_waves(settings) -> None:
    """The config's waves as partitions of the shared instance (the UI lists them before any run)."""
    import dagster as dg

    from pipelines.partitions import register_waves

    with dg.DagsterInstance.get() as instance:
        register_waves(instance, settings.assessment().config.waves)


def prepare_instance() -> None:
    """`make setup`: the shared Dagster home, its dagster.yaml and the project's .env, before any UI starts
    (so `dagster dev` and `dg dev` started first use them too), with the config's waves."""
    from pipelines.resources import settings_from_environment

    prepare_dagster_home()
    register_config_waves(settings_from_environment())
