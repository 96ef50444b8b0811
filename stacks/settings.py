"""The one typed settings object: environment variables in, validated values out.

Every knob a learner may turn is read here and nowhere else, checked before any resource is
built, and reported as one line per problem naming the variable, what it got and what is
allowed. docs/settings.md documents the same names and defaults (a test keeps them equal).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BundleError
from flowcheck import kestra_cron
from flowcheck.kestra_ids import KESTRA_NAMESPACE_PATTERN
from stacks import versions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The two stacks, named once: cdktf stack ids, values of ZOOMCAMP_STACKS, `make deploy-<stack>`.
LOCAL_STACK = "local"
GCP_STACK = "gcp"
STACK_NAMES = (LOCAL_STACK, GCP_STACK)
# The course's module-2 editions whose flows the stacks deploy (stacks/course_editions.yaml maps each
# flow file to its id in each): the 2025 cohort's, and the current one used from 2026 on. The local
# stack deploys the edition itself; the GCE stack's Git sync renders it on the VM (stacks/gce/system_flows.py).
COURSE_EDITIONS = ("2025", "2026")
DEFAULT_COURSE_EDITION = "2026"
# Optional: the Gemini API key of the course's AI flows and of Kestra's AI Copilot. The variable the
# course exports; `make deploy-local` also passes TF_VAR_gemini_api_key from .secrets/local.env.
GEMINI_API_KEY_NAMES = ("GEMINI_API_KEY", "TF_VAR_gemini_api_key")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_DOCKER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Image references: these check the whole reference's shape (which image, a pinned release tag), which
# a version parser (packaging) does not; only the numbers they capture are compared.
_KESTRA_IMAGE = re.compile(r"^kestra/kestra:v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(-no-plugins)?$")
_POSTGRES_IMAGE = re.compile(r"^(?:[\w.-]+/)?postgres:(?P<major>\d+)(?:\.\d+)*(?:-[\w.-]+)?$")
# Google Cloud naming rules, checked at synth so a typo never reaches `terraform apply`.
_GCP_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_GCP_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+[0-9]+)-[a-z]$")
_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
_BQ_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_GCE_MACHINE_TYPE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9]$")
_GIT_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/[^\s@?#]+$")
_GIT_BRANCH = re.compile(r"^(?!/|-)(?!.*(\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/-]{1,200}$")
_REPO_DIRECTORY = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]{1,200}(?<!/)$")
# A Google AI Studio API key (Gemini): letters, digits, '-', '_', '.'; anything else is a paste gone wrong.
# GitHub's rules: an owner of 1-39 letters, digits or '-' (not first); a name of letters, digits, '.', '_', '-'.
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
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
    """Kestra 1.x refuses to start with a weak basic-auth password; say why before it does,
    every broken rule in one message (not one rule per try)."""
    broken = [
        rule
        for rule, ok in (
            ("be at least 8 characters", len(password) >= 8),
            ("contain an upper-case letter", re.search(r"[A-Z]", password) is not None),
            ("contain a digit", re.search(r"[0-9]", password) is not None),
        )
        if not ok
    ]
    if not broken:
        return None
    listed = broken[0] if len(broken) == 1 else ", ".join(broken[:-1]) + " and " + broken[-1]
    return f"must {listed}"


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
    # The learner's Application Default Credentials (or key file) mounted read-only into the
    # local Kestra so GCP flows authenticate without a key in KV, state or Git; None: no mount.
    google_credentials_file: str | None = None

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
    # Which edition's flows, under which ids, the stacks deploy (stacks/course_editions.py): the local
    # stack directly, the GCE stack through its Git sync.
    course_edition: str = DEFAULT_COURSE_EDITION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise one SettingsError listing all problems.

        `env` None means this process's environment, plus the optional keys a learner keeps in
        .secrets/local.env (TF_VAR_gemini_api_key), so a plain `cdktf synth` sees what
        `make deploy-local` passes; an explicit `env` (tests, the deploy) is read alone.
        """
        reader = _EnvReader(_process_environment() if env is None else env)
        settings = cls(
            stacks=reader.stacks("ZOOMCAMP_STACKS", "local,gcp"),
            stacks_chosen=reader.optional("ZOOMCAMP_STACKS") is not None,
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
                docker_socket=reader.absolute_path("DOCKER_SOCKET", "/var/run/docker.sock"),
                google_credentials_file=reader.google_credentials("ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS"),
            ),
            gcp=_read_gcp(reader),
            course_edition=reader.choice(
                "ZOOMCAMP_COURSE_EDITION",
                DEFAULT_COURSE_EDITION,
                COURSE_EDITIONS,
                "the course edition whose flows are deployed: 2025 (the 2025 cohort's ids) or 2026 (the current ones)",
            ),
        )
        if not reader.problems:
            reader.check_distinct_ports(settings.local)
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

    def choice(self, name: str, default: str, allowed: tuple[str, ...], meaning: str) -> str:
        value = self._raw(name)
        if value is None:
            return default
        if value not in allowed:
            self._fail(name, value, f"must be one of {', '.join(allowed)}: {meaning}")
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
                "must be a pinned Kestra release such as kestra/kestra:v1.3.31 (never latest or develop)",
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
                f"must be PostgreSQL {versions.MIN_DATA_POSTGRES_MAJOR} or newer: the taxi flows require it "
                "(the course SQL uses MERGE)",
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
        """GOOGLE_APPLICATION_CREDENTIALS if set, else gcloud's ADC file if it exists, else None."""
        if not self.boolean(switch, True):
            return None
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
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                self.problems.append(
                    f"{name}={port} is also {seen[port]}: two services cannot share one host port; pick another"
                )
            seen.setdefault(port, name)
