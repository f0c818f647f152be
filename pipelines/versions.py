"""Versions of the assessment's assets: what each one's table depends on besides its inputs.

An asset's **code version** (Dagster's ``code_version``, shown in the UI) is a hash of

- the source of the code that can run for it: every module of its stage's package (``assets/<stage>/``)
  and every project module those import, anywhere in their body, transitively (the import graph of
  tests/unit/test_layers.py), plus the environment's lock file (``uv.lock``): a library upgrade may
  change a number;
- the config its stage reads: each top-level section of assessment.yaml and each file of the config's
  folder (codebooks, indicators, models, recommendations, ...), the quality suites of ``expectations/``
  and the site's templates, styles and glossary, less what the stage never reads (:data:`NOT_READ`):
  an indicator's label is not read by ingestion, a page template only by the report.

An asset without upstream assets reads the wave's folder: its **data version** is the folder's
content (SHA-256 of every file, as the drop-folder sensor computes it) with its code version
(:func:`folder_data_version`). Dagster derives every other asset's data version from its code version
and its inputs' data versions, so an unchanged asset keeps its data version and the UI shows it fresh;
``htna run`` compares them to run only what changed (:mod:`pipelines.run_plan`).

Plain code (file hashes), but for :func:`folder_output`, the Output such an asset returns.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from functools import lru_cache
from pathlib import Path

import yaml

from pipelines.config import REPO_ROOT, Assessment

#: the stages, in the order of the flow (packages of assets/)
STAGES = ("ingest", "quality", "estimates", "models", "prevalence", "publication", "report")

# kinds of config part (see config_parts)
INDICATORS, MODELS, SMALL_AREA, REPORT, REPORT_SITE = "indicators", "models", "small_area", "report", "report site"

#: what each stage never reads; every other part of the config is in its version. A stage's assets
#: read the config through ``settings.assessment()``: leaving a kind out here needs the stage's code not
#: to use it (tests/unit/test_versions.py checks the stage's own modules for the names of each).
NOT_READ: dict[str, frozenset[str]] = {
    "ingest": frozenset({INDICATORS, MODELS, SMALL_AREA, REPORT, REPORT_SITE}),
    "quality": frozenset({INDICATORS, MODELS, SMALL_AREA, REPORT, REPORT_SITE}),
    "prevalence": frozenset({INDICATORS, MODELS, SMALL_AREA, REPORT, REPORT_SITE}),
    "estimates": frozenset({MODELS, SMALL_AREA, REPORT, REPORT_SITE}),
    "models": frozenset({REPORT, REPORT_SITE}),
    "publication": frozenset({REPORT_SITE}),
    "report": frozenset(),
}

#: sections of assessment.yaml that say where and how a run works, never what it computes
WHERE_AND_HOW = frozenset({"data_dir", "warehouse", "output_dir", "execution"})

_PACKAGES = ("assets", "pipelines")
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)|import[ \t]+([\w., \t]+))",
                     re.M)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    return _sha(path.read_bytes())


def _tree_sha(*roots: Path) -> str:
    """One hash over the files of folders (and single files), by relative name and content."""
    h = hashlib.sha256()
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for p in files:
            if "__pycache__" in p.parts or p.name.startswith("."):
                continue
            h.update(f"{p.relative_to(root.parent) if p != root else p.name}\0{_file_sha(p)}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- code


@lru_cache(maxsize=4)
def _modules(root: Path) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in _PACKAGES:
        for path in (root / pkg).rglob("*.py"):
            mods[".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")] = path
    return mods


@lru_cache(maxsize=4)
def _import_graph(root: Path) -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports anywhere in its body (``from a.b import c`` counts a.b.c
    when that is a module)."""
    mods = _modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, frozenset[str]] = {}
    for mod, path in mods.items():
        found: set[str] = set()
        for source, names, plain in _IMPORT.findall(path.read_text(encoding="utf-8")):
            targets = [n.strip().split()[0] for n in plain.split(",") if n.strip()] if plain else \
                [source, *(f"{source}.{n.split()[0]}" for n in re.split(r"[,()\n]+", names) if n.strip())]
            for target in targets:
                if target.split(".")[0] in _PACKAGES and (hit := resolve(target)):
                    found.add(hit)
        found.discard(mod)
        graph[mod] = frozenset(found)
    return graph


def code_modules(stage: str, extra: tuple[str, ...] = (), root: Path = REPO_ROOT) -> list[str]:
    """The project modules that can run for an asset of ``stage`` (and of the modules ``extra``)."""
    graph = _import_graph(root)
    todo = [m for m in graph if m == f"assets.{stage}" or m.startswith(f"assets.{stage}.")] + list(extra)
    seen: set[str] = set()
    while todo:
        m = todo.pop()
        if m not in seen and m in graph:
            seen.add(m)
            todo.extend(graph[m])
    return sorted(seen)


@lru_cache(maxsize=32)
def code_hash(stage: str, extra: tuple[str, ...] = (), root: Path = REPO_ROOT) -> str:
    mods = _modules(root)
    h = hashlib.sha256()
    for m in code_modules(stage, extra, root):
        h.update(f"{m}\0{_file_sha(mods[m])}\n".encode())
    lock = root / "uv.lock"
    h.update(f"uv.lock\0{_file_sha(lock) if lock.is_file() else ''}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- config


def _referenced(assessment: Assessment) -> dict[str, set[Path]]:
    """The config's files by kind, as the config names them (resolved)."""
    c = assessment.config
    resolve = assessment._resolve  # noqa: SLF001 - the config's own rule for relative paths
    kinds: dict[str, set[Path]] = {INDICATORS: {resolve(c.indicators)}, MODELS: {resolve(c.models)},
                                   SMALL_AREA: set(), REPORT: set()}
    for i in assessment.instruments:
        kinds[INDICATORS].add(resolve(i.indicators))
        if i.models:
            kinds[MODELS].add(resolve(i.models))
    if c.small_area.covariates:
        kinds[SMALL_AREA].add(resolve(c.small_area.covariates))
    for name in (c.report.county_geometry, c.report.recommendations, c.report.context):
        if name:
            kinds[REPORT].add(resolve(name))
    return kinds


def config_parts(assessment: Assessment) -> dict[str, tuple[str | None, str]]:
    """Every part of the config: name -> (kind or None for a part every stage reads, hash)."""
    raw = yaml.safe_load(assessment.path.read_text(encoding="utf-8")) or {}
    section_kind = {"indicators": INDICATORS, "models": MODELS, "small_area": SMALL_AREA, "report": REPORT}
    parts: dict[str, tuple[str | None, str]] = {
        f"assessment.yaml:{k}": (section_kind.get(k), _sha(yaml.safe_dump(v, sort_keys=True).encode()))
        for k, v in raw.items() if k not in WHERE_AND_HOW}
    kind_of = {p: kind for kind, paths in _referenced(assessment).items() for p in paths}
    folder = assessment.path.parent
    files = {p.resolve() for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
             and "__pycache__" not in p.parts}
    files.discard(assessment.path.resolve())
    files |= {p for p in kind_of if p.is_file()}  # a file named outside the folder too
    for p in sorted(files):
        parts[f"file:{p.relative_to(folder) if p.is_relative_to(folder) else p}"] = (kind_of.get(p), _file_sha(p))
    parts["expectations"] = (None, _tree_sha(REPO_ROOT / "expectations"))
    parts[REPORT_SITE] = (REPORT_SITE, _tree_sha(assessment.report_templates, REPO_ROOT / "reports" / "static",
                                                 REPO_ROOT / "reports" / "glossary.yaml"))
    return parts


def config_hash(parts: dict[str, tuple[str | None, str]], stage: str) -> str:
    """The hash of the parts of the config ``stage`` reads."""
    skip = NOT_READ[stage]
    h = hashlib.sha256()
    for name, (kind, digest) in sorted(parts.items()):
        if kind not in skip:
            h.update(f"{name}\0{digest}\n".encode())
    return h.hexdigest()


class AssetVersions:
    """The code versions of an assessment's assets, by stage (config read once)."""

    def __init__(self, assessment: Assessment) -> None:
        self.parts = config_parts(assessment)

    def code_version(self, stage: str, extra_modules: tuple[str, ...] = ()) -> str:
        """The code version of an asset of ``stage`` whose code is also in ``extra_modules``."""
        return _sha(f"{code_hash(stage, extra_modules)}\0{config_hash(self.parts, stage)}".encode())[:16]


def folder_data_version(code_version: str | None, fingerprint: str | None) -> str:
    """The data version of an asset that reads the wave's folder: its content with the asset's code."""
    return _sha(f"{code_version or ''}\0{fingerprint or ''}".encode())[:16]


def folder_output(context, value, fingerprint: str | None):
    """The Dagster Output of an asset that reads the wave's folder (``fingerprint``: its content), with
    :func:`folder_data_version` as its data version."""
    import dagster as dg

    code = context.assets_def.code_versions_by_key[context.asset_key]
    with warnings.catch_warnings():  # Output's data_version is a Dagster beta parameter
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(value, data_version=dg.DataVersion(folder_data_version(code, fingerprint)))
