"""`htna bench` smoke test: it runs and reports every asset, the floors and memory (no timing assertions)."""

from __future__ import annotations

import json

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
    assert {"survey_exports", "officer_responses", "headline_indicators", "assessment_report"} <= set(entry["assets_s"])
    assert entry["total_s"] >= sum(entry["assets_s"].values()) * 0.5
    assert "n=      182" in stdout
    assert {"quality", "estimate", "prevalence"} <= set(report["components"])
