"""The output folder is htna's own: publishing never replaces anything htna did not build.

The attack of issue #20: ``htna run --output <data>/incoming`` replaced ``incoming/2015/`` (case lists,
interview matrices, notes) with the site, exit 0. Now it stops with a message before the run, and so
does an output folder holding anything else; a wave folder is replaced only when it carries htna's
marker (or is a site an earlier htna built).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assets.report.output_folder import (
    ROOT_MARKER,
    SITE_MARKER,
    OutputFolderError,
    check_output_folder,
    check_replaceable,
    claim_output_folder,
    is_site,
)
from pipelines.config import REPO_ROOT
from tests.conftest import cli_env

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015"


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _htna(args: list[str], home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO_ROOT, env=cli_env(home),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    shutil.copytree(DEMO, tmp_path / "data" / "incoming" / "2015")
    (tmp_path / "data" / "incoming" / "2015" / "notes.txt").write_text("the coalition's own notes\n")
    return tmp_path / "data"


@pytest.mark.parametrize("output", ["incoming", ".", "incoming/2015"])
def test_output_inside_the_data_folder_is_refused_and_nothing_is_touched(output: str, data: Path,
                                                                         tmp_path: Path) -> None:
    before = _digests(data)
    proc = _htna(["run", "--wave", "2015", "--data", str(data), "--warehouse", str(tmp_path / "wh" / "htna.duckdb"),
                  "--output", str(data / output)], tmp_path / "dagster")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "is inside the data folder" in proc.stderr and "Traceback" not in proc.stderr
    assert _digests(data) == before
    assert not (tmp_path / "wh" / "htna.duckdb").exists()


def test_output_onto_a_folder_that_is_not_htnas_is_refused(data: Path, tmp_path: Path) -> None:
    other = tmp_path / "shared"
    (other / "2015").mkdir(parents=True)
    (other / "2015" / "minutes.docx").write_text("board minutes")
    before = _digests(other)
    proc = _htna(["run", "--wave", "2015", "--data", str(data), "--warehouse", str(tmp_path / "wh" / "htna.duckdb"),
                  "--output", str(other)], tmp_path / "dagster")
    assert proc.returncode == 1 and "is not htna's" in proc.stderr and "2015" in proc.stderr, proc.stderr[-2000:]
    assert _digests(other) == before


def test_output_onto_the_warehouse_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputFolderError, match="warehouse's folder"):
        check_output_folder(tmp_path / "wh", tmp_path / "data", tmp_path / "wh" / "htna.duckdb")


def test_a_wave_folder_is_replaced_only_if_htna_built_it(tmp_path: Path) -> None:
    out = claim_output_folder(tmp_path / "site")
    assert (out / ROOT_MARKER).is_file()
    (out / "2015").mkdir()
    (out / "2015" / "index.html").write_text("someone's page")
    with pytest.raises(OutputFolderError, match="not a site htna built"):
        check_replaceable(out / "2015")
    (out / "2015" / SITE_MARKER).write_text("")
    check_replaceable(out / "2015")  # marked: htna's
    os.symlink(tmp_path, out / "2016")
    with pytest.raises(OutputFolderError):
        check_replaceable(out / "2016")  # a link is never followed into


def test_a_site_built_before_the_markers_is_adopted_but_nothing_else(tmp_path: Path) -> None:
    old = tmp_path / "report"
    (old / "2015" / "static").mkdir(parents=True)
    for name in ("index.html", "methods.html", "indicators.csv", "needs-assessment-tables.xlsx"):
        (old / "2015" / name).write_text("x")
    (old / "2015" / "static" / "site.css").write_text("x")
    assert is_site(old / "2015")
    check_output_folder(old)  # an earlier build's folder: adopted (and marked when first written)
    (old / "2015" / "case_lists.csv").write_text("list,first_name\n")
    assert not is_site(old / "2015")
    with pytest.raises(OutputFolderError):
        check_output_folder(old)


def test_a_run_marks_its_output_and_replaces_its_own_site(tmp_path: Path) -> None:
    """(End to end in tests/redteam/test_permissions.py: the run there builds into a new folder.)"""
    out = claim_output_folder(tmp_path / "new")
    assert sorted(p.name for p in out.iterdir()) == [ROOT_MARKER]
    check_output_folder(out, tmp_path / "data")
