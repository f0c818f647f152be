"""Several waves: concurrent runs never clash on DuckDB's lock nor mix rows; the UI shows everything."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import duckdb
import pytest

from pipelines.config import REPO_ROOT
from tests.conftest import cli_env, run_cli


def dump(path):
    """Every table's rows, sorted, as comparable text."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'assessment' ORDER BY 1").fetchall()]
        return {t: sorted(map(repr, con.execute(f"SELECT * EXCLUDE (wave), wave FROM assessment.{t}").fetchall()))
                for t in tables}


def start_runs(waves, warehouse, output, home):
    env = cli_env(home)
    # create the Dagster instance's storage once, so two first runs do not both migrate it
    subprocess.run([sys.executable, "-c", "import dagster; dagster.DagsterInstance.get().dispose()"],
                   env=env, check=True, capture_output=True)
    return [subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--wave", w, "--warehouse", str(warehouse),
                              "--output", str(output)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for w in waves]


def finish(procs):
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err


def test_concurrent_waves_equal_sequential_waves(tmp_path):
    home = tmp_path / "dagster"
    finish(start_runs(["2015", "2016"], tmp_path / "concurrent.duckdb", tmp_path / "site_c", home))
    for w in ["2015", "2016"]:
        code, _, err = run_cli(["run", "--wave", w, "--warehouse", str(tmp_path / "sequential.duckdb"),
                                "--output", str(tmp_path / "site_s")], dagster_home=home)
        assert code == 0, err
    concurrent, sequential = dump(tmp_path / "concurrent.duckdb"), dump(tmp_path / "sequential.duckdb")
    # a wave's trends, its published history and the changes drawn from them read the earlier waves
    # present when it ran: after one concurrent round 2016 may not have seen 2015 yet; every other
    # table is already identical
    across_waves = {"indicator_trends", "published_indicator_history", "published_changes"}
    assert {t: r for t, r in concurrent.items() if t not in across_waves} == \
        {t: r for t, r in sequential.items() if t not in across_waves}
    assert {r.split(", ")[-1] for r in concurrent["officer_responses"]} == {"'2015')", "'2016')"}
    # and again, concurrently, over the same file: still the same contents
    finish(start_runs(["2016", "2015"], tmp_path / "concurrent.duckdb", tmp_path / "site_c", home))
    assert dump(tmp_path / "concurrent.duckdb") == sequential


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port, query):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["data"]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    port = free_port()
    env = cli_env(tmp_path_factory.mktemp("dagster-ui"))
    proc = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 180
        while True:
            try:
                data = graphql(port, "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }")
                if data["repositoriesOrError"].get("nodes"):
                    break
            except OSError:
                pass
            assert time.time() < deadline, "the Dagster webserver did not come up"
            time.sleep(1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_ui_shows_every_asset_check_and_the_sensor(webserver):
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    expected_assets = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected_checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    data = graphql(webserver, """{ assetNodes { assetKey { path } description groupName
        assetChecksOrError { ... on AssetChecks { checks { name assetKey { path } } } } } }""")
    nodes = data["assetNodes"]
    assert {"/".join(n["assetKey"]["path"]) for n in nodes} == expected_assets
    assert all(n["description"] for n in nodes)
    shown_checks = {("/".join(c["assetKey"]["path"]), c["name"]) for n in nodes
                    for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    assert shown_checks == expected_checks
    sensors = graphql(webserver, """{ sensorsOrError(repositorySelector: {repositoryName: "__repository__",
        repositoryLocationName: "htna"}) { ... on Sensors { results { name } } } }""")
    assert "incoming_exports" in {s["name"] for s in sensors["sensorsOrError"]["results"]}
