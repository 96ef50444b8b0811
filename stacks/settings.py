"""The one typed settings object: environment variables in, validated values out.

Every knob a learner may turn is read here and nowhere else, checked before any resource is
built, and reported as one line per problem naming the variable, what it got and what is
allowed. The README's settings table documents the same names and defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stacks import versions
from stacks.errors import BundleError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_NAMES = ("local", "gcp")

# Kestra's own validation patterns (io.kestra.core.models.flows.Flow).
KESTRA_ID_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
KESTRA_NAMESPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
KESTRA_ID_MAX_LENGTH = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_DOCKER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KESTRA_IMAGE = re.compile(r"^kestra/kestra:v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(-no-plugins)?$")
_POSTGRES_IMAGE = re.compile(r"^(?:[\w.-]+/)?postgres:(?P<major>\d+)(?:\.\d+)*(?:-[\w.-]+)?$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(BundleError):
    """One or more environment variables hold values the stacks cannot use."""


def kestra_password_problem(password: str) -> str | None:
    """Kestra 1.x refuses to start with a weak basic-auth password; say why before it does."""
    if len(password) < 8:
        return "must be at least 8 characters"
    if not re.search(r"[A-Z]", password):
        return "must contain an upper-case letter"
    if not re.search(r"[0-9]", password):
        return "must contain a digit"
    return None


@dataclass(frozen=True)
class KestraSettings:
    image: str
    username: str
    password: str | None
    namespace: str

    @property
    def minor_version(self) -> str:
        match = _KESTRA_IMAGE.match(self.image)
        assert match is not None, "validated in Settings.from_env"
        return f"{match['major']}.{match['minor']}"


@dataclass(frozen=True)
class LocalSettings:
    prefix: str
    bind_address: str
    kestra_port: int
    data_pg_port: int
    pgadmin_port: int
    pgadmin_enabled: bool
    metadata_pg_image: str
    data_pg_image: str
    pgadmin_image: str
    data_db_name: str
    data_db_user: str
    docker_socket: str

    @property
    def kestra_url(self) -> str:
        host = "localhost" if self.bind_address in ("127.0.0.1", "0.0.0.0") else self.bind_address
        return f"http://{host}:{self.kestra_port}"


@dataclass(frozen=True)
class GcpSettings:
    """Raw GCP inputs; the gcp stack resolves and validates them only when it is built."""

    project_id: str | None
    region: str


@dataclass(frozen=True)
class Settings:
    stacks: tuple[str, ...]
    # Sandbox mode is the only way to let destroy take data with it (bucket and dataset
    # contents, database volumes); off by default so a destroy never loses data by surprise.
    sandbox: bool
    kestra: KestraSettings
    local: LocalSettings
    gcp: GcpSettings
    flows_dir: Path = field(default=PROJECT_ROOT / "flows")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise one SettingsError listing all problems."""
        reader = _EnvReader(os.environ if env is None else env)
        settings = cls(
            stacks=reader.stacks("ZOOMCAMP_STACKS", "local,gcp"),
            sandbox=reader.boolean("ZOOMCAMP_SANDBOX", False),
            kestra=KestraSettings(
                image=reader.kestra_image("KESTRA_IMAGE", versions.KESTRA_IMAGE),
                username=reader.matching(
                    "KESTRA_USERNAME",
                    "admin@example.com",
                    _EMAIL,
                    "must be an email address (Kestra 1.x requires one), e.g. admin@example.com",
                ),
                password=reader.kestra_password("KESTRA_PASSWORD"),
                namespace=reader.matching(
                    "KESTRA_NAMESPACE",
                    "zoomcamp",
                    KESTRA_NAMESPACE_PATTERN,
                    "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
                ),
            ),
            local=LocalSettings(
                prefix=reader.matching(
                    "ZOOMCAMP_PREFIX",
                    "zoomcamp",
                    _DOCKER_NAME,
                    "must be 1-41 lower-case letters, digits, '_', '.' or '-' (it prefixes Docker names)",
                ),
                bind_address=reader.ipv4("ZOOMCAMP_BIND_ADDRESS", "127.0.0.1"),
                kestra_port=reader.port("KESTRA_PORT", 8080),
                data_pg_port=reader.port("ZOOMCAMP_PG_PORT", 5432),
                pgadmin_port=reader.port("PGADMIN_PORT", 8085),
                pgadmin_enabled=reader.boolean("PGADMIN_ENABLED", False),
                metadata_pg_image=reader.postgres_image("KESTRA_PG_IMAGE", versions.POSTGRES_IMAGE),
                data_pg_image=reader.postgres_image("ZOOMCAMP_PG_IMAGE", versions.POSTGRES_IMAGE),
                pgadmin_image=reader.pinned_image("PGADMIN_IMAGE", versions.PGADMIN_IMAGE),
                data_db_name=reader.matching(
                    "ZOOMCAMP_PG_DB",
                    "ny_taxi",
                    _PG_IDENTIFIER,
                    "must be a lower-case PostgreSQL identifier (letters, digits, '_')",
                ),
                data_db_user=reader.matching(
                    "ZOOMCAMP_PG_USER",
                    "zoomcamp",
                    _PG_IDENTIFIER,
                    "must be a lower-case PostgreSQL identifier (letters, digits, '_')",
                ),
                docker_socket=reader.absolute_path("DOCKER_SOCKET", "/var/run/docker.sock"),
            ),
            gcp=GcpSettings(
                project_id=reader.optional("GCP_PROJECT_ID"),
                region=reader.optional("GCP_REGION") or "europe-west2",
            ),
        )
        if not reader.problems:
            reader.check_distinct_ports(settings.local)
        if reader.problems:
            raise SettingsError("\n".join(reader.problems))
        return settings


class _EnvReader:
    """Reads variables, records a problem per bad value and returns the default instead."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _fail(self, name: str, value: str, why: str) -> None:
        self.problems.append(f"{name}={value!r} {why}")

    def optional(self, name: str) -> str | None:
        return self._raw(name)

    def matching(self, name: str, default: str, pattern: re.Pattern[str], why: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        if not pattern.match(value):
            self._fail(name, value, why)
            return default
        return value

    def port(self, name: str, default: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            self._fail(name, value, "must be a port number from 1 to 65535")
            return default
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self._fail(name, value, "must be true or false")
        return default

    def ipv4(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        match = _IPV4.match(value)
        if not match or any(int(part) > 255 for part in match.groups()):
            self._fail(name, value, "must be an IPv4 address such as 127.0.0.1 (localhost only) or 0.0.0.0 (all)")
            return default
        return value

    def absolute_path(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        if not value.startswith("/"):
            self._fail(name, value, "must be an absolute path")
            return default
        return value

    def stacks(self, name: str, default: str) -> tuple[str, ...]:
        value = self._raw(name) or default
        chosen = tuple(part.strip() for part in value.split(",") if part.strip())
        unknown = [part for part in chosen if part not in STACK_NAMES]
        if unknown or not chosen:
            self._fail(name, value, f"must be a comma-separated list of {', '.join(STACK_NAMES)}")
            return STACK_NAMES
        return chosen

    def kestra_image(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        match = _KESTRA_IMAGE.match(value)
        if not match:
            self._fail(
                name,
                value,
                "must be a pinned Kestra release such as kestra/kestra:v1.3.14 (never latest or develop)",
            )
            return default
        pinned = _KESTRA_IMAGE.match(default)
        assert pinned is not None
        if (match["major"], match["minor"]) != (pinned["major"], pinned["minor"]):
            self._fail(
                name,
                value,
                f"must stay on Kestra {pinned['major']}.{pinned['minor']}.x: the Kestra Terraform provider "
                f"is pinned to {versions.KESTRA_PROVIDER_VERSION} (change both in stacks/versions.py)",
            )
            return default
        return value

    def postgres_image(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        match = _POSTGRES_IMAGE.match(value)
        if not match:
            self._fail(name, value, "must be a pinned postgres image such as postgres:17.6")
            return default
        if int(match["major"]) < versions.MIN_DATA_POSTGRES_MAJOR:
            self._fail(
                name,
                value,
                f"must be PostgreSQL {versions.MIN_DATA_POSTGRES_MAJOR} or newer: the flows use MERGE",
            )
            return default
        return value

    def pinned_image(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        tag = value.rsplit(":", 1)[1] if ":" in value.rsplit("/", 1)[-1] else ""
        if tag in ("", "latest", "develop"):
            self._fail(name, value, "must name a pinned tag, e.g. dpage/pgadmin4:9.8 (not latest)")
            return default
        return value

    def kestra_password(self, name: str) -> str | None:
        value = self._env.get(name)
        if not value:
            return None
        problem = kestra_password_problem(value)
        if problem:
            # Never echo a password, even a weak one.
            self.problems.append(f"{name} {problem} (Kestra 1.x basic-auth rule); unset it to have one generated")
            return None
        return value

    def check_distinct_ports(self, local: LocalSettings) -> None:
        ports = {"KESTRA_PORT": local.kestra_port, "ZOOMCAMP_PG_PORT": local.data_pg_port}
        if local.pgadmin_enabled:
            ports["PGADMIN_PORT"] = local.pgadmin_port
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                self.problems.append(
                    f"{name}={port} is also {seen[port]}: two services cannot share one host port; pick another"
                )
            seen.setdefault(port, name)
