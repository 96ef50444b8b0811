"""Fakes at the boundaries the doctor and the deploy wrappers talk to.

Each is the real protocol on a real socket or a real executable on PATH, so the code under
test runs unchanged: a Docker engine on a Unix socket (`/_ping`, `/containers/json`), a
Kestra answering `/api/v1/configs` on a loopback port, and small command-line tools.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import socketserver
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


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
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield requests
    finally:
        server.shutdown()
        server.server_close()


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
    """A Kestra on a free loopback port; `answers(basic_auth_password)` gives (status, JSON body).

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
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], paths
    finally:
        server.shutdown()
        server.server_close()


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
