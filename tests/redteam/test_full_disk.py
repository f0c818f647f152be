"""A full disk ends in one message saying so, never an internal error with a raw OSError.

Each run puts one of the places htna writes (the warehouse with its archive, the Dagster home, the
report folder) on a tiny tmpfs of its own, mounted in a private mount namespace (``unshare``: as
root, or as a user where user namespaces are allowed), so the disk really fills.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import REPO_ROOT
from tests.conftest import cli_env

pytestmark = pytest.mark.slow
DEMO = REPO_ROOT / "data" / "demo"


def _unshare() -> list[str]:
    base = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    probe = subprocess.run([*base, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || "
                            "mount -t tmpfs -o size=64k tmpfs \"$TMPDIR\""], capture_output=True,
                           env={**os.environ, "TMPDIR": "/tmp"}) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root or user namespaces)")
    return base


@pytest.mark.parametrize("full, size", [("warehouse", "120k"), ("dagster", "150k"), ("site", "1m")])
def test_a_full_disk_is_reported_as_such(full: str, size: str, tmp_path: Path) -> None:
    base = _unshare()
    places = {name: tmp_path / name for name in ("warehouse", "dagster", "site")}
    for p in places.values():
        p.mkdir()
    env = cli_env(places["dagster"] / "home")
    run = [sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(DEMO),
           "--warehouse", str(places["warehouse"] / "htna.duckdb"), "--output", str(places["site"] / "report")]
    script = (f"mount -t tmpfs -o size={size},mode=0700 tmpfs {shlex.quote(str(places[full]))} && "
              f"mkdir -p {shlex.quote(env['DAGSTER_HOME'])} && exec {shlex.join(run)}")
    proc = subprocess.run([*base, "sh", "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "the disk is full" in proc.stderr, proc.stderr[-3000:]
    assert "free some space" in proc.stderr
    for bad in ("Traceback", "internal error", "OSError", "IOException", "Errno"):
        assert bad not in proc.stderr, proc.stderr[-3000:]
