"""The code's layers stay one-way: no import cycles among the project's modules (an import inside a
function counts too), the plain foundations (config, errors, input files, permissions, warehouse) import
no stage and no part of the Dagster roof, and no stage imports the roof (definitions, sensors, the CLI,
the multi-state workspace, the benchmarks, the UI)."""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.config import REPO_ROOT

PACKAGES = ["assets", "pipelines", "reports", "expectations"]
FOUNDATIONS = ["pipelines.config", "pipelines.errors", "pipelines.input_files", "pipelines.permissions",
               "pipelines.warehouse", "pipelines.faults"]
ROOF = ["pipelines.definitions", "pipelines.assessment_definitions", "pipelines.sensors", "pipelines.cli", "pipelines.cli_methods",
        "pipelines.cli_states", "pipelines.states", "pipelines.bench", "pipelines.bench_states",
        "pipelines.ui_guard", "pipelines.ui_launch", "pipelines.synthetic_states", "pipelines.instance_home"]


def project_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (root / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body (absolute imports)."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                found = resolve(target)
                if found and found != mod:
                    graph[mod].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _under(name: str, prefixes: list[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph(project_modules())) == []


def test_foundations_import_no_stage_and_no_roof():
    graph = import_graph(project_modules())
    bad = sorted(f"{m} -> {t}" for m, ts in graph.items() if _under(m, FOUNDATIONS)
                 for t in ts if t.startswith("assets") or _under(t, ROOF))
    assert not bad, bad


def test_no_stage_imports_the_roof():
    graph = import_graph(project_modules())
    bad = sorted(f"{m} -> {t}" for m, ts in graph.items() if m.startswith("assets") for t in ts if _under(t, ROOF))
    assert not bad, bad
