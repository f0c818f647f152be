"""`htna bench` smoke test: it runs and reports every asset, the floors, ingest against them and memory (no timing
assertions)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli


def test_bench_smoke(tmp_path):
    out = tmp_path / "bench.json"
    code, stdout, err = run_cli(["bench", "--quick", "--sizes", "182", "--out", str(out),
                                 "--workdir", str(tmp_path / "w")])
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["import_floor_s"] > 0
    [entry] = report["sizes"]
    assert entry["respondents"] == 182
    assert entry["duckdb_scan_floor_s"] > 0 and entry["peak_rss_mb"] > 50
    for key in ("duckdb_load_floor_s", "ingest_s", "ingest_vs_scan_floor", "ingest_vs_load_floor"):
        assert isinstance(entry[key], float) and entry[key] > 0, key
    assert entry["ingest_s"] == pytest.approx(entry["assets_s"]["survey_exports"] + entry["assets_s"]["officer_responses"])
    assert {"survey_exports", "officer_responses", "headline_indicators", "assessment_report"} <= set(entry["assets_s"])
    assert entry["total_s"] >= sum(entry["assets_s"].values()) * 0.5
    assert "n=      182" in stdout
    assert "DuckDB scan floor" in stdout and "DuckDB load floor" in stdout and "x load floor" in stdout
    assert not [p for p in (tmp_path / "w").rglob("load-floor-*")]  # the load floor's DuckDB file is removed
    assert {"quality", "estimate", "prevalence"} <= set(report["components"])
    # a run launched from the UI (GraphQL launchRun against dagster dev) beside a CLI run of the same wave
    ui = report["ui_against_cli"]
    assert ui["respondents"] == 182 and ui["cli_s"] > 0 and 0 < ui["ui_run_s"] <= ui["ui_s"]
    assert ui["ui_over_cli"] == pytest.approx(ui["ui_s"] / ui["cli_s"])
    assert "UI/CLI = " in stdout
