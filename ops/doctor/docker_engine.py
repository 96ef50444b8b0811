"""A tiny Docker Engine API client: the two questions the doctor asks, over http.client.

No Docker SDK: the Engine API is plain HTTP on a Unix socket (or TCP), and the doctor only
needs "are you there?" (`GET /_ping`) and "which running container publishes which host
port?" (`GET /containers/json`). Errors are turned into one `DockerEngineError` whose
message says what went wrong in words a learner recognises.
"""

from __future__ import annotations

import errno
import http.client
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 3.0
# Where Docker engines other than the system one listen; checked only to suggest a fix.
ALTERNATIVE_SOCKETS = (
    "~/.docker/desktop/docker.sock",  # Docker Desktop (Linux and macOS)
    "~/.docker/run/docker.sock",  # Docker Desktop (macOS)
    "~/.colima/default/docker.sock",  # Colima
    "~/.rd/docker.sock",  # Rancher Desktop
    "$XDG_RUNTIME_DIR/docker.sock",  # rootless Docker
)


class DockerEngineError(Exception):
    """The engine could not be asked; `reason` is one of missing, refused, denied, timeout, bad."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class DockerEndpoint:
    """Where the engine is: a Unix socket path, or host and port for tcp://."""

    url: str
    unix_path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def resolve(cls, env: Mapping[str, str], default_socket: str) -> DockerEndpoint:
        """DOCKER_HOST when set (as the Terraform docker provider does), else the configured socket."""
        docker_host = (env.get("DOCKER_HOST") or "").strip()
        if not docker_host:
            return cls(url=f"unix://{default_socket}", unix_path=default_socket)
        if docker_host.startswith("unix://"):
            return cls(url=docker_host, unix_path=docker_host.removeprefix("unix://"))
        if docker_host.startswith("tcp://") and (env.get("DOCKER_TLS_VERIFY") or "").strip() not in ("", "0"):
            raise DockerEngineError(
                "unsupported",
                f"DOCKER_HOST={docker_host!r} uses TLS (DOCKER_TLS_VERIFY), which the doctor cannot check",
            )
        if docker_host.startswith("tcp://"):
            address = docker_host.removeprefix("tcp://").rstrip("/")
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise DockerEngineError("bad", f"DOCKER_HOST={docker_host!r} is not tcp://HOST:PORT")
            return cls(url=docker_host, host=host.strip("[]"), port=int(port))
        raise DockerEngineError(
            "unsupported",
            f"DOCKER_HOST={docker_host!r} uses a scheme the doctor cannot check (only unix:// and tcp://)",
        )


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerEngine:
    def __init__(self, endpoint: DockerEndpoint, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self.endpoint.unix_path is not None:
            return _UnixHTTPConnection(self.endpoint.unix_path, self.timeout)
        assert self.endpoint.host is not None and self.endpoint.port is not None
        return http.client.HTTPConnection(self.endpoint.host, self.endpoint.port, timeout=self.timeout)

    def _get(self, path: str) -> tuple[int, str | None, bytes]:
        where = self.endpoint.url
        if self.endpoint.unix_path is not None and not Path(self.endpoint.unix_path).exists():
            raise DockerEngineError("missing", f"no Docker socket at {self.endpoint.unix_path}")
        connection = self._connection()
        try:
            connection.request("GET", path, headers={"Accept": "application/json"})
            response = connection.getresponse()
            return response.status, response.getheader("Api-Version"), response.read()
        except PermissionError:
            raise DockerEngineError("denied", f"permission denied on {where}") from None
        except (ConnectionRefusedError, FileNotFoundError):
            raise DockerEngineError("refused", f"connection refused on {where}") from None
        except TimeoutError:
            raise DockerEngineError("timeout", f"{where} did not answer within {self.timeout:g}s") from None
        except OSError as error:
            if error.errno == errno.EACCES:
                raise DockerEngineError("denied", f"permission denied on {where}") from None
            raise DockerEngineError("refused", f"cannot connect to {where}: {error.strerror or error}") from None
        except http.client.HTTPException as error:
            raise DockerEngineError("bad", f"{where} did not answer as a Docker engine ({error!r})") from None
        finally:
            connection.close()

    def ping(self) -> str | None:
        """`GET /_ping` must answer 200 OK; returns the engine's API version header, if sent."""
        status, api_version, body = self._get("/_ping")
        if status != 200 or body.strip() != b"OK":
            raise DockerEngineError(
                "bad", f"{self.endpoint.url} answered /_ping with {status} {body[:60]!r}, not a healthy Docker engine"
            )
        return api_version

    def published_ports(self) -> dict[int, list[str]]:
        """Host TCP port -> names of the running containers publishing it."""
        status, _, body = self._get("/containers/json")
        if status != 200:
            raise DockerEngineError("bad", f"{self.endpoint.url} answered /containers/json with {status}")
        try:
            containers: list[dict[str, Any]] = json.loads(body)
        except ValueError:
            raise DockerEngineError("bad", f"{self.endpoint.url} sent a container list that is not JSON") from None
        owners: dict[int, list[str]] = {}
        for container in containers:
            names = [str(name).lstrip("/") for name in container.get("Names") or []]
            name = names[0] if names else str(container.get("Id", "?"))[:12]
            for port in container.get("Ports") or []:
                public = port.get("PublicPort")
                if public and port.get("Type", "tcp") == "tcp":
                    holders = owners.setdefault(int(public), [])
                    if name not in holders:
                        holders.append(name)
        return owners


def other_sockets(env: Mapping[str, str], exclude: str | None) -> list[str]:
    """Docker sockets that exist on this machine besides the one we were told to use."""
    found: list[str] = []
    home = env.get("HOME") or str(Path.home())
    runtime = env.get("XDG_RUNTIME_DIR") or ""
    for pattern in ALTERNATIVE_SOCKETS:
        if pattern.startswith("$XDG_RUNTIME_DIR"):
            if not runtime:
                continue
            candidate = pattern.replace("$XDG_RUNTIME_DIR", runtime)
        else:
            candidate = pattern.replace("~", home, 1)
        if candidate != exclude and Path(candidate).is_socket():
            found.append(candidate)
    return found
