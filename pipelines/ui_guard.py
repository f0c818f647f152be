"""``htna ui``: Dagster's UI for the analyst's own machine, behind a guard against cross-site requests.

Dagster's development server has no protection against cross-site request forgery (its authors say
``dagster dev`` is not for production) and answers any ``Host``: a web page the analyst visits could
launch runs (``GET /graphql?query=mutation{launchRun(...)}``) or, by DNS rebinding, read the run
history. ``htna ui`` therefore runs ``dagster dev`` (its daemon, code server and webserver, as
Dagster starts them) with the webserver's ASGI app wrapped in :class:`LocalGuard`, which refuses

* a request whose ``Host`` is not the address the UI is bound to (DNS rebinding);
* a request carrying a foreign ``Origin`` (a page of another site reading or writing);
* a change (any method but GET, HEAD and OPTIONS, and every WebSocket) without a same-origin
  ``Origin`` header (browsers send one with each; a forged form or a script elsewhere cannot);
* a GraphQL mutation sent by GET (which a link or an image could trigger).

The UI binds to the loopback interface only: it is for the analyst's machine, never a shared server.

``python -m pipelines.ui_guard dev -w workspace.yaml --host H --port P`` is ``dagster dev`` with the
guarded webserver; ``python -m pipelines.ui_guard webserver ...`` is that webserver (what ``dev``
starts in place of ``python -m dagster_webserver``).
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.1``, ``::1``)."""
    if host.strip("[]").casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values a request to the UI may carry: the bound address and port (and, for the
    loopback interface, its other names)."""
    names = {host.strip("[]").casefold()}
    if is_loopback(host):
        names |= {"localhost", "127.0.0.1", "::1"}
    return frozenset(f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names)


def graphql_get_changes(query_string: bytes) -> bool:
    """True when a GET's query string holds a GraphQL operation that is not a plain query (a mutation
    or subscription), or one that cannot be parsed (never let through unread)."""
    from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

    documents = parse_qs(query_string.decode("latin-1"), keep_blank_values=True).get("query", [])
    for text in documents:
        try:
            document = parse(text)
        except (GraphQLError, RecursionError, ValueError):
            return True
        for d in document.definitions:
            if isinstance(d, OperationDefinitionNode) and d.operation != OperationType.QUERY:
                return True
    return False


class LocalGuard:
    """ASGI middleware refusing cross-site requests to a UI bound to ``host:port`` (see the module)."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.app = app
        self.hosts = allowed_hosts(host, port)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)

    def refusal(self, scope: Scope) -> str | None:
        """Why the request is refused, or None."""
        headers: dict[str, str] = {}
        for k, v in scope.get("headers") or []:
            name = k.decode("latin-1").casefold()
            if name in headers and name in ("host", "origin"):
                return f"two {name} headers"
            headers[name] = v.decode("latin-1")
        if headers.get("host", "").strip().casefold() not in self.hosts:
            return "this UI answers only requests addressed to it on this machine (Host)"
        origin = headers.get("origin")
        if origin is not None and origin.strip().casefold() not in self.origins:
            return "cross-site request refused (Origin is another site)"
        if scope["type"] == "websocket":
            return None if origin is not None else "a WebSocket needs a same-origin Origin header"
        method = scope.get("method", "GET").upper()
        if method not in SAFE_METHODS:
            return None if origin is not None else "a change needs a same-origin Origin header"
        if scope.get("path", "").rstrip("/").endswith("/graphql") and graphql_get_changes(scope.get("query_string", b"")):
            return "a GraphQL mutation must be sent by POST from the UI itself, never by GET"
        return None

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        body = f"403 Forbidden: {reason}\n".encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _option(argv: list[str], name: str) -> str | None:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def run_webserver(argv: list[str]) -> None:
    """Dagster's webserver (``dagster_webserver``'s own command line), its app wrapped in the guard."""
    import dagster_webserver.cli as webserver

    host, port = _option(argv, "--host") or "127.0.0.1", _option(argv, "--port")
    if port is None or not is_loopback(host):
        sys.exit("htna ui: the guarded webserver needs --port and a loopback --host")
    make_app = webserver.create_app_from_workspace_process_context

    def guarded_app(*args: Any, **kwargs: Any):
        return LocalGuard(make_app(*args, **kwargs), host, int(port))

    webserver.create_app_from_workspace_process_context = guarded_app
    sys.argv = ["dagster-webserver", *argv]
    webserver.main()


def run_dev(argv: list[str]) -> None:
    """``dagster dev``, starting this module's guarded webserver where it would start Dagster's."""
    import dagster._cli.dev as dev

    launch = dev.open_ipc_subprocess

    def open_process(parts: list[str], **kwargs: Any):
        parts = list(parts)
        if parts[1:3] == ["-m", "dagster_webserver"]:
            parts[1:3] = ["-m", "pipelines.ui_guard", "webserver"]
        return launch(parts, **kwargs)

    dev.open_ipc_subprocess = open_process
    dev.dev_command.main(args=argv, prog_name="htna ui", standalone_mode=True)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("dev", "webserver"):
        sys.exit("usage: python -m pipelines.ui_guard dev|webserver [options]")
    (run_dev if argv[0] == "dev" else run_webserver)(argv[1:])


if __name__ == "__main__":
    main()
