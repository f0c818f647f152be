"""Code versions of the assets (pipelines/versions.py): an edit changes the versions of the stages that
read what was edited, and only those; a stage leaves out of its version only config its code never names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipelines.config import REPO_ROOT, load_assessment
from pipelines.versions import (INDICATORS, MODELS, NOT_READ, REPORT, REPORT_SITE, SMALL_AREA, STAGES, AssetVersions,
                                code_modules, folder_data_version)


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    """A copy of the Maine config whose page templates are a copy too."""
    shutil.copytree(REPO_ROOT / "config" / "maine", tmp_path / "config")
    shutil.copytree(REPO_ROOT / "reports" / "templates", tmp_path / "templates")
    path = tmp_path / "config" / "assessment.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "\nreport:\n", f"\nreport:\n  templates: {tmp_path / 'templates'}\n", 1), encoding="utf-8")
    return path


def versions(config: Path) -> dict[str, str]:
    v = AssetVersions(load_assessment(config))
    return {stage: v.code_version(stage) for stage in STAGES}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {s for s in STAGES if before[s] != after[s]}


def test_the_versions_are_those_of_the_same_inputs(config):
    assert versions(config) == versions(config)
    assert len(set(versions(config).values())) == len(STAGES)  # each stage its own code and config


def test_a_page_template_is_read_by_the_report_only(config):
    before = versions(config)
    page = config.parent.parent / "templates" / "methods.html.j2"
    page.write_text(page.read_text(encoding="utf-8") + "\n{# edited #}\n", encoding="utf-8")
    assert changed(before, versions(config)) == {"report"}


def test_an_indicator_label_is_read_from_the_estimates_on(config):
    before = versions(config)
    indicators = config.parent / "indicators.yaml"
    indicators.write_text(indicators.read_text(encoding="utf-8").replace(
        "label: Officers who are male", "label: Male officers", 1), encoding="utf-8")
    assert changed(before, versions(config)) == {"estimates", "models", "publication", "report"}


def test_the_codebook_and_the_disclosure_rule_are_read_by_every_stage(config):
    before = versions(config)
    codebook = config.parent / "officer_codebook.yaml"
    codebook.write_text(codebook.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert changed(before, versions(config)) == set(STAGES)
    before = versions(config)
    config.write_text(config.read_text(encoding="utf-8").replace("min_cell_count: 6", "min_cell_count: 5", 1),
                      encoding="utf-8")
    assert changed(before, versions(config)) == set(STAGES)


def test_where_a_run_writes_is_not_part_of_any_version(config):
    before = versions(config)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "output_dir: ../../build/report", "output_dir: ../../build/elsewhere", 1), encoding="utf-8")
    assert changed(before, versions(config)) == set()


def test_a_stage_runs_the_code_it_imports_and_not_the_report():
    ingest = code_modules("ingest")
    assert "assets.ingest.assets" in ingest and "pipelines.warehouse" in ingest and "assets.quality.agreement" in ingest
    assert not [m for m in ingest if m.startswith("assets.report")]
    assert "assets.publication.gate" in code_modules("report")


def test_the_folder_data_version_is_its_content_and_code():
    assert folder_data_version("a", "f1") == folder_data_version("a", "f1")
    assert len({folder_data_version("a", "f1"), folder_data_version("b", "f1"), folder_data_version("a", "f2")}) == 3


#: how a module names each kind of config (a read of it)
NAMES = {
    INDICATORS: r"(?<![\w.])(?!assets\b)\w+\.indicators\b|indicators_path|instrument_documents",
    MODELS: r"(?<![\w.])(?!assets\b)\w+\.models\b|model_specs",
    SMALL_AREA: r"config\.small_area\b|county_covariate",
    REPORT: r"config\.report\b|\.recommendations\b|\b(?:assessment|a|me|view)\.context\b|county_geometry",
    REPORT_SITE: r"report_templates|glossary|\"reports\"",
}
#: modules of a stage's package no asset runs (a command's own code)
NOT_RUN_BY_ASSETS = {"assets/ingest/validate.py"}  # `htna validate` checks a file against another codebook


@pytest.mark.parametrize("stage", [s for s in STAGES if NOT_READ[s]])
def test_a_stage_never_names_the_config_it_leaves_out_of_its_version(stage):
    found = []
    for path in sorted((REPO_ROOT / "assets" / stage).glob("*.py")):
        if str(path.relative_to(REPO_ROOT)) in NOT_RUN_BY_ASSETS:
            continue
        text = path.read_text(encoding="utf-8")
        for kind in NOT_READ[stage]:
            for m in re.finditer(NAMES[kind], text):
                line = text[:m.start()].count("\n") + 1
                found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {m.group(0)} ({kind})")
    assert not found, "\n".join(found)
