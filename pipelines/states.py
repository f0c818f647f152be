"""Many states at once: a Dagster workspace with one code location per state config.

``htna states workspace DIR CONFIG...`` writes, for each state's ``assessment.yaml`` (or the folder
holding it)::

    DIR/workspace.yaml            one python_file code location per state, named after the state
    DIR/<state>/state.yaml        which config, and the state's own data folder, DuckDB file and site
    DIR/<state>/location.py       the same two lines for every state: the definitions of the state
                                  whose state.yaml is beside it (:func:`location_definitions`)
    DIR/dagster/dagster.yaml      the workspace's Dagster instance: the run queue's limits
    DIR/.env                      DAGSTER_HOME=DIR/dagster, for `dagster dev` started in DIR

Why code locations and not a state x wave multi-partition: each state's config *is* its definitions'
input (counties, groups, questionnaire, execution, waves), validated when the location loads, so a
broken config of one state breaks that state's location only and the others keep running; each
location has its own resources (its own DuckDB file, data folder and site, so two states never share a
write lock), its own drop-folder sensor and waves, its own page in the UI, and can be reloaded (a config
edited) or pinned to another Python environment (``executable_path``) without touching the others.
A multi-partition would put every state in one asset graph with one set of resources, so one state's
config error would stop all of them and the IO manager would have to pick a DuckDB file per partition.

How runs are spread: every run of a state's job carries the tag ``htna/state`` (its job's tag), and
the workspace's instance (Dagster's run queue: runs are queued and the daemon launches them) allows
``max_concurrent_runs`` runs on this machine and one run per state at a time (a state's waves share its
DuckDB file, so a second run of the same state would only wait for its lock); the per-wave file lock
(:func:`pipelines.coordination.wave_lock`) is named per state. The runs are Dagster's own: the
``dagster dev`` of the workspace (webserver, daemon, one code server per state), the default run
launcher (a process per run), the config's executor inside each run. Past one machine: docs/DEPLOYMENT.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.errors import HtnaError

#: first line of the files ``htna states workspace`` writes (rewritten by the next call)
MARKER = "# Written by htna states workspace (pipelines/states.py); it rewrites this file."
STATE_FILE = "state.yaml"
LOCATION_FILE = "location.py"
#: every state's location file: the definitions of the state described by the state.yaml beside it
LOCATION_TEXT = f'''{MARKER}
from pipelines.states import location_definitions

defs = location_definitions(__file__)
'''


@dataclass(frozen=True)
class StateLocation:
    """One state of a workspace: its code location's name and the paths its runs use."""

    name: str
    config: Path
    data: Path
    warehouse: Path
    output: Path

    def to_yaml(self) -> str:
        body = {"state": self.name, "config": str(self.config), "data": str(self.data),
                "warehouse": str(self.warehouse), "output": str(self.output)}
        return MARKER + "\n" + yaml.safe_dump(body, sort_keys=False)


def state_name(assessment) -> str:
    """The code location's name for a state: its name in lower case, words joined by ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", assessment.config.state.name.lower()).strip("_") or "state"


def _config_file(given: Path) -> Path:
    path = given / "assessment.yaml" if given.is_dir() else given
    if not path.is_file():
        raise HtnaError(f"{given}: no assessment.yaml there; give a state's config folder or its assessment.yaml")
    return path.resolve()


def plan_states(folder: Path, configs: list[Path], data_root: Path | None = None) -> list[StateLocation]:
    """The states of a workspace in ``folder``: each config validated (its errors name the file), each
    state its own DuckDB file ``<folder>/<state>/<state>.duckdb`` and site ``<folder>/<state>/site``;
    its data is the config's ``data_dir``, or ``<data_root>/<state>``."""
    from pipelines.config import load_assessment

    folder = folder.resolve()
    states: list[StateLocation] = []
    seen: dict[str, Path] = {}
    for given in configs:
        path = _config_file(Path(given))
        assessment = load_assessment(path)
        name = state_name(assessment)
        if name in seen:
            raise HtnaError(f"{path} and {seen[name]} are both the state {assessment.config.state.name!r}: a "
                            "workspace has one code location per state; give each state once")
        seen[name] = path
        data = (Path(data_root).resolve() / name) if data_root else assessment.data_dir
        states.append(StateLocation(name=name, config=path, data=data, warehouse=folder / name / f"{name}.duckdb",
                                    output=folder / name / "site"))
    if not states:
        raise HtnaError("no state config given: name at least one config folder or assessment.yaml")
    return states


def workspace_yaml(folder: Path, states: list[StateLocation]) -> str:
    from pipelines.config import REPO_ROOT

    entries = [{"python_file": {"relative_path": f"{s.name}/{LOCATION_FILE}", "location_name": s.name,
                                "working_directory": str(REPO_ROOT)}} for s in states]
    return (f"{MARKER}\n# One code location per state; start it with `dagster dev -w workspace.yaml` in this folder "
            "(its .env names the\n# workspace's Dagster home) or `htna ui --workspace <this folder>`.\n"
            + yaml.safe_dump({"load_from": entries}, sort_keys=False))


def workspace_home(folder: Path) -> Path:
    return Path(folder).resolve() / "dagster"


def write_workspace(folder: Path, configs: list[Path], data_root: Path | None = None,
                    max_concurrent_runs: int | None = None) -> list[StateLocation]:
    """Write the workspace (see the module's docstring) and register each state's waves in its
    instance. ``max_concurrent_runs``: runs in progress at once on this machine (default: its CPUs)."""
    import os

    import dagster as dg

    from pipelines.partitions import register_waves
    from pipelines.permissions import private_folder
    from pipelines.run_history import instance_config

    folder = Path(folder).resolve()
    states = plan_states(folder, configs, data_root)
    runs = max_concurrent_runs or os.cpu_count() or 1
    if runs < 1:
        raise HtnaError(f"--max-runs {runs}: at least one run must be allowed at a time")
    folder.mkdir(parents=True, exist_ok=True)
    known = {p.name for p in folder.iterdir() if (p / STATE_FILE).is_file()}
    for gone in sorted(known - {s.name for s in states}):  # a state left out: its files stay, its location goes
        print(f"htna: {gone} is no longer in the workspace (its folder {folder / gone} is left as it is)")
    for s in states:
        (folder / s.name).mkdir(exist_ok=True)
        (folder / s.name / STATE_FILE).write_text(s.to_yaml(), encoding="utf-8")
        (folder / s.name / LOCATION_FILE).write_text(LOCATION_TEXT, encoding="utf-8")
    (folder / "workspace.yaml").write_text(workspace_yaml(folder, states), encoding="utf-8")
    home = workspace_home(folder)
    private_folder(home, "the workspace's Dagster home, with the run history")
    (home / "dagster.yaml").write_text(instance_config(home, max_concurrent_runs=runs, per_state=True), encoding="utf-8")
    (folder / ".env").write_text(f"{MARKER}\nDAGSTER_HOME={home}\n", encoding="utf-8")
    from pipelines.config import load_assessment

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for s in states:
            register_waves(instance, load_assessment(s.config).config.waves)
    return states


def read_state(location_file: Path) -> StateLocation:
    """The state.yaml beside a location file."""
    path = Path(location_file).resolve().parent / STATE_FILE
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
        return StateLocation(name=str(body["state"]), config=Path(body["config"]), data=Path(body["data"]),
                             warehouse=Path(body["warehouse"]), output=Path(body["output"]))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise HtnaError(f"{path}: not a state file written by `htna states workspace` ({type(exc).__name__}); "
                        "write the workspace again") from None


def location_definitions(location_file: str | Path):
    """The Definitions of one state's code location (its config, data, DuckDB file and site), every run
    of its job tagged with the state."""
    from pipelines.assessment_definitions import build_definitions
    from pipelines.resources import AssessmentSettings

    state = read_state(Path(location_file))
    settings = AssessmentSettings(config_path=str(state.config), data_dir=str(state.data),
                                  warehouse=str(state.warehouse), output_dir=str(state.output))
    return build_definitions(settings, state=state.name)
