"""Shared fixtures: the Maine assessment config and one demo wave run end to end in a temp folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.config import REPO_ROOT, Assessment, load_assessment
from pipelines.run_history import instance_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def assessment() -> Assessment:
    return load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")


@dataclass(frozen=True)
class DemoRun:
    data: Path
    warehouse: Path
    output: Path
    index: Path
    stdout: str


def run_cli(args: list[str], dagster_home: Path | None = None) -> tuple[int, str, str]:
    """Run `htna` in a fresh process, as a user would."""
    import subprocess
    import sys

    env = cli_env(dagster_home)
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def cli_env(dagster_home: Path | None = None) -> dict[str, str]:
    """The user's environment without HTNA_* overrides; Dagster's instance in a test folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTNA_")}
    env["DAGSTER_HOME"] = str(dagster_home or _TEST_DAGSTER_HOME)
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(instance_config(Path(env["DAGSTER_HOME"])))  # as the CLI
    return env


_TEST_DAGSTER_HOME = Path(os.environ.get("PYTEST_DAGSTER_HOME", "/tmp")) / f"htna-test-dagster-{os.getpid()}"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Synthesise wave 2015 with the default seed, then run the whole pipeline on it via the CLI."""
    root = tmp_path_factory.mktemp("demo")
    data = root / "data"
    code, out, err = run_cli(["synth", "--wave", "2015", "--out", str(data / "incoming" / "2015")])
    assert code == 0, err
    wh, output = root / "htna.duckdb", root / "site"
    code, out, err = run_cli(["run", "--wave", "2015", "--data", str(data), "--warehouse", str(wh),
                              "--output", str(output)])
    assert code == 0, err
    index = output / "2015" / "index.html"
    assert f"Report written: {index}" in out
    return DemoRun(data, wh, output, index, out)


@pytest.fixture(scope="session")
def two_waves(tmp_path_factory: pytest.TempPathFactory, demo_run: DemoRun) -> DemoRun:
    """The bundled demo waves 2015 and 2016 in one warehouse, so the 2016 site has a previous wave:
    trends, changes and recommendation directions. Wave 2015 is demo_run's (synthesised with the
    default seed: the same bytes as the bundled data/demo wave, checked here), copied rather than
    run again; wave 2016 is run into the copy."""
    root = tmp_path_factory.mktemp("two-waves")
    data = REPO_ROOT / "data" / "demo"
    for name in ("officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv"):
        assert (demo_run.data / "incoming" / "2015" / name).read_bytes() == \
            (data / "incoming" / "2015" / name).read_bytes()
    wh, output = root / "htna.duckdb", root / "site"
    for suffix in ("", ".wal"):
        if Path(f"{demo_run.warehouse}{suffix}").exists():
            shutil.copy2(f"{demo_run.warehouse}{suffix}", f"{wh}{suffix}")
    code, out, err = run_cli(["run", "--wave", "2016", "--data", str(data), "--warehouse", str(wh),
                              "--output", str(output)])
    assert code == 0, err
    return DemoRun(data, wh, output, output / "2016" / "index.html", out)


def wave_instance(waves: tuple[str, ...] = ("2015", "2016", "2017")):
    """An ephemeral Dagster instance that knows the waves (partitions are kept in the instance)."""
    import dagster as dg

    from pipelines.partitions import register_waves

    instance = dg.DagsterInstance.ephemeral()
    register_waves(instance, waves)
    return instance
