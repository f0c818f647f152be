"""`htna run` re-runs only what changed, and publishes what a full run publishes.

One warehouse lives through a wave's history, each step run by `htna run` in a fresh process: a
first run; a second run with nothing changed (it skips every asset: no run, the warehouse and the site
byte for byte as they were); a page template edited (only the report runs); an indicator's label edited
in indicators.yaml (its estimates and everything downstream run, not ingestion, the quality checks or
the prevalence estimate); the officer export changed (everything below the wave's folder runs). After
each change every table and every published file equals those of `htna run --full` on the same config
and data into a fresh warehouse, folder and Dagster home. And a run stopped by a blocking quality check
does not let the next run skip the checks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.config import REPO_ROOT
from tests.conftest import cli_env
from tests.e2e.test_crash_safety import site_files
from tests.e2e.test_waves import dump

WAVE = "2015"


def _htna(root: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    """`htna run` of the wave on root's config and data into warehouse/site/Dagster home ``name``."""
    args = [sys.executable, "-m", "pipelines.cli", "run", "--wave", WAVE, "--config", str(root / "config" / "assessment.yaml"),
            "--data", str(root / "data"), "--warehouse", str(root / name / "htna.duckdb"),
            "--output", str(root / name / "site"), *extra]
    proc = subprocess.run(args, cwd=REPO_ROOT, env=cli_env(root / name / "dagster"), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _materialized(home: Path) -> tuple[int, set[str]]:
    """How many runs the Dagster home has, and the assets its latest run materialised."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        if not runs:
            return 0, set()
        events = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        return len(runs), {e.dagster_event.asset_key.to_user_string() for e in events}


def _state(root: Path, name: str) -> dict:
    site = root / name / "site" / WAVE
    return {"tables": dump(root / name / "htna.duckdb"), "site": site_files(site),
            "bytes": {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}}


def _definitions(root: Path, name: str = "live") -> dg.Definitions:
    """The assessment's definitions for root's config (as they are now), run ``name``'s places."""
    from pipelines.assessment_definitions import build_definitions
    from pipelines.resources import AssessmentSettings

    return build_definitions(AssessmentSettings(
        config_path=str(root / "config" / "assessment.yaml"), data_dir=str(root / "data"),
        warehouse=str(root / name / "htna.duckdb"), output_dir=str(root / name / "site")))


def _groups(root: Path) -> dict[str, str]:
    """Every asset of the definitions with its group (the asset count is read from them)."""
    graph = _definitions(root).resolve_asset_graph()
    return {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}


def _stale(root: Path) -> set[str]:
    """The assets of the wave Dagster (its UI) calls stale in the live Dagster home, by the versions."""
    from dagster._core.definitions.data_version import StaleStatus
    from dagster._utils.test.data_versions import get_stale_status_resolver

    defs = _definitions(root)
    with dg.DagsterInstance.from_config(str(root / "live" / "dagster")) as instance:
        resolver = get_stale_status_resolver(instance, list(defs.assets))
        return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()
                if resolver.get_status(k, WAVE) != StaleStatus.FRESH}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    shutil.copytree(REPO_ROOT / "config" / "maine", root / "config")
    shutil.copytree(REPO_ROOT / "reports" / "templates", root / "templates")
    config = root / "config" / "assessment.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("\nreport:\n", f"\nreport:\n  templates: {root / 'templates'}\n", 1), encoding="utf-8")
    shutil.copytree(REPO_ROOT / "data" / "demo" / "incoming" / WAVE, root / "data" / "incoming" / WAVE)
    steps: dict[str, dict] = {}

    def step(name: str, reference: str | None) -> None:
        proc = _htna(root, "live")
        runs, ran = _materialized(root / "live" / "dagster")
        steps[name] = {"stderr": proc.stderr, "runs": runs, "ran": ran, **_state(root, "live")}
        if reference:  # the same config and data, every asset, into fresh places
            _htna(root, reference, "--full")
            steps[name]["full"] = _state(root, reference)

    step("first", None)
    steps["first"]["warehouse_bytes"] = (root / "live" / "htna.duckdb").read_bytes()
    step("unchanged", None)
    steps["unchanged"]["warehouse_bytes"] = (root / "live" / "htna.duckdb").read_bytes()
    template = root / "templates" / "methods.html.j2"
    template.write_text(template.read_text(encoding="utf-8").replace(
        "{% block content %}", "{% block content %}<p>Template edited for this test.</p>", 1), encoding="utf-8")
    steps["template-stale"] = _stale(root)  # before the run: what the UI shows as stale
    step("template", "full-template")
    steps["template"]["stale"] = _stale(root)
    indicators = root / "config" / "indicators.yaml"
    indicators.write_text(indicators.read_text(encoding="utf-8").replace(
        "label: Officers who are male", "label: Officers who said they are male", 1), encoding="utf-8")
    step("label", "full-label")
    export = root / "data" / "incoming" / WAVE / "officer_survey.csv"
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    export.write_text("".join(lines[:-1]), encoding="utf-8")  # the last respondent withdrew
    step("export", "full-export")
    return root, steps, _groups(root)


def test_nothing_changed_skips_every_asset_and_changes_nothing(history):
    _, steps, groups = history
    first, unchanged = steps["first"], steps["unchanged"]
    assert len(first["ran"]) == len(groups)
    n = len(groups)
    assert re.search(rf"skipped {n} of {n} assets unchanged since run [0-9a-f]{{8}}", unchanged["stderr"]), \
        unchanged["stderr"][-2000:]
    assert unchanged["runs"] == first["runs"] == 1  # nothing to run: no run
    assert unchanged["warehouse_bytes"] == first["warehouse_bytes"]
    assert unchanged["bytes"] == first["bytes"] and unchanged["tables"] == first["tables"]
    # the run's summary still says what the wave's assets said when they ran
    assert "cells suppressed by the publication gate" in unchanged["stderr"]


def test_a_template_edit_reruns_only_the_report(history):
    _, steps, groups = history
    edited = steps["template"]
    assert edited["ran"] == {"assessment_report"}, sorted(edited["ran"])
    assert f"skipped {len(groups) - 1} of {len(groups)} assets" in edited["stderr"]
    assert b"Template edited for this test." in edited["site"]["methods.html"]
    # Dagster, from the same versions: the report was stale, and after the run nothing is
    assert steps["template-stale"] == {"assessment_report"} and edited["stale"] == set()
    assert edited["tables"] == edited["full"]["tables"]
    assert edited["site"] == edited["full"]["site"]


def test_an_indicator_label_edit_reruns_the_estimates_and_below_only(history):
    _, steps, groups = history
    edited = steps["label"]
    assert {"headline_indicators", "published_indicators", "assessment_report"} <= edited["ran"]
    upstream = {k for k, g in groups.items() if g in ("ingest", "quality", "prevalence")}
    assert upstream and not edited["ran"] & upstream, sorted(edited["ran"] & upstream)
    assert "Officers who said they are male" in "\n".join(edited["tables"]["published_indicators"])
    assert edited["tables"] == edited["full"]["tables"]
    assert edited["site"] == edited["full"]["site"]


def test_a_changed_export_reruns_everything_below_the_wave_folder(history):
    _, steps, groups = history
    changed = steps["export"]
    assert changed["ran"] == set(groups)
    assert "survey_exports (input)" in changed["stderr"], changed["stderr"][-2000:]
    assert changed["tables"] == changed["full"]["tables"]
    assert changed["site"] == changed["full"]["site"]
    assert changed["tables"]["officer_responses"] != steps["label"]["tables"]["officer_responses"]


def test_a_blocking_check_that_failed_stops_the_next_run_too(tmp_path):
    """The quality checks stopped a run: the next run of the same data runs them again (their assets'
    tables were written, with the versions of now, but their run did not succeed) and stops again,
    rather than estimating and publishing from the rows they held back."""
    from tests.e2e import failure_scenarios

    [scenario] = [s for s in failure_scenarios.SCENARIOS if s.name == "checks-2"]
    data = failure_scenarios.prepare(scenario, REPO_ROOT / "data" / "demo" / "incoming" / WAVE, tmp_path)
    args = [sys.executable, "-m", "pipelines.cli", "run", "--wave", WAVE, "--data", str(data),
            "--warehouse", str(tmp_path / "htna.duckdb"), "--output", str(tmp_path / "site")]
    for attempt in range(2):
        proc = subprocess.run(args, cwd=REPO_ROOT, env=cli_env(tmp_path / "dagster"), capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 1, (attempt, proc.stderr[-3000:])
        assert "blocking check(s) failed" in proc.stderr, (attempt, proc.stderr[-3000:])
    assert "accepted_officer_responses (its checks did not pass in run" in proc.stderr
    assert not (tmp_path / "site" / WAVE / "index.html").exists()


def test_a_wave_run_again_after_another_redoes_its_trends_only(tmp_path):
    """Wave 2015, then 2016, then 2015 again: the third run redoes what reads every wave (trends, the
    indicators' history, the changes and the site), not the rest, and ends where three full runs end."""
    data = REPO_ROOT / "data" / "demo"

    def run(name: str, wave: str, *extra: str) -> subprocess.CompletedProcess:
        args = [sys.executable, "-m", "pipelines.cli", "run", "--wave", wave, "--data", str(data),
                "--warehouse", str(tmp_path / name / "htna.duckdb"), "--output", str(tmp_path / name / "site"), *extra]
        proc = subprocess.run(args, cwd=REPO_ROOT, env=cli_env(tmp_path / name / "dagster"), capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    for wave in ("2015", "2016", "2015"):
        run("live", wave)
        run("full", wave, "--full")
    _, ran = _materialized(tmp_path / "live" / "dagster")
    assert ran == {"indicator_trends", "published_indicator_history", "published_changes", "assessment_report"}, ran
    assert dump(tmp_path / "live" / "htna.duckdb") == dump(tmp_path / "full" / "htna.duckdb")
    for wave in ("2015", "2016"):
        assert site_files(tmp_path / "live" / "site" / wave) == site_files(tmp_path / "full" / "site" / wave)
