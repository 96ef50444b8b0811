"""Checks of the learner's Docker: is the engine there, and are our host ports free?

The two most common first-run failures of the course are "Docker is not running" and
"port 8080/5432 is already allocated" (pgAdmin, or the PostgreSQL from module 1). Both are
cheap to find before Terraform creates anything. A port held by one of *our* containers
(names starting with ZOOMCAMP_PREFIX) is fine: a re-deploy keeps or replaces it.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
from dataclasses import dataclass

from ops.doctor.context import DoctorContext
from ops.doctor.docker_engine import DockerEndpoint, DockerEngine, DockerEngineError, other_sockets
from ops.doctor.model import CheckResult
from stacks.settings import LocalSettings

DEFAULT_SOCKET = "/var/run/docker.sock"
START_DOCKER = (
    "start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) and wait until `docker info` works"
)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class DockerProbe:
    result: CheckResult
    # Host port -> running containers publishing it; None when the engine could not be asked.
    published: dict[int, list[str]] | None
    # False when the engine runs on another machine (tcp://remote): binding here proves nothing.
    engine_is_local: bool


def probe_docker(ctx: DoctorContext) -> DockerProbe:
    title = "Docker engine"
    default_socket = ctx.settings.local.docker_socket if ctx.settings else DEFAULT_SOCKET
    try:
        endpoint = DockerEndpoint.resolve(ctx.env, default_socket)
    except DockerEngineError as error:
        if error.reason == "unsupported":
            result = CheckResult.warn("docker", title, str(error), "make sure `docker info` works before deploying")
        else:
            result = CheckResult.fail("docker", title, str(error), "fix DOCKER_HOST, or unset it to use the socket")
        return DockerProbe(result, None, engine_is_local=True)
    engine = DockerEngine(endpoint, timeout=ctx.docker_timeout)
    is_local = endpoint.unix_path is not None or endpoint.host in _LOCAL_HOSTS
    try:
        api_version = engine.ping()
        published = engine.published_ports()
    except DockerEngineError as error:
        return DockerProbe(_engine_failure(ctx, endpoint, error), None, is_local)
    version = f", API {api_version}" if api_version else ""
    return DockerProbe(CheckResult.ok("docker", title, f"reachable at {endpoint.url}{version}"), published, is_local)


def _engine_failure(ctx: DoctorContext, endpoint: DockerEndpoint, error: DockerEngineError) -> CheckResult:
    title = "Docker engine"
    message = f"not reachable ({error})"
    if error.reason == "denied":
        fix = "add yourself to the docker group (`sudo usermod -aG docker $USER`), then log out and back in"
    elif error.reason == "timeout":
        fix = "Docker is hung or still starting: wait a minute or restart Docker, then rerun the doctor"
    elif error.reason == "bad":
        fix = "DOCKER_HOST or DOCKER_SOCKET points at something that is not Docker: correct or unset it"
    else:
        elsewhere = other_sockets(ctx.env, endpoint.unix_path)
        if elsewhere:
            found = elsewhere[0]
            fix = f"Docker listens on {found}: `export DOCKER_HOST=unix://{found} DOCKER_SOCKET={found}`"
        else:
            fix = START_DOCKER
    return CheckResult.fail("docker", title, message, fix)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def check_kestra_socket(ctx: DoctorContext) -> list[CheckResult]:
    """Terraform talks to DOCKER_HOST (else the default socket); Kestra mounts DOCKER_SOCKET.

    Both must be the same engine, or script tasks start their containers on another Docker
    than the one holding the stack's network. Silent when they trivially agree.
    """
    if ctx.settings is None:
        return []
    title = "Docker socket for Kestra"
    mounted = ctx.settings.local.docker_socket
    docker_host = (ctx.env.get("DOCKER_HOST") or "").strip()
    if not docker_host:
        if mounted == DEFAULT_SOCKET:
            return []
        return [
            CheckResult.fail(
                "docker.socket",
                title,
                f"DOCKER_SOCKET={mounted} but DOCKER_HOST is unset, so Terraform would use {DEFAULT_SOCKET}",
                f"`export DOCKER_HOST=unix://{mounted}` as well",
            )
        ]
    if not docker_host.startswith("unix://"):
        return []  # a remote engine: its socket path is on another machine
    used = docker_host.removeprefix("unix://")
    if os.path.realpath(used) == os.path.realpath(mounted):
        return []
    if not _is_socket(mounted):
        # Docker Desktop and Colima resolve bind-mount sources inside their VM, where
        # /var/run/docker.sock exists even when this machine has no such file: a warning, not a failure.
        return [
            CheckResult.warn(
                "docker.socket",
                title,
                f"DOCKER_SOCKET={mounted} is not a socket on this machine; Kestra mounts it to run script tasks",
                "fine for Docker Desktop or Colima (the path is resolved inside their VM); "
                f"otherwise `export DOCKER_SOCKET={used}` (the engine DOCKER_HOST names)",
            )
        ]
    return [
        CheckResult.warn(
            "docker.socket",
            title,
            f"Kestra mounts DOCKER_SOCKET={mounted}, Terraform uses DOCKER_HOST={docker_host}",
            f"unless both are the same engine, `export DOCKER_SOCKET={used}`",
        )
    ]


@dataclass(frozen=True)
class PortSpec:
    check: str
    title: str
    variable: str
    port: int
    usual_suspect: str  # what is most often found on the default port


def port_specs(local: LocalSettings) -> list[PortSpec]:
    specs = [
        PortSpec("port.kestra", "Kestra port", "KESTRA_PORT", local.kestra_port, "often another Kestra or a web app"),
        PortSpec(
            "port.postgres",
            "Data PostgreSQL port",
            "ZOOMCAMP_PG_PORT",
            local.data_pg_port,
            "often a PostgreSQL from an earlier module",
        ),
    ]
    if local.pgadmin_enabled:
        specs.append(
            PortSpec("port.pgadmin", "pgAdmin port", "PGADMIN_PORT", local.pgadmin_port, "often another pgAdmin")
        )
    return specs


def bind_error(address: str, port: int) -> int | None:
    """None when `address:port` could be bound now, else the errno (EADDRINUSE, ...)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if sys.platform.startswith("linux"):
            # Linux: ignore TIME_WAIT leftovers yet still fail on a live listener. (On BSD and
            # macOS the option would also let us bind beside a wildcard listener: not there.)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            return error.errno or errno.EADDRINUSE
    return None


def _who_listens(port: int) -> str:
    if sys.platform == "darwin":
        return f"`lsof -nP -iTCP:{port} -sTCP:LISTEN`"
    return f"`sudo ss -ltnp 'sport = :{port}'`"


def suggest_port(
    address: str, port: int, avoid: set[int], published: dict[int, list[str]] | None, tries: int = 50
) -> int | None:
    """The next port above `port` that is free now and not wanted by another of our services."""
    for candidate in range(port + 1, min(port + tries, 65535) + 1):
        if candidate in avoid or (published and candidate in published):
            continue
        if bind_error(address, candidate) is None:
            return candidate
    return None


def check_ports(ctx: DoctorContext, probe: DockerProbe) -> list[CheckResult]:
    if ctx.settings is None:
        return [CheckResult.skip("ports", "Host ports", "not checked: fix the settings above first")]
    local = ctx.settings.local
    specs = port_specs(local)
    wanted = {spec.port for spec in specs}
    return [_check_port(ctx, probe, spec, local, wanted) for spec in specs]


def _check_port(
    ctx: DoctorContext, probe: DockerProbe, spec: PortSpec, local: LocalSettings, wanted: set[int]
) -> CheckResult:
    address = local.bind_address
    prefix = f"{local.prefix}-"

    def alternative() -> str:
        free = suggest_port(address, spec.port, wanted, probe.published)
        return f"set {spec.variable}={free}" if free else f"set {spec.variable} to a free port"

    holders = (probe.published or {}).get(spec.port, [])
    if holders:
        foreign = [name for name in holders if not name.startswith(prefix)]
        if not foreign:
            return CheckResult.ok(
                spec.check,
                spec.title,
                f"{spec.port} is held by our container {', '.join(holders)} (the deploy keeps or replaces it)",
            )
        return CheckResult.fail(
            spec.check,
            spec.title,
            f"{spec.port} is published by Docker container {', '.join(foreign)}, which is not part of this stack",
            f"stop it (`docker stop {foreign[0]}`) or {alternative()}",
        )
    if not probe.engine_is_local:
        return CheckResult.ok(spec.check, spec.title, f"{spec.port} is not published by any container on the engine")
    failure = bind_error(address, spec.port)
    if failure is None:
        return CheckResult.ok(spec.check, spec.title, f"{address}:{spec.port} is free")
    if failure == errno.EADDRNOTAVAIL:
        return CheckResult.fail(
            spec.check,
            spec.title,
            f"ZOOMCAMP_BIND_ADDRESS={address} is not an address of this machine",
            "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
        )
    if failure == errno.EACCES:
        return CheckResult.warn(
            spec.check,
            spec.title,
            f"cannot test {address}:{spec.port}: ports below 1024 need privileges here",
            f"{alternative()} (above 1024) unless your Docker engine runs as root",
        )
    suspect = spec.usual_suspect if probe.published is not None else "Docker is not reachable: it may be ours"
    return CheckResult.fail(
        spec.check,
        spec.title,
        f"{address}:{spec.port} is already in use by another program ({suspect})",
        f"stop it ({_who_listens(spec.port)} shows it) or {alternative()}",
    )
