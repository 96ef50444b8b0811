"""The optional pgAdmin (PGADMIN_ENABLED=true): a browser UI on the taxi data PostgreSQL.

Like kestra_server, a function creating its resources in the stack itself (their Terraform
addresses stay `docker_container.pgadmin`, `docker_volume.pgadmin_data`, ...).
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_docker.container import (
    Container,
    ContainerNetworksAdvanced,
    ContainerPorts,
    ContainerUpload,
    ContainerVolumes,
)
from cdktf_cdktf_provider_docker.image import Image
from cdktf_cdktf_provider_docker.network import Network
from cdktf_cdktf_provider_docker.volume import Volume
from constructs import Construct

from stacks.local.docker_postgres import DockerPostgres
from stacks.local.kv import DATA_PG_ALIAS
from stacks.local.variables import password_variable
from stacks.settings import LocalSettings, Settings

PGADMIN_SERVERS_FILE = "/pgadmin4/servers.json"


def pgadmin_servers_json(local: LocalSettings) -> str:
    """pgAdmin's server list with the taxi database, reached by its network alias."""
    server = {
        "Name": "zoomcamp (taxi data)",
        "Group": "Servers",
        "Host": DATA_PG_ALIAS,
        "Port": 5432,
        "MaintenanceDB": local.data_db_name,
        "Username": local.data_db_user,
        "SSLMode": "prefer",
    }
    return json.dumps({"Servers": {"1": server}}, indent=2)


def pgadmin(scope: Construct, *, settings: Settings, network: Network, data_pg: DockerPostgres) -> Container:
    local = settings.local
    password = password_variable(scope, "pgadmin_password")
    image = Image(scope, "pgadmin_image", name=local.pgadmin_image, keep_locally=True)
    volume = Volume(scope, "pgadmin_data", name=f"{local.prefix}-pgadmin-data")
    return Container(
        scope,
        "pgadmin",
        name=f"{local.prefix}-pgadmin",
        image=image.image_id,
        restart="unless-stopped",
        env=[
            f"PGADMIN_DEFAULT_EMAIL={settings.kestra.username}",
            f"PGADMIN_DEFAULT_PASSWORD={password.string_value}",
        ],
        volumes=[ContainerVolumes(volume_name=volume.name, container_path="/var/lib/pgadmin")],
        # The taxi database is already registered at first login (pgAdmin imports this file
        # once); only its password is asked for, never stored here.
        upload=[ContainerUpload(file=PGADMIN_SERVERS_FILE, content=pgadmin_servers_json(local))],
        networks_advanced=[ContainerNetworksAdvanced(name=network.name)],
        ports=[ContainerPorts(internal=80, external=local.pgadmin_port, ip=local.bind_address)],
        depends_on=[data_pg.container],
    )
