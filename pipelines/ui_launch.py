"""Runs launched as a coordinator launches them from the UI: through the webserver's GraphQL API.

Used by ``htna bench`` (a UI-launched run beside a CLI run of the same wave) and by the end-to-end
tests of the shared instance and of one run per wave. :func:`dagster_dev` starts ``dagster dev``
(webserver, daemon and code server) as a user would; :func:`launch_wave` sends the same
``launchRun`` mutation as the UI's "Materialize" of one wave; :func:`wait_for_run` polls the run's
status.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LAUNCH = """mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } ... on InvalidSubsetError { message }
  ... on PipelineNotFoundError { message } ... on UnauthorizedError { message } } }"""

RUN_STATUS = """query Run($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status startTime endTime tags { key value } } } }"""

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
    origin = f"http://127.0.0.1:{port}"  # the UI's own origin (htna ui refuses mutations from others)
    req = urllib.request.Request(f"{origin}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 headers={"Content-Type": "application/json", "Origin": origin})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = json.load(r)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


@contextmanager
def dagster_dev(cwd: Path, env: dict[str, str], command: list[str] | None = None,
                startup_timeout: float = 240) -> Iterator[int]:
    """Start ``dagster dev -w workspace.yaml`` (or ``command`` with ``--port`` added) in ``cwd``; yield its
    port once the code location has loaded; stop it (its whole process group) afterwards."""
    port = free_port()
    command = command or [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml"]
    proc = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + startup_timeout
        while True:
            try:
                data = graphql(port, "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }",
                               timeout=10)
                if data["repositoriesOrError"].get("nodes"):
                    break
            except (OSError, RuntimeError):
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} ended with code {proc.returncode} before the UI came up")
            if time.time() > deadline:
                raise RuntimeError("the Dagster webserver did not come up")
            time.sleep(1)
        yield port
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def launch_wave(port: int, wave: str, job: str = "assessment", location: str = "htna") -> str:
    """Launch one wave's run as the UI does; return its run id."""
    params = {"selector": {"repositoryLocationName": location, "repositoryName": "__repository__", "jobName": job},
              "runConfigData": {}, "mode": "default",
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": wave}]}}
    result = graphql(port, LAUNCH, {"params": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun: {result}")
    return result["run"]["runId"]


def wait_for_run(port: int, run_id: str, timeout: float = 1200) -> dict:
    """Poll until the run has finished; return its status, start and end time (epoch seconds) and tags."""
    deadline = time.time() + timeout
    while True:
        run = graphql(port, RUN_STATUS, {"id": run_id})["runOrError"]
        if run.get("status") in FINISHED:
            return run
        if time.time() > deadline:
            raise RuntimeError(f"run {run_id} did not finish within {timeout:.0f} s (status {run.get('status')})")
        time.sleep(0.5)
