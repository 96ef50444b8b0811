"""The VM's cloud-init user-data: Docker, the Kestra configuration, the boot script and its unit.

The Kestra server configuration comes from the same renderer as the local stack
(stacks/kestra/server_config.py), with internal storage on GCS. Nothing rendered here holds a secret:
passwords are `${...}` placeholders Kestra resolves from its environment, and the boot script
fills that environment from Secret Manager on the VM. The text is therefore safe in instance
metadata, where anyone with compute.instances.get on the project can read it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stacks.gce import compose, system_flows
from stacks.gcp import security
from stacks.kestra import server_config

FILES = Path(__file__).resolve().parent / "files"
BOOT_SCRIPT = FILES / "kestra-boot.sh"
SYSTEMD_UNIT = FILES / "kestra.service"

# Where things live on the VM. kestra.service names BOOT_SCRIPT_PATH and COMPOSE_PATH too
# (tests/unit/test_gcp_stack.py keeps them in step).
CONFIG_DIR = "/etc/kestra"
BOOT_ENV_PATH = f"{CONFIG_DIR}/boot.env"
KESTRA_CONFIG_PATH = f"{CONFIG_DIR}/application.yaml"
COMPOSE_PATH = f"{CONFIG_DIR}/compose.yaml"
FLOWS_DIR = f"{CONFIG_DIR}/flows"
BOOT_SCRIPT_PATH = "/usr/local/sbin/kestra-boot"
UNIT_PATH = "/etc/systemd/system/kestra.service"
RUN_DIR = "/run/kestra"  # tmpfs: the env files holding passwords vanish at shutdown
DATA_DISK_DEVICE_NAME = "kestra-data"
DATA_DEVICE = f"/dev/disk/by-id/google-{DATA_DISK_DEVICE_NAME}"
DATA_MOUNT = "/mnt/disks/kestra-data"
# The VM reaches its own Kestra directly; the same URL the IAP tunnel gives the owner.
LOCAL_KESTRA_URL = "http://localhost:8080"
# Kestra 1.x open source serves its API under the default tenant `main`.
KESTRA_API = f"{LOCAL_KESTRA_URL}/api/v1/main"
# From Ubuntu's own archive (universe, enabled on Ubuntu's GCE images): no third-party apt
# repository, updated with the OS, hence no version pin. kestra-boot needs Compose >= 2.17
# (`up --wait-timeout`); assumed of noble's docker-compose-v2, not checked against the archive.
PACKAGES = ("docker.io", "docker-compose-v2")


@dataclass(frozen=True)
class VmKestraConfig:
    """Everything the VM needs to know, all of it names and settings, none of it secret."""

    project_id: str
    kestra_image: str
    postgres_image: str
    kestra_username: str
    namespace: str
    internal_storage_bucket: str
    basic_auth_secret_id: str
    webhook_key_secret_id: str
    encryption_key_secret_id: str
    git: system_flows.GitSource
    kv_values: Mapping[str, tuple[str, str]]
    tutorial_flows: bool = False


class _LiteralBlocks(yaml.SafeDumper):
    """Multi-line strings as `|` blocks: the user-data stays readable in the console."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralBlocks.add_representer(str, _str_representer)


def kestra_server_config(config: VmKestraConfig) -> str:
    return server_config.render_kestra_config(
        server_config.KestraServerConfig(
            database_host=compose.POSTGRES_SERVICE,
            database_name=compose.METADATA_DB,
            database_user=compose.METADATA_USER,
            basic_auth_username=config.kestra_username,
            public_url=LOCAL_KESTRA_URL,
            storage=server_config.GcsStorage(bucket=config.internal_storage_bucket, project=config.project_id),
            tutorial_flows=config.tutorial_flows,
        )
    )


def boot_env(config: VmKestraConfig) -> str:
    """Shell assignments the boot script sources: names and paths only."""
    values = {
        "PROJECT_ID": config.project_id,
        "DATA_DEVICE": DATA_DEVICE,
        "DATA_MOUNT": DATA_MOUNT,
        "COMPOSE_FILE": COMPOSE_PATH,
        "RUN_DIR": RUN_DIR,
        "BASIC_AUTH_SECRET": config.basic_auth_secret_id,
        "WEBHOOK_KEY_SECRET": config.webhook_key_secret_id,
        "ENCRYPTION_KEY_SECRET": config.encryption_key_secret_id,
        "KESTRA_USERNAME": config.kestra_username,
        "KESTRA_API": KESTRA_API,
        "METADATA_IP": security.METADATA_SERVER_IP,
        "KESTRA_CONTAINER_IP": compose.KESTRA_IP,
        "SECRET_ADDER_WINDOW": security.SECRET_ADDER_WINDOW,
        "BASIC_AUTH_PASSWORD_ENV": server_config.BASIC_AUTH_PASSWORD_ENV,
        "METADATA_DB_PASSWORD_ENV": server_config.METADATA_DB_PASSWORD_ENV,
        "ENCRYPTION_KEY_ENV": server_config.ENCRYPTION_KEY_ENV,
        "WEBHOOK_SECRET_ENV": system_flows.WEBHOOK_SECRET_ENV,
        "SYSTEM_NAMESPACE": system_flows.SYSTEM_NAMESPACE,
        "KV_FLOW_ID": system_flows.KV_FLOW_ID,
        "GIT_SYNC_FLOW_ID": system_flows.GIT_SYNC_FLOW_ID,
    }
    lines = ["# Rendered by the gcp stack (stacks/gce/cloud_init.py); names only, no secrets."]
    lines += [f"{name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def system_flow_files(config: VmKestraConfig) -> list[system_flows.SystemFlow]:
    return [
        system_flows.kv_flow(config.kv_values, config.namespace),
        system_flows.git_sync_flow(config.git, config.namespace),
    ]


def render_user_data(config: VmKestraConfig) -> str:
    """The `#cloud-config` document for the instance's `user-data` metadata key."""
    paths = compose.ComposePaths(
        config_file=KESTRA_CONFIG_PATH,
        flows_dir=FLOWS_DIR,
        postgres_data=f"{DATA_MOUNT}/postgres",
        kestra_env_file=f"{RUN_DIR}/kestra.env",
        postgres_env_file=f"{RUN_DIR}/postgres.env",
    )
    files: list[dict[str, Any]] = [
        {"path": BOOT_ENV_PATH, "permissions": "0644", "content": boot_env(config)},
        {"path": KESTRA_CONFIG_PATH, "permissions": "0644", "content": kestra_server_config(config)},
        {
            "path": COMPOSE_PATH,
            "permissions": "0644",
            "content": compose.render_compose(config.kestra_image, config.postgres_image, paths),
        },
        *(
            {"path": f"{FLOWS_DIR}/{flow.filename}", "permissions": "0644", "content": flow.content}
            for flow in system_flow_files(config)
        ),
        {"path": BOOT_SCRIPT_PATH, "permissions": "0755", "content": BOOT_SCRIPT.read_text(encoding="utf-8")},
        {"path": UNIT_PATH, "permissions": "0644", "content": SYSTEMD_UNIT.read_text(encoding="utf-8")},
    ]
    document = {
        "package_update": True,
        "packages": list(PACKAGES),
        "write_files": files,
        "runcmd": [
            ["systemctl", "daemon-reload"],
            # --no-block: cloud-init finishes now; the first start (image pulls) runs on its own.
            ["systemctl", "enable", "--now", "--no-block", "kestra.service"],
        ],
    }
    body = yaml.dump(document, Dumper=_LiteralBlocks, sort_keys=False, default_flow_style=False, width=120)
    return "#cloud-config\n" + body
