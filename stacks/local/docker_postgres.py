"""A PostgreSQL container with its own volume and a pg_isready healthcheck.

Used twice by the local stack: Kestra's metadata database and the learners' zoomcamp data
database. Terraform waits until the container is healthy, so whatever depends on it (Kestra,
the flows) never races a database that is still initialising.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_docker.container import (
    Container,
    ContainerHealthcheck,
    ContainerNetworksAdvanced,
    ContainerPorts,
    ContainerVolumes,
)
from cdktf_cdktf_provider_docker.image import Image
from cdktf_cdktf_provider_docker.volume import Volume
from constructs import Construct

DATA_PATH = "/var/lib/postgresql/data"


@dataclass(frozen=True, kw_only=True)
class PublishedPort:
    host_ip: str
    host_port: int


@dataclass(frozen=True, kw_only=True)
class DockerPostgresProps:
    container_name: str
    volume_name: str
    image: str
    network_name: str
    network_alias: str
    database: str
    user: str
    password: str  # a Terraform expression (sensitive variable), never a literal
    published: PublishedPort | None = None


class DockerPostgres(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: DockerPostgresProps) -> None:
        super().__init__(scope, id_)
        image = Image(self, "image", name=props.image, keep_locally=True)
        self.volume = Volume(self, "volume", name=props.volume_name)
        ports = (
            [ContainerPorts(internal=5432, external=props.published.host_port, ip=props.published.host_ip)]
            if props.published
            else None
        )
        self.container = Container(
            self,
            "container",
            name=props.container_name,
            image=image.image_id,
            restart="unless-stopped",
            must_run=True,
            env=[
                f"POSTGRES_DB={props.database}",
                f"POSTGRES_USER={props.user}",
                f"POSTGRES_PASSWORD={props.password}",
            ],
            volumes=[ContainerVolumes(volume_name=self.volume.name, container_path=DATA_PATH)],
            networks_advanced=[ContainerNetworksAdvanced(name=props.network_name, aliases=[props.network_alias])],
            ports=ports,
            healthcheck=ContainerHealthcheck(
                test=["CMD", "pg_isready", "-U", props.user, "-d", props.database],
                interval="5s",
                timeout="5s",
                retries=20,
                start_period="10s",
            ),
            wait=True,
            wait_timeout=120,
        )
