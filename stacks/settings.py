"""The one typed settings object: environment variables in, validated values out.

Every knob a learner may turn is read here and nowhere else, checked before any resource is
built, and reported as one line per problem naming the variable, what it got and what is
allowed. docs/settings.md documents the same names and defaults (a test keeps them equal).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BundleError
from flowcheck import kestra_cron
from flowcheck.kestra_ids import KESTRA_NAMESPACE_PATTERN
from stacks import basic_auth, versions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The two stacks, named once: cdktf stack ids, values of ZOOMCAMP_STACKS, `make deploy-<stack>`.
LOCAL_STACK = "local"
GCP_STACK = "gcp"
STACK_NAMES = (LOCAL_STACK, GCP_STACK)
# Optional: the Gemini API key of the course's AI flows and of Kestra's AI Copilot. The variable the
# course exports; `make deploy-local` also passes TF_VAR_gemini_api_key from .secrets/local.env.
GEMINI_API_KEY_NAMES = ("GEMINI_API_KEY", "TF_VAR_gemini_api_key")

_DOCKER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Image references: these check the whole reference's shape (which image, a pinned release tag), which
# a version parser (packaging) does not; only the numbers they capture are compared.
_KESTRA_IMAGE = re.compile(r"^kestra/kestra:v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(-no-plugins)?$")
_POSTGRES_IMAGE = re.compile(r"^(?:[\w.:-]+/)*postgres:(?P<major>\d+)(?:\.\d+)*(?:-[\w.-]+)?$")
# An optional content digest after the tag (name:tag@sha256:<64 hex>): the tag is checked as above, the
# digest pins the exact bytes Docker pulls.
_IMAGE_DIGEST = re.compile(r"^(?P<reference>[^@]+)(?:@sha256:(?P<digest>[0-9a-f]{64}))?$")
# Docker Hub's own names for itself; any other first path part with a '.' or ':' (or localhost) is a
# registry host, allowed only when ZOOMCAMP_ALLOW_REGISTRY names it.
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
_REGISTRY_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")
# Google Cloud naming rules, checked at synth so a typo never reaches `terraform apply`.
_GCP_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_GCP_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+[0-9]+)-[a-z]$")
_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
_BQ_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_GCE_MACHINE_TYPE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9]$")
# No quotes, '{', '$' or backtick in the path: Kestra renders the clone URL as a template, and a shell may see it.
_GIT_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/[^\s@?#'\"`{}$\\]+$")
_GIT_BRANCH = re.compile(r"^(?!/|-)(?!.*(\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/-]{1,200}$")
_REPO_DIRECTORY = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]{1,200}(?<!/)$")
# A Google AI Studio API key (Gemini): letters, digits, '-', '_', '.'; anything else is a paste gone wrong.
# GitHub's rules: an owner of 1-39 letters, digits or '-' (not first); a name of letters, digits, '.', '_', '-'.
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
# GCP_LOCAL_KESTRA_MEMBERS: a person or a group only (not allUsers, a domain or a service account).
_IAM_PERSON_KINDS = ("user", "group")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
# The widest GCP_ALLOWED_CIDRS range: a /24 is one organisation's network at most, not a provider's.
ALLOWLIST_MIN_IPV4_PREFIX = 24
_GEMINI_API_KEY = re.compile(r"^[A-Za-z0-9_.-]{10,512}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(BundleError):
    """One or more environment variables hold values the stacks cannot use."""


def gcs_bucket_problem(name: str) -> str | None:
    """Cloud Storage's bucket-name rules (dots are left out: they need a verified domain)."""
    if not 3 <= len(name) <= 63:
        return "must be 3-63 characters (Cloud Storage rule)"
    if not _GCS_BUCKET.match(name):
        return (
            "must be lower-case letters, digits, '-' or '_', starting and ending with a letter or digit "
            "(Cloud Storage rule; dots are not supported here)"
        )
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        return "must not start with 'goog' or contain 'google' (Cloud Storage rule)"
    return None


def bigquery_dataset_problem(name: str) -> str | None:
    if _BQ_DATASET.match(name):
        return None
    suggestion = re.sub(r"[^A-Za-z0-9_]", "_", name)[:1024]
    return f"must use only letters, digits and underscores (BigQuery dataset rule); try {suggestion!r}"


def kestra_password_problem(password: str) -> str | None:
    """Kestra 1.3's basic-auth password rule (stacks/basic_auth.py): every broken part, or None."""
    return basic_auth.password_problem(password)


@dataclass(frozen=True)
class KestraSettings:
    image: str
    username: str
    password: str | None
    namespace: str
    tutorial_flows: bool = False
    # Never shown (repr) and never in the synthesized Terraform: a sensitive variable carries it.
    gemini_api_key: str | None = field(default=None, repr=False)


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
    # Mounted read-only into the local Kestra only on request (ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=true)
    # and never a long-lived credential (the learner's login, a key); None (the default): no mount.
    google_credentials_file: str | None = None
    # ZOOMCAMP_GCP_TOKEN_BROKER=true: Kestra's Google clients ask ops/token_broker.py on this machine
    # (GCE_METADATA_HOST) for <= 1 h tokens of the gcp stack's local-Kestra service account.
    gcp_token_broker: bool = False
    gcp_token_broker_port: int = 8089

    @property
    def kestra_url(self) -> str:
        host = "localhost" if self.bind_address in ("127.0.0.1", "0.0.0.0") else self.bind_address
        return f"http://{host}:{self.kestra_port}"

    @property
    def data_pg_host(self) -> str:
        """Where tools on this machine (psql, make smoke) reach the taxi data PostgreSQL."""
        return "localhost" if self.bind_address == "0.0.0.0" else self.bind_address


@dataclass(frozen=True)
class GitSyncSettings:
    """Where the Kestra on Compute Engine pulls its flows from (its Git sync flow: Clone + render + Kestra's
    namespace update for the flows, SyncNamespaceFiles for the files folder)."""

    # None: the checkout's `origin` remote, read only when the gcp stack is built.
    url: str | None
    branch: str
    flows_directory: str
    # Synced as namespace files (SyncNamespaceFiles): the dbt project the dbt flows run, at the
    # same paths the local stack ships it (stacks/dbt_project.py). None: no such task.
    files_directory: str | None
    cron: str
    # Flows deleted in Git are deleted in Kestra: Git stays the single source of truth.
    delete_missing: bool


@dataclass(frozen=True)
class GcpSettings:
    """GCP inputs, format-checked here. The project (which may need Application Default
    Credentials) and the names derived from it are resolved by stacks/gcp/target.py, and only
    when a stack needs them, so the local stack never requires Google credentials."""

    project_id: str | None
    region: str
    zone: str | None = None  # None: "<region>-b", a zone nearly every region has
    bucket_name: str | None = None  # None: "<project>-<prefix>-data", globally unique via the project
    dataset: str = "zoomcamp"
    machine_type: str = "e2-standard-2"
    # IPv4 ranges allowed to reach the VM's SSH port directly (besides the IAP tunnel); empty: none.
    # Kestra's own port stays IAP-only: its login is plain HTTP (stacks/gcp/network.py).
    allowed_cidrs: tuple[str, ...] = ()
    # owner/name of the GitHub repository whose workflows get the planner and deployer identities
    # (stacks/gcp/github_identity.py); None: no workload identity pool is created.
    github_repository: str | None = None
    # IAM principals (user:EMAIL or group:EMAIL) allowed to mint short-lived tokens for the local
    # Kestra's service account (stacks/gcp/local_kestra_identity.py); empty: no such account.
    local_kestra_members: tuple[str, ...] = ()
    raw_csv_retention_days: int = 30
    # Optional GCS bucket for the gcp stack's Terraform state (stacks/state_backend.py); None: local file.
    state_bucket: str | None = None
    git: GitSyncSettings = field(
        default_factory=lambda: GitSyncSettings(
            url=None,
            branch="main",
            flows_directory="flows",
            files_directory="dbt",
            cron="*/15 * * * *",
            delete_missing=True,
        )
    )


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
    # False when ZOOMCAMP_STACKS is unset: a plain `cdktf deploy local` then builds the gcp
    # stack only if it can (a learner without Google Cloud must not be blocked by it).
    stacks_chosen: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise one SettingsError listing all problems.

        `env` None means this process's environment, plus the optional keys a learner keeps in
        .secrets/local.env (TF_VAR_gemini_api_key), so a plain `cdktf synth` sees what
        `make deploy-local` passes; an explicit `env` (tests, the deploy) is read alone.
        """
        reader = _EnvReader(_process_environment() if env is None else env)
        reader.allowed_registries()  # reported once, even when no image names a registry
        settings = cls(
            stacks=reader.stacks("ZOOMCAMP_STACKS", "local,gcp"),
            stacks_chosen=reader.optional("ZOOMCAMP_STACKS") is not None,
            sandbox=reader.boolean("ZOOMCAMP_SANDBOX", False),
            kestra=KestraSettings(
                image=reader.kestra_image("KESTRA_IMAGE", versions.KESTRA_IMAGE),
                username=reader.kestra_username("KESTRA_USERNAME", "admin@example.com"),
                password=reader.kestra_password("KESTRA_PASSWORD"),
                namespace=reader.matching(
                    "KESTRA_NAMESPACE",
                    "zoomcamp",
                    KESTRA_NAMESPACE_PATTERN,
                    "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
                ),
                tutorial_flows=reader.boolean("KESTRA_TUTORIAL_FLOWS", False),
                gemini_api_key=reader.api_key(GEMINI_API_KEY_NAMES, _GEMINI_API_KEY),
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
                docker_socket=reader.docker_socket("DOCKER_SOCKET", "/var/run/docker.sock"),
                google_credentials_file=reader.google_credentials("ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS"),
                gcp_token_broker=reader.boolean("ZOOMCAMP_GCP_TOKEN_BROKER", False),
                gcp_token_broker_port=reader.port("ZOOMCAMP_GCP_TOKEN_BROKER_PORT", 8089),
            ),
            gcp=_read_gcp(reader),
        )
        if not reader.problems:
            reader.check_distinct_ports(settings.local)
            reader.check_one_google_identity(settings.local)
        if reader.problems:
            raise SettingsError("\n".join(reader.problems))
        return settings


def _process_environment() -> Mapping[str, str]:
    """os.environ, plus TF_VAR_gemini_api_key from .secrets/local.env when neither name is set."""
    if any(os.environ.get(name, "").strip() for name in GEMINI_API_KEY_NAMES):
        return os.environ
    from stacks.local.credentials import CREDENTIALS_FILE, read_credentials  # imports this module

    try:
        stored = read_credentials(CREDENTIALS_FILE).get("gemini_api_key") if CREDENTIALS_FILE.is_file() else None
    except (OSError, UnicodeDecodeError):
        stored = None  # the doctor and the deploy report an unreadable credentials file
    return {**os.environ, "TF_VAR_gemini_api_key": stored} if stored else os.environ


def _read_gcp(reader: _EnvReader) -> GcpSettings:
    region = reader.matching(
        "GCP_REGION",
        "europe-west2",
        _GCP_REGION,
        "must be a Google Cloud region such as europe-west2 or us-central1",
    )
    return GcpSettings(
        project_id=reader.matching(
            "GCP_PROJECT_ID",
            "",
            _GCP_PROJECT_ID,
            "must be a Google Cloud project id: 6-30 lower-case letters, digits or '-', starting with a letter "
            "(the id, not the project's name or number)",
        )
        or None,
        region=region,
        zone=reader.zone("GCP_ZONE", region),
        bucket_name=reader.checked("GCP_BUCKET_NAME", gcs_bucket_problem),
        dataset=reader.checked("GCP_DATASET", bigquery_dataset_problem) or "zoomcamp",
        machine_type=reader.matching(
            "GCP_MACHINE_TYPE",
            "e2-standard-2",
            _GCE_MACHINE_TYPE,
            "must be a Compute Engine machine type such as e2-standard-2",
        ),
        allowed_cidrs=reader.cidrs("GCP_ALLOWED_CIDRS"),
        github_repository=reader.matching(
            "GCP_GITHUB_REPOSITORY",
            "",
            _GITHUB_REPOSITORY,
            "must be a GitHub repository as owner/name, spelled as GitHub shows it (e.g. you/zoomcamp-kestra), "
            "or unset for no GitHub identities",
        )
        or None,
        local_kestra_members=reader.iam_members("GCP_LOCAL_KESTRA_MEMBERS"),
        raw_csv_retention_days=reader.integer("GCP_RAW_CSV_RETENTION_DAYS", 30, 1, 3650, "days"),
        state_bucket=reader.checked("ZOOMCAMP_STATE_BUCKET", gcs_bucket_problem),
        git=GitSyncSettings(
            url=reader.git_url("ZOOMCAMP_GIT_URL"),
            branch=reader.matching(
                "ZOOMCAMP_GIT_BRANCH", "main", _GIT_BRANCH, "must be a Git branch name such as main"
            ),
            flows_directory=reader.matching(
                "ZOOMCAMP_GIT_FLOWS_DIR",
                "flows",
                _REPO_DIRECTORY,
                "must be a folder path inside the repository, such as flows (no leading '/', no '..')",
            ),
            files_directory=reader.matching(
                "ZOOMCAMP_GIT_FILES_DIR",
                "dbt",
                _REPO_DIRECTORY,
                "must be a folder path inside the repository, such as dbt (no leading '/', no '..')",
            )
            or None,
            cron=reader.cron("ZOOMCAMP_GIT_SYNC_CRON", "*/15 * * * *"),
            delete_missing=reader.boolean("ZOOMCAMP_GIT_SYNC_DELETE", True),
        ),
    )


# ADC file types that hold a credential which outlives any session: the learner's OAuth refresh token
# (authorized_user, also the source of an impersonated_service_account file gcloud writes) or a
# service-account key. Workload identity federation (external_account) holds only how to fetch
# short-lived tokens.
_LONG_LIVED = {
    "authorized_user": "your own Google login (a refresh token that never expires)",
    "service_account": "a service-account key (a private key that does not expire)",
    "external_account_authorized_user": "your own workforce login (a refresh token)",
    "gdch_service_account": "a service-account key (a private key that does not expire)",
}


def _long_lived(path: Path) -> str | None:
    """What long-lived credential the ADC file at `path` holds, in words, or None."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return "a file that is not a credentials JSON (it may hold anything)"
    if not isinstance(document, dict):
        return "a file that is not a credentials JSON (it may hold anything)"
    kind = document.get("type")
    if kind == "impersonated_service_account":
        source = document.get("source_credentials")
        source_kind = source.get("type") if isinstance(source, dict) else None
        if source_kind in _LONG_LIVED:
            return f"an impersonation file whose source is {_LONG_LIVED[source_kind]}"
        return None
    if kind == "external_account":
        return None
    return _LONG_LIVED.get(str(kind), f"a credentials file of type {kind!r}")


class _EnvReader:
    """Reads variables, records a problem per bad value and returns the default instead."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.problems: list[str] = []
        self._reported: set[str] = set()

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

    def api_key(self, names: tuple[str, ...], pattern: re.Pattern[str]) -> str | None:
        """The first of `names` that is set; a malformed key is reported without its value."""
        for name in names:
            value = self._raw(name)
            if value is None:
                continue
            if not pattern.match(value):
                # Never echo a key, even a mistyped one.
                self.problems.append(
                    f"{name} must be an API key from Google AI Studio (10-512 letters, digits, '-', '_' or '.'; "
                    "no quotes or spaces); the value is not shown. Unset it to deploy without the AI flows' key"
                )
                return None
            return value
        return None

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
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            self._fail(name, value, "must be an IPv4 address such as 127.0.0.1 (localhost only) or 0.0.0.0 (all)")
            return default
        return value

    def docker_socket(self, name: str, default: str) -> str:
        """A socket's path, never a directory: Kestra gets it mounted, and `/` would hand it the host's disk."""
        value = self._raw(name)
        if value is None:
            return default
        path = Path(value)
        if not path.is_absolute() or ".." in path.parts or not value.endswith(".sock"):
            self._fail(
                name, value, "must be the absolute path of Docker's socket, ending in .sock, e.g. /var/run/docker.sock"
            )
            return default
        if path.exists() and not path.is_socket():
            self._fail(name, value, "exists but is not a socket; name Docker's socket, e.g. /var/run/docker.sock")
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

    def allowed_registries(self) -> tuple[str, ...]:
        """ZOOMCAMP_ALLOW_REGISTRY: the registry hosts, besides Docker Hub, that image settings may name."""
        value = self._raw("ZOOMCAMP_ALLOW_REGISTRY")
        if value is None:
            return ()
        hosts = tuple(part.strip().lower() for part in value.split(",") if part.strip())
        bad = [host for host in hosts if not _REGISTRY_HOST.match(host)]
        if bad and "ZOOMCAMP_ALLOW_REGISTRY" not in self._reported:
            self._reported.add("ZOOMCAMP_ALLOW_REGISTRY")
            self._fail(
                "ZOOMCAMP_ALLOW_REGISTRY", value, "must be a comma-separated list of registry hosts such as ghcr.io"
            )
        return tuple(host for host in hosts if host not in bad)

    def _image_tag(self, name: str, value: str) -> str | None:
        """The reference without its digest, once the digest and the registry are acceptable; else None."""
        split = _IMAGE_DIGEST.match(value)
        if split is None:
            self._fail(name, value, "must be name:tag, optionally followed by @sha256: and 64 lower-case hex digits")
            return None
        reference = split["reference"]
        first, _, rest = reference.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            host = first.lower()
            if host not in _DOCKER_HUB and host not in self.allowed_registries():
                self._fail(
                    name,
                    value,
                    f"pulls from the registry {host}, not Docker Hub: set ZOOMCAMP_ALLOW_REGISTRY={host} if you trust "
                    "it, or use the Docker Hub image",
                )
                return None
            reference = rest if host in _DOCKER_HUB else reference
        return reference

    def kestra_image(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        reference = self._image_tag(name, value)
        if reference is None:
            return default
        match = _KESTRA_IMAGE.match(reference)
        if not match:
            self._fail(
                name,
                value,
                f"must be a pinned Kestra release such as {versions.KESTRA_IMAGE} (never latest or develop), "
                "optionally with @sha256:<digest>",
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
        reference = self._image_tag(name, value)
        if reference is None:
            return default
        match = _POSTGRES_IMAGE.match(reference)
        if not match:
            self._fail(
                name, value, "must be a pinned postgres image such as postgres:17.6 (optionally @sha256:<digest>)"
            )
            return default
        if int(match["major"]) < versions.MIN_DATA_POSTGRES_MAJOR:
            self._fail(
                name,
                value,
                f"must be PostgreSQL {versions.MIN_DATA_POSTGRES_MAJOR} or newer: the taxi flows require it "
                "(the course SQL uses MERGE)",
            )
            return default
        return value

    def pinned_image(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        reference = self._image_tag(name, value)
        if reference is None:
            return default
        tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""
        if tag in ("", "latest", "develop"):
            self._fail(name, value, "must name a pinned tag, e.g. dpage/pgadmin4:9.8 (not latest)")
            return default
        return value

    def kestra_username(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        problems = basic_auth.username_problems(value)
        if problems:
            why = "; ".join(problems)
            self._fail(name, value, f"{why} ({basic_auth.RULE}: Kestra would answer every call with 401)")
        return default if problems else value

    def kestra_password(self, name: str) -> str | None:
        value = self._env.get(name)
        if not value:
            return None
        problem = basic_auth.password_problem(value)
        if problem:
            # Never echo a password, even a weak one; every broken rule on the one line.
            self.problems.append(
                f"{name}: {problem} ({basic_auth.RULE}: Kestra would answer every call with 401); "
                "fix it or unset it to have one generated"
            )
            return None
        return value

    def checked(self, name: str, problem_of: Callable[[str], str | None]) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        problem = problem_of(value)
        if problem:
            self._fail(name, value, problem)
            return None
        return value

    def integer(self, name: str, default: int, low: int, high: int, unit: str) -> int:
        value = self._raw(name)
        if value is None:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            self._fail(name, value, f"must be a whole number of {unit} from {low} to {high}")
            return default
        return int(value)

    def zone(self, name: str, region: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        match = _GCP_ZONE.match(value)
        if not match:
            self._fail(name, value, f"must be a Compute Engine zone such as {region}-b")
            return None
        if match["region"] != region:
            self._fail(name, value, f"is not in GCP_REGION {region!r}; pick a zone of that region, e.g. {region}-b")
            return None
        return value

    def cidrs(self, name: str) -> tuple[str, ...]:
        value = self._raw(name)
        if value is None:
            return ()
        accepted: list[str] = []
        for part in (p.strip() for p in value.split(",") if p.strip()):
            try:
                network = ipaddress.ip_network(part, strict=True)
            except ValueError as error:
                hint = "use IPv4 ranges such as 203.0.113.7/32"
                if "host bits set" in str(error):
                    hint = f"did you mean {ipaddress.ip_network(part, strict=False)}?"
                self._fail(name, value, f"has {part!r}, not an IPv4 CIDR range: {hint}")
                return ()
            if network.version == 6:
                # The VM's network is IPv4-only (stacks/gcp/network.py): an IPv6 range would open nothing.
                self._fail(
                    name, value, f"has {part!r}: the VM has no IPv6 address; list IPv4 ranges such as 203.0.113.7/32"
                )
                return ()
            if network.prefixlen < ALLOWLIST_MIN_IPV4_PREFIX:
                self._fail(
                    name,
                    value,
                    f"has {part!r}, wider than /{ALLOWLIST_MIN_IPV4_PREFIX}: list your own address "
                    "(e.g. 203.0.113.7/32) or your network's /24 at most, or use the IAP tunnel",
                )
                return ()
            accepted.append(str(network))
        return tuple(accepted)

    def iam_members(self, name: str) -> tuple[str, ...]:
        """People or groups, never a service account or everyone: each may impersonate an account."""
        value = self._raw(name)
        if value is None:
            return ()
        accepted: list[str] = []
        for part in (p.strip() for p in value.split(",") if p.strip()):
            kind, _, email = part.partition(":")
            if kind not in _IAM_PERSON_KINDS or not _EMAIL.match(email):
                example = f"user:{part}" if _EMAIL.match(part) else "user:alice@example.com"
                self._fail(
                    name,
                    value,
                    f"has {part!r}: list people or groups only, as user:EMAIL or group:EMAIL (write {example})",
                )
            elif part in accepted:
                self._fail(name, value, f"lists {part!r} twice: list each member once")
            else:
                accepted.append(part)
        return tuple(accepted)

    def git_url(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        authority = value.split("://", 1)[1].split("/", 1)[0] if "://" in value else ""
        if "@" in authority:
            # Never echo it: the part before '@' is a password or token.
            self.problems.append(
                f"{name} must not contain credentials (they would land in instance metadata and Terraform state); "
                "use the repository's public https URL"
            )
            return None
        if not _GIT_HTTPS_URL.match(value):
            self._fail(name, value, "must be an https:// Git URL such as https://github.com/you/zoomcamp-kestra.git")
            return None
        return value

    def cron(self, name: str, default: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        # Kestra's own cron rules (flowcheck/kestra_cron.py); nicknames such as @hourly stay refused, as they
        # always were here: the setting is documented and tested as a five-field expression.
        problem = kestra_cron.cron_problem(value, nicknames=False)
        if problem:
            self._fail(
                name, value, f"must be a 5-field cron expression such as '*/15 * * * *' (every 15 minutes): {problem}"
            )
            return default
        return value

    def google_credentials(self, switch: str) -> str | None:
        """Only with `switch` on: GOOGLE_APPLICATION_CREDENTIALS, else gcloud's ADC file, once it holds no
        long-lived credential (see `_long_lived`); else None."""
        if not self.boolean(switch, False):
            return None
        found = self._credentials_file(switch)
        if found is None:
            return None
        kind = _long_lived(Path(found))
        if kind is not None:
            # Never echo the file: it is a credential.
            self.problems.append(
                f"{switch}=true would mount {found}, {kind}, into the local Kestra, where every flow (and every "
                f"container it starts, as root with the Docker socket) could read it; unset {switch} and run the "
                "GCP flows on the gcp stack's VM (docs/google-cloud.md)"
            )
            return None
        return found

    def _credentials_file(self, switch: str) -> str | None:
        """GOOGLE_APPLICATION_CREDENTIALS if set, else gcloud's ADC file if it exists, else None."""
        explicit = self._raw("GOOGLE_APPLICATION_CREDENTIALS")
        if explicit is not None:
            path = Path(explicit)
            if not path.is_absolute() or not path.is_file():
                # Docker would create a directory in place of a missing file and Kestra would fail later.
                self._fail(
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    explicit,
                    f"must be the absolute path of an existing file; fix or unset it, or set {switch}=false",
                )
                return None
            return str(path)
        config_dir = self._raw("CLOUDSDK_CONFIG")
        home = self._raw("HOME")
        if config_dir is None and home is None:
            return None
        adc = Path(config_dir) if config_dir else Path(home or "") / ".config" / "gcloud"
        adc = adc / "application_default_credentials.json"
        return str(adc) if adc.is_absolute() and adc.is_file() else None

    def check_distinct_ports(self, local: LocalSettings) -> None:
        ports = {"KESTRA_PORT": local.kestra_port, "ZOOMCAMP_PG_PORT": local.data_pg_port}
        if local.pgadmin_enabled:
            ports["PGADMIN_PORT"] = local.pgadmin_port
        if local.gcp_token_broker:
            ports["ZOOMCAMP_GCP_TOKEN_BROKER_PORT"] = local.gcp_token_broker_port
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                self.problems.append(
                    f"{name}={port} is also {seen[port]}: two services cannot share one host port; pick another"
                )
            seen.setdefault(port, name)

    def check_one_google_identity(self, local: LocalSettings) -> None:
        if local.gcp_token_broker and local.google_credentials_file is not None:
            self.problems.append(
                "ZOOMCAMP_GCP_TOKEN_BROKER=true and ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=true give the local Kestra "
                "two Google identities; keep one (the broker's short-lived tokens, docs/google-cloud.md)"
            )
