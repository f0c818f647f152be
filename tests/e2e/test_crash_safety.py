"""A run killed part-way (like kill -9) and run again ends exactly as an uninterrupted run.

Kill points: at an asset boundary before its table is written, inside the DuckDB transaction
before commit, and while the report is being swapped in. Earlier waves and their sites are never
damaged, and no half-written table or site is ever visible.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pipelines.config import REPO_ROOT
from tests.conftest import cli_env
from tests.e2e.test_waves import dump

KILL_POINTS = [
    "asset:officer_responses:before-write",
    "warehouse:headline_indicators:before-commit",
    "report:before-swap",
]


def htna_run(wave, warehouse, output, home, crash_at=None):
    env = cli_env(home)
    if crash_at:
        env["HTNA_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--wave", wave, "--warehouse",
                           str(warehouse), "--output", str(output)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def site_files(folder):
    """Every file of a built site; pages with their build time blanked (the one thing that may differ)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.suffix == ".html":
                data = re.sub(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", b"<built>", data)
            out[str(p.relative_to(folder))] = data
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    for wave in ("2016", "2015"):
        assert htna_run(wave, root / "htna.duckdb", root / "site", root / "dagster").returncode == 0
    return dump(root / "htna.duckdb"), root


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_run_then_rerun_equals_uninterrupted(tmp_path, reference, point):
    expected, ref_root = reference
    wh, site, home = tmp_path / "htna.duckdb", tmp_path / "site", tmp_path / "dagster"
    assert htna_run("2016", wh, site, home).returncode == 0
    earlier = dump(wh)
    earlier_site = site_files(site / "2016")
    killed = htna_run("2015", wh, site, home, crash_at=point)
    assert killed.returncode == 137, killed.stderr[-2000:]
    after_kill = dump(wh)
    for table, rows in earlier.items():  # the earlier wave is untouched
        assert [r for r in after_kill[table] if r.endswith("'2016')")] == rows
    assert site_files(site / "2016") == earlier_site
    assert not (site / "2015").exists() or (site / "2015" / "index.html").exists()
    assert htna_run("2015", wh, site, home).returncode == 0
    assert dump(wh) == expected
    assert site_files(site / "2015") == site_files(ref_root / "site" / "2015")
    # no staging folders left behind (the output folder's marker says it is htna's)
    assert not [p for p in site.iterdir() if p.name.startswith(".") and p.name != ".htna-output"]
