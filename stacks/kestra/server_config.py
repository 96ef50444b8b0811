"""Renders the Kestra server configuration, the one renderer both stacks use.

Local Docker and the Compute Engine VM run the same `server standalone` with PostgreSQL
for repository and queue; they differ only in where internal storage lives and in the
public URL. Passwords never appear in the rendered text: it holds Micronaut placeholders
(`${NAME}`) that Kestra resolves from the container's environment at start, so the text
is safe to show in a plan, a snapshot or instance metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

BASIC_AUTH_PASSWORD_ENV = "ZOOMCAMP_BASIC_AUTH_PASSWORD"
METADATA_DB_PASSWORD_ENV = "ZOOMCAMP_METADATA_DB_PASSWORD"
# kestra.encryption.secret-key: base64 of a 32-byte AES key (Kestra's EncryptionService decodes it;
# tests/flows/test_kestra_encryption.py asks it). Without one, outputs typed as encrypted (the dbt
# flow's OAuth token) are stored in plain text.
ENCRYPTION_KEY_ENV = "ZOOMCAMP_ENCRYPTION_KEY"
# Kestra's AI Copilot (the flow editor's ✨ button), as the course configures it: Gemini, with the
# learner's API key from this variable. Only rendered when a key is given (see KestraServerConfig).
GEMINI_API_KEY_ENV = "ZOOMCAMP_GEMINI_API_KEY"
AI_COPILOT_MODEL = "gemini-2.5-flash"
# Script tasks run in sibling containers; Kestra bind-mounts this path into them, so it
# must be the same path on the Docker host and inside the Kestra container.
TASK_WORKING_DIR = "/tmp/kestra-wd"
MANAGEMENT_PORT = 8081
HEALTH_PATH = "/health"


@dataclass(frozen=True)
class LocalStorage:
    base_path: str = "/app/storage"


@dataclass(frozen=True)
class GcsStorage:
    bucket: str
    project: str


@dataclass(frozen=True)
class KestraServerConfig:
    database_host: str
    database_name: str
    database_user: str
    basic_auth_username: str
    public_url: str
    storage: LocalStorage | GcsStorage
    database_port: int = 5432
    # Kestra's own tutorial flows in namespace `tutorial`: off, as the course's setup has them.
    tutorial_flows: bool = False
    # kestra.ai (the AI Copilot), reading the key from GEMINI_API_KEY_ENV; off without a key: Kestra's
    # GeminiAiService starts only when kestra.ai.gemini.api-key is set, and an empty one would fail later.
    ai_copilot: bool = False


def _storage_section(storage: LocalStorage | GcsStorage) -> dict[str, Any]:
    if isinstance(storage, LocalStorage):
        return {"type": "local", "local": {"base-path": storage.base_path}}
    # Keys as the storage-gcs plugin names them (GcsStorage: bucket, projectId -> `project-id`;
    # Kestra's "Runtime and Storage" docs): its mapper rejects unknown keys at start-up.
    # No `service-account`: without a key the plugin uses Application Default Credentials,
    # on Compute Engine the VM's attached account. Assumed, not verified on the pinned image:
    # storage-gcs ships in the default kestra/kestra image (kestra-io/kestra's `.plugins` list
    # names it; only the -no-plugins variant lacks plugins).
    return {"type": "gcs", "gcs": {"bucket": storage.bucket, "project-id": storage.project}}


def placeholder(env_name: str) -> str:
    return "${" + env_name + "}"


def render_kestra_config(config: KestraServerConfig) -> str:
    """The YAML for KESTRA_CONFIGURATION (or a mounted application.yaml)."""
    document = {
        "datasources": {
            "postgres": {
                "url": f"jdbc:postgresql://{config.database_host}:{config.database_port}/{config.database_name}",
                "driverClassName": "org.postgresql.Driver",
                "username": config.database_user,
                "password": placeholder(METADATA_DB_PASSWORD_ENV),
            }
        },
        "kestra": {
            "server": {
                "basic-auth": {
                    "username": config.basic_auth_username,
                    "password": placeholder(BASIC_AUTH_PASSWORD_ENV),
                }
            },
            "encryption": {"secret-key": placeholder(ENCRYPTION_KEY_ENV)},
            "tutorial-flows": {"enabled": config.tutorial_flows},
            "repository": {"type": "postgres"},
            "queue": {"type": "postgres"},
            "storage": _storage_section(config.storage),
            "tasks": {"tmp-dir": {"path": f"{TASK_WORKING_DIR}/tmp"}},
            "url": config.public_url.rstrip("/") + "/",
        },
    }
    if config.ai_copilot:
        document["kestra"]["ai"] = {
            "type": "gemini",
            "gemini": {"model-name": AI_COPILOT_MODEL, "api-key": placeholder(GEMINI_API_KEY_ENV)},
        }
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def healthcheck_command() -> list[str]:
    """A Docker healthcheck that needs no curl in the image: bash's /dev/tcp asks /health."""
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{MANAGEMENT_PORT} && "
        f"printf 'GET {HEALTH_PATH} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && "
        "head -n 1 <&3 | grep -q ' 200 '"
    )
    return ["CMD", "bash", "-c", script]
