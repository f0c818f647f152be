"""Owner-only everywhere, whatever the umask; never writable by others; refused when it is.

A wave run under umask 000 (where files come out 666 and folders 777) must leave the warehouse, its
write-ahead log, the raw archive and the Dagster home (run history, compute logs, dagster.yaml) the
owner's only, and the published site readable as configured but writable by its owner alone. A run
whose Dagster home, dagster.yaml, warehouse folder, build or report folder others may write is
refused before it starts, with a message naming the folder and the fix.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.config import REPO_ROOT
from pipelines.permissions import SITE_MODES, apply_site_modes
from tests.conftest import cli_env

pytestmark = pytest.mark.slow
DEMO = REPO_ROOT / "data" / "demo"


def _run(args: list[str], home: Path, umask: int = 0o000) -> subprocess.CompletedProcess:
    env = cli_env(home)
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=900, preexec_fn=lambda: os.umask(umask))


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(scope="module")
def wide_open(tmp_path_factory) -> Path:
    """Wave 2015 run with umask 000 (and a Dagster home the CLI makes itself)."""
    root = tmp_path_factory.mktemp("umask")
    os.chmod(root, 0o755)
    home = root / "dagster"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTNA_")}
    env["DAGSTER_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(DEMO),
                           "--warehouse", str(root / "private" / "htna.duckdb"), "--output", str(root / "site")],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
                          preexec_fn=lambda: os.umask(0))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


def test_private_files_are_the_owners_only_under_umask_000(wide_open: Path) -> None:
    private = [wide_open / "private", wide_open / "dagster"]
    seen = 0
    for top in private:
        for p in [top, *top.rglob("*")]:
            mode = _mode(p)
            assert not mode & 0o077, f"{p} is {mode:o}"
            seen += 1
    assert (wide_open / "private" / "htna.duckdb").exists() and (wide_open / "private" / "raw_archive").is_dir()
    assert (wide_open / "dagster" / "dagster.yaml").exists() and seen > 10
    archived = [p for p in (wide_open / "private" / "raw_archive").rglob("*") if p.is_file() and p.suffix == ".csv"]
    assert archived and all(_mode(p) == 0o400 for p in archived)  # the exports as received: read-only


def test_the_site_is_readable_as_configured_and_writable_by_its_owner_only(wide_open: Path) -> None:
    site = wide_open / "site"
    folder_mode, file_mode = SITE_MODES["everyone"]
    for p in [site, *site.rglob("*")]:
        assert _mode(p) == (folder_mode if p.is_dir() else file_mode) or p.name == ".htna-output", p
        assert not _mode(p) & 0o022, p


def test_site_modes_follow_readable_by(tmp_path: Path) -> None:
    for who, (folder_mode, file_mode) in SITE_MODES.items():
        site = tmp_path / who
        (site / "static").mkdir(parents=True)
        (site / "index.html").write_text("x")
        (site / "static" / "site.css").write_text("x")
        os.chmod(site / "index.html", 0o666)
        apply_site_modes(site, who)
        assert _mode(site) == _mode(site / "static") == folder_mode
        assert _mode(site / "index.html") == _mode(site / "static" / "site.css") == file_mode


def test_a_write_ahead_log_left_readable_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    code = ("import duckdb\ncon = duckdb.connect(%r)\ncon.execute('PRAGMA disable_checkpoint_on_shutdown')\n"
            "con.execute('CREATE TABLE t AS SELECT 1 AS x')\nimport os\nos._exit(0)\n" % str(db))
    subprocess.run([sys.executable, "-c", code], check=True, preexec_fn=lambda: os.umask(0))
    wal = Path(f"{db}.wal")
    assert wal.exists() and _mode(wal) & 0o044  # a crashed writer's log, readable by all
    with warehouse.connect(db) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert not _mode(wal) & 0o077 and not _mode(db) & 0o077


@pytest.mark.parametrize("place", ["dagster home", "dagster.yaml", "warehouse folder", "report folder"])
def test_a_run_refuses_places_others_may_write(place: str, tmp_path: Path) -> None:
    home, wh, out = tmp_path / "dagster", tmp_path / "private" / "htna.duckdb", tmp_path / "site"
    for folder in (home, wh.parent, out):
        folder.mkdir(parents=True)
        os.chmod(folder, 0o700)
    env_home = home
    cli_env(home)  # writes dagster.yaml as the CLI would
    target = {"dagster home": home, "dagster.yaml": home / "dagster.yaml", "warehouse folder": wh.parent,
              "report folder": out}[place]
    os.chmod(target, 0o777 if target.is_dir() else 0o666)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTNA_")}
    env["DAGSTER_HOME"] = str(env_home)
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--wave", "2015", "--data", str(DEMO),
                           "--warehouse", str(wh), "--output", str(out)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert str(target) in proc.stderr and "chmod go-" in proc.stderr and "Traceback" not in proc.stderr
    assert not wh.exists()  # refused before anything was written
    assert not (home / "history").exists()


def test_a_dagster_home_readable_by_others_is_tightened(tmp_path: Path) -> None:
    from pipelines.permissions import check_private

    home = tmp_path / "dagster"
    (home / "history").mkdir(parents=True)
    os.chmod(home, 0o755)
    os.chmod(home / "history", 0o755)
    check_private(home, "the Dagster home")
    check_private(home / "history", "the run history")
    assert _mode(home) == 0o700 and _mode(home / "history") == 0o700
