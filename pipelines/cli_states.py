"""``htna states ...``: the multi-state workspace's commands (see :mod:`pipelines.states`), and
``htna bench --states N`` (see :mod:`pipelines.bench_states`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def cmd_states_workspace(args: argparse.Namespace) -> int:
    """Write a workspace with one code location per state config."""
    from pipelines.states import write_workspace

    if args.max_runs is not None and args.max_runs < 1:
        print("htna states workspace: --max-runs must be at least 1", file=sys.stderr)
        return 2
    folder = Path(args.folder)
    states = write_workspace(folder, [Path(c) for c in args.configs], Path(args.data_root) if args.data_root else None,
                             args.max_runs)
    for s in states:
        print(f"{s.name}: config {s.config}, data {s.data}, warehouse {s.warehouse}, site {s.output}")
    print(f"Workspace written: {folder.resolve() / 'workspace.yaml'} ({len(states)} code location(s)). Start it with "
          f"`htna ui --workspace {folder}`; runs are queued, at most {args.max_runs or os.cpu_count()} at a time and "
          "one per state.")
    return 0


def states_workspace_for_ui(folder: Path) -> Path:
    """``htna ui --workspace DIR``: the workspace file to serve; the workspace's instance made the one used."""
    from pipelines.errors import HtnaError
    from pipelines.states import workspace_home

    workspace = folder.resolve() / "workspace.yaml"
    if not workspace.is_file():
        raise HtnaError(f"{workspace} does not exist: write it with `htna states workspace {folder} CONFIG...`")
    os.environ["DAGSTER_HOME"] = str(workspace_home(workspace.parent))
    return workspace


def add_states_parser(sub) -> None:
    st = sub.add_parser("states", help="many states at once: a Dagster workspace with one code location per state")
    st_sub = st.add_subparsers(dest="states_command", required=True)
    sw = st_sub.add_parser("workspace", help="write DIR/workspace.yaml: one code location per state config",
                           description="Each state gets its own code location (named after the state), DuckDB file "
                                       "and site under DIR/<state>/, and the workspace its own Dagster instance "
                                       "(DIR/dagster) whose run queue runs at most --max-runs runs at once and one "
                                       "per state.")
    sw.add_argument("folder", metavar="DIR", help="the workspace folder (created)")
    sw.add_argument("configs", metavar="CONFIG", nargs="+", help="a state's config folder or its assessment.yaml")
    sw.add_argument("--data-root", help="each state's data in DATA_ROOT/<state>/ (default: its config's data_dir)")
    sw.add_argument("--max-runs", type=int, help="runs in progress at once on this machine (default: its CPUs)")
    sw.set_defaults(func=cmd_states_workspace)


def add_bench_states_arguments(b: argparse.ArgumentParser) -> None:
    b.add_argument("--states", type=int,
                   help="instead: this many invented states, one wave each, run at once through the workspace's run "
                        "queue (one code location per state); prints states per minute, failed runs, lock errors")
    b.add_argument("--respondents", type=int, default=1000,
                   help="with --states: mean respondents per state (spread from half to 1.5 times; default 1000)")
    b.add_argument("--max-runs", type=int, help="with --states: runs at once (default: the machine's CPUs)")


def cmd_bench_states(args: argparse.Namespace) -> int:
    """``htna bench --states N``: many states at once through the queued coordinator."""
    from pipelines.bench_states import many_states

    if args.states < 1 or args.respondents < 50 or (args.max_runs is not None and args.max_runs < 1):
        print("htna bench: --states and --max-runs must be at least 1, --respondents at least 50", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="htna-bench-") as tmp:
        result = many_states(Path(args.workdir or tmp), args.states, args.respondents, args.max_runs)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"many_states": result}, indent=2) + "\n", encoding="utf-8")
    print(f"Benchmark written: {out}")
    return 0
