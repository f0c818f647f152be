"""``htna ui`` refuses cross-site requests: tested with real HTTP against a started UI.

The attacks of issue #20: ``GET /graphql?query=mutation{launchRun(...)}`` with a foreign ``Origin``
launched a run; any ``Host`` was answered, so a DNS-rebinding page could read the run history. The
started UI (``htna ui``: dagster dev with the guarded webserver) is attacked over plain HTTP, over a
WebSocket and from a page of another origin in headless Chromium. A state change is observable (the
drop-folder sensor's status), so each refused attack is shown to change nothing, and the same
mutation sent by the UI itself is shown to work.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from pipelines.config import REPO_ROOT
from tests.conftest import CHROMIUM, cli_env

pytestmark = pytest.mark.slow

SENSOR = {"repositoryLocationName": "htna", "repositoryName": "__repository__", "sensorName": "incoming_exports"}
START_SENSOR = ("mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename "
                "... on Sensor { sensorState { status } } } }")
SENSOR_STATUS = "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { sensorState { status } } } }"
LAUNCH = ('mutation{launchRun(executionParams:{selector:{repositoryLocationName:"htna",repositoryName:"__repository__",'
          'jobName:"assessment"},executionMetadata:{tags:[{key:"dagster/partition",value:"2015"}]}}){__typename}}')
RUNS = "{ runsOrError { ... on Runs { results { runId } } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, *, host: str | None = None, origin: str | None = None,
            body: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host or f"127.0.0.1:{port}")
    if origin is not None:
        conn.putheader("Origin", origin)
    data = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        conn.putheader("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    conn.close()
    return response.status, text


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    port = _free_port()
    env = cli_env(root / "dagster")
    log = (root / "ui.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port),
                             "--warehouse", str(root / "private" / "htna.duckdb"), "--output", str(root / "site")],
                            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if request(port, "GET", "/server_info")[0] == 200 and _sensor_status(port) == "STOPPED":
                    break
            except (OSError, http.client.HTTPException, KeyError, TypeError, ValueError):
                pass
            assert proc.poll() is None, (root / "ui.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (root / "ui.log").read_text()[-3000:]
            time.sleep(1)
        yield port, root
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # dagster dev and the daemon, webserver and code servers it started
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def _same_origin(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    status, text = request(port, "POST", "/graphql", origin=_same_origin(port),
                           body={"query": query, "variables": variables or {}})
    assert status == 200, text
    return json.loads(text)["data"]


def _sensor_status(port: int) -> str:
    return _graphql(port, SENSOR_STATUS, {"s": SENSOR})["sensorOrError"]["sensorState"]["status"]


def _runs(port: int) -> list:
    return _graphql(port, RUNS)["runsOrError"]["results"]


def test_the_ui_answers_its_own_requests(ui) -> None:
    port, _ = ui
    assert request(port, "GET", "/server_info")[0] == 200
    assert request(port, "GET", "/server_info", host=f"localhost:{port}")[0] == 200
    assert request(port, "GET", "/")[0] == 200  # the app itself
    assert _graphql(port, "{ version }")["version"]
    status, _ = request(port, "GET", "/graphql?query=" + quote("{ version }"))
    assert status == 200  # a plain query by GET is fine


def test_a_cross_site_get_mutation_changes_nothing(ui) -> None:
    port, _ = ui
    attack = "/graphql?query=" + quote(LAUNCH)
    for origin in ("http://evil.example", None, "null"):
        status, text = request(port, "GET", attack, origin=origin)
        assert status == 403, (origin, text)
    start = "/graphql?query=" + quote(START_SENSOR) + "&variables=" + quote(json.dumps({"s": SENSOR}))
    assert request(port, "GET", start, origin="http://evil.example")[0] == 403
    assert request(port, "GET", start)[0] == 403  # by GET even without an Origin: a link or an image could send it
    assert request(port, "GET", "/graphql?query=" + quote("mutation { x"))[0] == 403  # unreadable: never let through
    assert _runs(port) == [] and _sensor_status(port) == "STOPPED"


def test_a_cross_site_post_changes_nothing(ui) -> None:
    port, _ = ui
    body = {"query": START_SENSOR, "variables": {"s": SENSOR}}
    for origin in ("http://evil.example", f"http://127.0.0.1:{port + 1}", "null", None):
        status, text = request(port, "POST", "/graphql", origin=origin, body=body)
        assert status == 403, (origin, text)
    form = {"Content-Type": "text/plain"}  # what a form on another site can send without asking
    assert request(port, "POST", "/report_asset_materialization/survey_exports", origin="http://evil.example",
                   headers=form)[0] == 403
    assert _sensor_status(port) == "STOPPED" and _runs(port) == []


def test_dns_rebinding_cannot_read_the_run_history(ui) -> None:
    port, _ = ui
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}", f"127.0.0.1:{port + 1}"):
        assert request(port, "GET", "/", host=host)[0] == 403
        assert request(port, "GET", "/graphql?query=" + quote(RUNS), host=host)[0] == 403
        # to the rebound page its own origin is attacker.example: same-origin in its eyes, not in the guard's
        assert request(port, "POST", "/graphql", host=host, origin=f"http://{host}", body={"query": RUNS})[0] == 403


def _websocket(port: int, origin: str | None) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /graphql HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: graphql-ws"]
        if origin:
            lines.append(f"Origin: {origin}")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).decode("latin-1").split("\r\n")[0]


def test_a_websocket_from_another_site_is_refused(ui) -> None:
    port, _ = ui
    assert " 101 " in _websocket(port, _same_origin(port))  # the UI's own live updates
    assert " 403 " in _websocket(port, "http://evil.example")
    assert " 403 " in _websocket(port, None)


def test_the_ui_itself_may_change_things(ui) -> None:
    """The control: the refused mutation, sent by the UI's own page (same origin, POST), works."""
    port, _ = ui
    started = _graphql(port, START_SENSOR, {"s": SENSOR})["startSensor"]
    assert started["sensorState"]["status"] == "RUNNING"
    assert _sensor_status(port) == "RUNNING"
    sensor_id = _graphql(port, "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { id } } }",
                         {"s": SENSOR})["sensorOrError"]["id"]
    stopped = _graphql(port, "mutation($id: String) { stopSensor(id: $id) { __typename } }", {"id": sensor_id})
    assert stopped["stopSensor"]["__typename"] == "StopSensorMutationResult"
    assert _sensor_status(port) == "STOPPED"


class _AttackerPage(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        body = f"""<!doctype html><html><body>
<img src="{self.target}/graphql?query={quote(LAUNCH)}">
<form id="f" method="POST" action="{self.target}/graphql" enctype="text/plain">
<input name='{{"query":"{START_SENSOR.replace('"', '&quot;')}","variables":{{"s":{json.dumps(SENSOR).replace('"', '&quot;')}}},"x":"' value='"}}'>
</form>
<script>
fetch("{self.target}/graphql?query={quote(LAUNCH)}", {{mode: "no-cors"}}).catch(() => {{}});
fetch("{self.target}/graphql", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{query: {json.dumps(START_SENSOR)}, variables: {{s: {json.dumps(SENSOR)}}}}})}}).catch(() => {{}});
fetch("{self.target}/graphql", {{method: "POST", headers: {{"Content-Type": "application/json"}},
  body: JSON.stringify({{query: {json.dumps(RUNS)}}})}}).then(r => r.text()).then(t => document.title = "READ " + t)
  .catch(() => {{ document.title = "blocked"; }});
setTimeout(() => document.getElementById("f").submit(), 500);
</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_a_page_of_another_site_in_a_browser_changes_nothing_and_the_ui_still_works(ui) -> None:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run `make setup-browser` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    port, _ = ui
    _AttackerPage.target = _same_origin(port)
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            refused: list[int] = []
            page.on("response", lambda r: refused.append(r.status) if r.status == 403 else None)
            page.goto(f"http://127.0.0.1:{attacker.server_port}/", wait_until="load")
            page.wait_for_timeout(3000)
            assert "READ" not in page.title()  # the run history was not read
            assert refused  # the guard saw the attacks
            assert _sensor_status(port) == "STOPPED" and _runs(port) == []
            ui_page = browser.new_page()
            blocked: list[str] = []
            ui_page.on("response", lambda r: blocked.append(r.url) if r.status == 403 else None)
            ui_page.goto(f"http://127.0.0.1:{port}/jobs", wait_until="networkidle")
            ui_page.wait_for_function("document.body.innerText.includes('assessment')", timeout=60_000)
            assert not blocked, blocked  # the UI's own requests (POSTs, its WebSocket) all pass
            browser.close()
    finally:
        attacker.shutdown()


def test_the_ui_is_for_this_machine_only(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "ui", "--host", "0.0.0.0"], cwd=REPO_ROOT,
                          env=cli_env(tmp_path / "dagster"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "for this machine only" in proc.stderr and "SSH tunnel" in proc.stderr
