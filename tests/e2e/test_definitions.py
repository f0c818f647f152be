"""The code location loads as a coordinator would load it, and every asset says what it means."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from pipelines.config import REPO_ROOT

STAGES = {"ingest", "quality", "estimates", "models", "prevalence", "publication", "report"}
#: every survey instrument but the officer survey has its own group (assets/instruments.py)
INSTRUMENT_GROUPS = {"stakeholder_survey"}


def test_dagster_definitions_validate_with_the_workspace_file():
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Validation successful for code location htna" in proc.stdout + proc.stderr


def test_every_asset_is_described_grouped_by_stage_and_partitioned_by_wave():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = list(graph.get_all_asset_keys())
    assert {k.to_user_string() for k in keys} >= {
        "survey_exports", "officer_responses", "officer_responses_quarantine", "stakeholder_interviews",
        "survivor_interviews", "headline_indicators", "interview_theme_counts", "assessment_report",
        "service_providers", "service_providers_quarantine", "service_coverage_by_county",
        "counties_without_after_hours"}
    for key in keys:
        node = graph.get(key)
        assert node.description and len(node.description) > 40, key
        assert node.group_name in STAGES | INSTRUMENT_GROUPS, key
        assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition), key  # waves: kept in the instance
        assert node.partitions_def.name == "survey_waves", key
        assert node.owners, key


def test_loading_definitions_does_not_import_great_expectations():
    code = "import sys, pipelines.definitions; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_loading_definitions_imports_no_library_only_a_step_needs():
    """Validation, models, MSE and charts import their libraries in the step that uses them, so a
    UI reload or a sensor tick does not pay for them (issue 24, fixed cost)."""
    heavy = ["great_expectations", "statsmodels", "scipy", "plotly", "jinja2"]
    code = f"import sys, pipelines.definitions; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
