"""The docker compose file that runs Kestra and its metadata PostgreSQL on the VM.

Same images as the local stack (stacks/versions.py via settings) and the same healthcheck;
PostgreSQL keeps its data on the persistent data disk, bound with `create_host_path: false`
so that, should the disk ever be missing, the container fails instead of quietly starting an
empty database on the boot disk.

Both services sit on one network with a fixed subnet, and Kestra at a fixed address: the boot
script lets only that address reach the metadata server (169.254.169.254), so Kestra's own process
gets the VM's token while the containers its Docker task runner starts (on the host's default
bridge, or on this network at another address) do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from stacks.kestra import server_config

METADATA_DB = "kestra"
METADATA_USER = "kestra"
POSTGRES_SERVICE = "postgres"
KESTRA_SERVICE = "kestra"
KESTRA_PORT = 8080
NETWORK = "kestra"
# Clear of Docker's default bridge (172.17.0.0/16) and of the VM's subnet (stacks/gcp/network.py).
NETWORK_SUBNET = "172.30.0.0/24"
KESTRA_IP = "172.30.0.10"


def _bounded_logs() -> dict[str, Any]:
    """A learner's VM must not fill its disk with container logs (a fresh dict: no YAML anchors)."""
    return {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}


@dataclass(frozen=True)
class ComposePaths:
    config_file: str
    flows_dir: str
    postgres_data: str
    kestra_env_file: str
    postgres_env_file: str


def render_compose(kestra_image: str, postgres_image: str, paths: ComposePaths) -> str:
    postgres: dict[str, Any] = {
        "image": postgres_image,
        "restart": "unless-stopped",
        "environment": {"POSTGRES_DB": METADATA_DB, "POSTGRES_USER": METADATA_USER},
        "env_file": [paths.postgres_env_file],
        "networks": [NETWORK],
        "volumes": [
            {
                "type": "bind",
                "source": paths.postgres_data,
                "target": "/var/lib/postgresql/data",
                "bind": {"create_host_path": False},
            }
        ],
        "healthcheck": {
            "test": ["CMD", "pg_isready", "-U", METADATA_USER, "-d", METADATA_DB],
            "interval": "5s",
            "timeout": "5s",
            "retries": 20,
            "start_period": "10s",
        },
        "logging": _bounded_logs(),
    }
    kestra: dict[str, Any] = {
        "image": kestra_image,
        # Root inside the container only to use the host's Docker socket for script tasks,
        # as in the local stack (Kestra's documented Docker setup).
        "user": "root",
        "command": ["server", "standalone", "--config", paths.config_file, "--flow-path", paths.flows_dir],
        "restart": "unless-stopped",
        "env_file": [paths.kestra_env_file],
        "networks": {NETWORK: {"ipv4_address": KESTRA_IP}},
        # Reachable only through the firewall rules: the IAP range, plus an optional allowlist.
        "ports": [f"{KESTRA_PORT}:{KESTRA_PORT}"],
        "volumes": [
            f"{paths.config_file}:{paths.config_file}:ro",
            f"{paths.flows_dir}:{paths.flows_dir}:ro",
            "/var/run/docker.sock:/var/run/docker.sock",
            f"{server_config.TASK_WORKING_DIR}:{server_config.TASK_WORKING_DIR}",
        ],
        "depends_on": {POSTGRES_SERVICE: {"condition": "service_healthy"}},
        "healthcheck": {
            "test": server_config.healthcheck_command(),
            "interval": "10s",
            "timeout": "5s",
            "retries": 30,
            "start_period": "60s",
        },
        "logging": _bounded_logs(),
    }
    document = {
        "name": "kestra",
        "services": {POSTGRES_SERVICE: postgres, KESTRA_SERVICE: kestra},
        "networks": {NETWORK: {"ipam": {"config": [{"subnet": NETWORK_SUBNET}]}}},
    }
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)
