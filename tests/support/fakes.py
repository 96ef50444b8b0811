"""Fakes at the boundaries the doctor and the deploy wrappers talk to.

Each is the real protocol on a real socket or a real executable on PATH, so the code under
test runs unchanged: a Docker engine on a Unix socket (`/_ping`, `/containers/json`), a
Kestra answering every path alike on a loopback port (fake_kestra), a Kestra API speaking the
endpoints `make pull-flows`, `make smoke` and the deploy's health check use, logins checked as
Kestra 1.3's AuthenticationFilter checks them (FakeKestraState), and small command-line tools.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import re
import shutil
import socket
import socketserver
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from stacks.versions import KESTRA_VERSION


@contextmanager
def served(server: socketserver.BaseServer) -> Iterator[None]:
    """`server` answering on a thread for the block's duration, then shut down and closed."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port) pair


@contextmanager
def short_tmp_dir() -> Iterator[Path]:
    """Unix socket paths must stay under ~100 bytes; pytest's tmp_path can be longer."""
    path = Path(tempfile.mkdtemp(prefix="zc", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


Response = tuple[int, bytes, dict[str, str]]


@contextmanager
def unix_http_server(socket_path: Path, respond: Callable[[str], Response]) -> Iterator[list[str]]:
    """An HTTP server on a Unix socket; `respond(path)` gives (status, body, headers).

    Yields the list of request paths it received, so a test can prove it was asked.
    """
    requests: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self._send(*respond(self.path))

    server = _UnixHTTPServer(str(socket_path), Handler)
    with served(server):
        yield requests


def fake_docker_engine(
    socket_path: Path, containers: list[dict[str, Any]] | None = None
) -> AbstractContextManager[list[str]]:
    """A Docker engine on `socket_path`: /_ping answers OK, /containers/json the given list."""
    listing = json.dumps(containers or []).encode()

    def respond(path: str) -> Response:
        if path == "/_ping":
            return 200, b"OK", {"Api-Version": "1.47", "Content-Type": "text/plain"}
        if path.startswith("/containers/json"):
            return 200, listing, {"Content-Type": "application/json"}
        return 404, b'{"message":"page not found"}', {}

    return unix_http_server(socket_path, respond)


def container(name: str, *host_ports: int) -> dict[str, Any]:
    """A /containers/json entry as the Engine API returns it."""
    return {
        "Id": name.encode().hex().ljust(64, "0"),
        "Names": [f"/{name}"],
        "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"} for port in host_ports],
    }


@contextmanager
def fake_kestra(answers: Callable[[str | None], tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, list[str]]]:
    """A server on a free loopback port; `answers(basic_auth_password)` gives (status, JSON body) for
    every path alike (a Kestra that is starting, or down: no open paths; FakeKestraState has those).

    Yields (port, paths requested).
    """
    paths: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            password = None
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                password = base64.b64decode(header[6:]).decode().split(":", 1)[1]
            status, body = answers(password)
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with served(server):
        yield server.server_address[1], paths


_BASIC_AUTH_SETUP = re.compile(r"/api/v1(/[^/]+)?/basicAuth")


def kestra_login_needed(path: str, login_saved: bool) -> bool:
    """Whether the pinned Kestra's AuthenticationFilter asks this path for the login (docs/kestra-sources.md).

    The filter covers /api/v1/** only. With slashes collapsed, it lets through exactly /api/v1/configs
    (an `endsWith("/configs")` before 1.3.21 let any path ending so through: CVE-2026-49869), and, while no
    login is saved, the setup paths /api/v1[/tenant]/basicAuth and /api/v1/basicAuthValidationErrors.
    (It also opens the open-urls prefixes, by default Kestra's /ping and webhook paths, and management
    endpoints: no call this fake serves is one of them.)
    """
    normalized = re.sub(r"/+", "/", urlsplit(path).path)
    if not normalized.startswith("/api/v1/"):
        return False
    if normalized == "/api/v1/configs":
        return False
    setup = bool(_BASIC_AUTH_SETUP.fullmatch(normalized)) or normalized == "/api/v1/basicAuthValidationErrors"
    return not (setup and not login_saved)


@dataclass
class FakeKestraState:
    """What a fake Kestra API holds, shaped as Kestra 1.x answers (FlowController, KVController,
    ExecutionController, MiscController). Tests change it before and read it after; the server reads
    it live. Logins are checked as AuthenticationFilter does (kestra_login_needed); `login_saved=False`
    is a Kestra whose BasicAuthService did not save the configured pair (it broke the rule): every
    call that needs the login is 401, and the setup paths give Kestra's `validation_errors`.

    A started execution answers RUNNING for `polls` GETs, then `finish(flow_id, inputs)` gives its
    final fields (default: SUCCESS), called once, so a test can load rows into a fake database there.
    """

    username: str = "admin@example.com"
    password: str = "Secret123pass"
    login_saved: bool = True
    validation_errors: list[str] = field(default_factory=list)
    version: str = KESTRA_VERSION
    namespace: str = "zoomcamp"
    flows: dict[str, str] = field(default_factory=dict)  # flow id -> source, in `namespace`
    kv: dict[str, str] = field(default_factory=dict)  # key -> value, in `namespace`
    finish: Callable[[str, dict[str, str]], dict[str, Any]] | None = None
    polls: int = 1
    started: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (flow id, inputs)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def answer(self, method: str, path: str, authorization: str | None, body: bytes, content_type: str) -> Response:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if kestra_login_needed(path, self.login_saved) and (not self.login_saved or authorization != expected):
            return _json(401, {"message": "Unauthorized"})
        url = urlsplit(path)
        parts = [unquote(part) for part in re.sub(r"/+", "/", url.path).strip("/").split("/")]
        query = parse_qs(url.query)
        if method == "GET" and parts == ["api", "v1", "configs"]:
            return _json(200, {"version": self.version, "isBasicAuthInitialized": self.login_saved})
        if method == "GET" and parts == ["api", "v1", "basicAuthValidationErrors"]:
            return _json(200, self.validation_errors)
        if parts[:3] != ["api", "v1", "main"]:
            return _json(404, {"message": "not found"})
        route = parts[3:]
        if method == "GET" and route == ["flows", "search"]:
            asked = query["namespace"][0]
            found = [{"id": i, "namespace": asked} for i in self.flows] if asked == self.namespace else []
            return _json(200, {"results": found, "total": len(found)})
        if method == "GET" and len(route) == 3 and route[0] == "flows":
            if route[1] != self.namespace or route[2] not in self.flows:
                return _json(404, {"message": "not found"})
            flow: dict[str, Any] = {"id": route[2], "namespace": self.namespace, "revision": 2}
            if query.get("source") == ["true"]:
                flow["source"] = self.flows[route[2]]
            return _json(200, flow)
        if method == "GET" and len(route) == 4 and route[0] == "namespaces" and route[2] == "kv":
            if route[1] != self.namespace or route[3] not in self.kv:
                return _json(404, {"message": f"No value found for key '{route[3]}' in namespace '{route[1]}'"})
            return _json(200, {"type": "STRING", "value": self.kv[route[3]]})
        if method == "POST" and len(route) == 3 and route[0] == "executions":
            if route[1] != self.namespace or route[2] not in self.flows:
                return _json(404, {"message": f"Flow not found: {route[1]}.{route[2]}"})
            inputs = _form_fields(body, content_type)
            execution_id = f"7smoke{next(self._numbers)}XyZ"
            self.started.append((route[2], inputs))
            self.executions[execution_id] = {
                "id": execution_id,
                "namespace": self.namespace,
                "flowId": route[2],
                "inputs": inputs,
                "state": {"current": "CREATED"},
                "taskRunList": [],
                "_polls": self.polls,
            }
            return _json(200, _public(self.executions[execution_id]))
        if method == "GET" and len(route) == 2 and route[0] == "executions":
            execution = self.executions.get(route[1])
            if execution is None:
                return _json(404, {"message": "not found"})
            if execution["state"]["current"] in ("CREATED", "RUNNING"):
                if execution["_polls"] > 0:
                    execution["_polls"] -= 1
                    execution["state"] = {"current": "RUNNING"}
                else:
                    final = (self.finish or _success)(execution["flowId"], execution["inputs"])
                    execution.update({"taskRunList": [], **final})
                    if isinstance(execution["state"], str):
                        execution["state"] = {"current": execution["state"]}
            return _json(200, _public(execution))
        return _json(404, {"message": "not found"})


def _json(status: int, body: object) -> Response:
    return status, json.dumps(body).encode(), {"Content-Type": "application/json"}


def _public(execution: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in execution.items() if not key.startswith("_")}


def _success(flow_id: str, inputs: dict[str, str]) -> dict[str, Any]:
    return {"state": "SUCCESS"}


def _form_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a multipart/form-data body, as Kestra reads an execution's inputs."""
    if not body:
        return {}
    assert content_type.startswith("multipart/form-data"), content_type
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_content().strip()
    return fields


@contextmanager
def fake_kestra_api(state: FakeKestraState) -> Iterator[str]:
    """A Kestra API on a free loopback port answering from `state`; yields its URL."""

    class Handler(_QuietHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self._send(
                *state.answer(
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    body,
                    self.headers.get("Content-Type", ""),
                )
            )

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with served(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def listening_port() -> Iterator[int]:
    """A loopback port held by a listening socket for the duration: "another program"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def write_tool(bin_dir: Path, name: str, stdout: str, exit_code: int = 0) -> Path:
    """An executable `name` on a PATH folder that prints `stdout` and exits with `exit_code`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    quoted = stdout.replace("'", "'\\''")
    # printf is a shell builtin: the fake works with a PATH that holds nothing else.
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' '{quoted}'\nexit {exit_code}\n")
    path.chmod(0o755)
    return path


def write_python_tool(bin_dir: Path, name: str, body: str) -> Path:
    """An executable Python script (run by this interpreter) named `name`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path
