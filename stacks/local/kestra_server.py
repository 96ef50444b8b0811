"""The local Kestra: its image, its storage volume and the container that runs `server standalone`.

The server configuration is the one both stacks render (stacks/kestra/server_config.py); what is
local here is where it runs: basic auth and the metadata PostgreSQL by their network aliases, the
host's Docker socket for script tasks, the UI published on the bind address only, and the
passwords as Terraform variables (never literals), handed to Kestra in its environment.

`kestra_server` is a function, not a Construct: its resources are created in the stack itself,
where their Terraform addresses (`docker_container.kestra`, the protected
`docker_volume.kestra_storage`) have always been. A construct of their own would rename them, and
Terraform would replace a learner's running Kestra (and refuse, for the protected volume).
"""

from __future__ import annotations

from collections.abc import Mapping

from cdktf import Fn, TerraformVariable
from cdktf_cdktf_provider_docker.container import (
    Container,
    ContainerHealthcheck,
    ContainerNetworksAdvanced,
    ContainerPorts,
    ContainerVolumes,
)
from cdktf_cdktf_provider_docker.image import Image
from cdktf_cdktf_provider_docker.network import Network
from cdktf_cdktf_provider_docker.volume import Volume
from constructs import Construct

from stacks import terraform_text
from stacks.kestra import server_config
from stacks.local.credentials import ENCRYPTION_KEY_VARIABLE
from stacks.local.docker_postgres import DockerPostgres
from stacks.local.gcp_access import google_credentials_mount, token_broker_access
from stacks.local.variables import gemini_api_key_variable
from stacks.sandbox import protect_from_destroy
from stacks.settings import Settings

# Kestra's metadata database, by its fixed network alias (see stacks/local/kv.py for DATA_PG_ALIAS,
# the data database's, which the flows' KV names).
METADATA_PG_ALIAS = "kestra-postgres"
METADATA_DB = "kestra"
METADATA_USER = "kestra"
DATA_PG_SECRET = "ZOOMCAMP_DB_PASSWORD"


def kestra_server(
    scope: Construct,
    *,
    settings: Settings,
    network: Network,
    metadata_pg: DockerPostgres,
    passwords: Mapping[str, TerraformVariable],
) -> Container:
    """The Kestra container, healthy before `cdktf deploy` goes on (`wait`), in `scope` itself."""
    local = settings.local
    config = server_config.render_kestra_config(
        server_config.KestraServerConfig(
            database_host=METADATA_PG_ALIAS,
            database_name=METADATA_DB,
            database_user=METADATA_USER,
            basic_auth_username=settings.kestra.username,
            public_url=local.kestra_url,
            storage=server_config.LocalStorage(),
            tutorial_flows=settings.kestra.tutorial_flows,
            ai_copilot=settings.kestra.gemini_api_key is not None,
        )
    )
    # The AI Copilot's key, only when given (the stack deploys without one). Not a Kestra secret:
    # no flow can read it; the AI flows read the KV pair GEMINI_API_KEY the learner adds, as the course does.
    gemini_env: list[str] = []
    if settings.kestra.gemini_api_key is not None:
        gemini_env = [f"{server_config.GEMINI_API_KEY_ENV}={gemini_api_key_variable(scope).string_value}"]
    google_volumes, google_env = google_credentials_mount(settings)
    broker_hosts, broker_env = token_broker_access(settings)
    image = Image(scope, "kestra_image", name=settings.kestra.image, keep_locally=True)
    storage = Volume(scope, "kestra_storage", name=f"{local.prefix}-kestra-storage")
    # KV values and execution files live here; Kestra's (protected) database points into it.
    protect_from_destroy(storage, settings)
    return Container(
        scope,
        "kestra",
        name=f"{local.prefix}-kestra",
        image=image.image_id,
        command=["server", "standalone"],
        # Root inside the container only to use the host's Docker socket for script tasks
        # (Kestra's documented local setup); the UI port is published on localhost only.
        user="root",
        restart="unless-stopped",
        must_run=True,
        env=[
            f"KESTRA_CONFIGURATION={terraform_text.literal(config)}",
            f"{server_config.BASIC_AUTH_PASSWORD_ENV}={passwords['kestra_password'].string_value}",
            f"{server_config.METADATA_DB_PASSWORD_ENV}={passwords['kestra_db_password'].string_value}",
            f"{server_config.ENCRYPTION_KEY_ENV}={passwords[ENCRYPTION_KEY_VARIABLE].string_value}",
            # Open-source Kestra reads secrets from SECRET_* variables holding base64.
            f"SECRET_{DATA_PG_SECRET}={Fn.base64encode(passwords['zoomcamp_db_password'].string_value)}",
            *gemini_env,
            *google_env,
            *broker_env,
        ],
        host=broker_hosts or None,
        volumes=[
            ContainerVolumes(volume_name=storage.name, container_path="/app/storage"),
            ContainerVolumes(host_path=local.docker_socket, container_path="/var/run/docker.sock"),
            ContainerVolumes(host_path=server_config.TASK_WORKING_DIR, container_path=server_config.TASK_WORKING_DIR),
            *google_volumes,
        ],
        networks_advanced=[ContainerNetworksAdvanced(name=network.name, aliases=["kestra"])],
        ports=[ContainerPorts(internal=8080, external=local.kestra_port, ip=local.bind_address)],
        healthcheck=ContainerHealthcheck(
            test=server_config.healthcheck_command(),
            interval="10s",
            timeout="5s",
            retries=30,
            start_period="60s",
        ),
        wait=True,
        wait_timeout=600,
        depends_on=[metadata_pg.container],
    )
