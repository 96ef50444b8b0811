"""The `local` stack: everything the workflow-orchestration module needs, on the learner's Docker.

Kestra (standalone server, basic auth, healthcheck) with its own metadata PostgreSQL, a
separate zoomcamp PostgreSQL for the taxi data, optional pgAdmin, and the course flows
shipped as `kestra_flow` resources once Kestra reports healthy, with the dbt project those
flows run as `kestra_namespace_file` resources (stacks/dbt_project.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktf import (
    Fn,
    ITerraformDependable,
    TerraformOutput,
    TerraformStack,
    TerraformVariable,
    TerraformVariableValidationConfig,
)
from cdktf_cdktf_provider_docker.container import (
    Container,
    ContainerHealthcheck,
    ContainerNetworksAdvanced,
    ContainerPorts,
    ContainerUpload,
    ContainerVolumes,
)
from cdktf_cdktf_provider_docker.image import Image
from cdktf_cdktf_provider_docker.network import Network
from cdktf_cdktf_provider_docker.provider import DockerProvider
from cdktf_cdktf_provider_docker.volume import Volume
from constructs import Construct

from stacks import kestra_config, terraform_text
from stacks.course_editions import edition_flows
from stacks.dbt_project import DbtFile
from stacks.docker_postgres import DockerPostgres, DockerPostgresProps, PublishedPort
from stacks.flow_catalog import FlowFile
from stacks.flow_resources import KestraFlows, KestraKvValues
from stacks.kestra import KestraNamespaceFile, KestraNamespaceFileProps, KestraProvider, KestraProviderProps
from stacks.local_credentials import CREDENTIALS_FILE, ENCRYPTION_KEY_VARIABLE, GEMINI_API_KEY_VARIABLE, KEYS, VARIABLES
from stacks.local_gcp import gcp_kv_values, google_credentials_mount
from stacks.local_kv import DATA_PG_ALIAS, local_kv_values
from stacks.sandbox import protect_from_destroy
from stacks.settings import PROJECT_ROOT, LocalSettings, Settings

# Fixed network aliases (see stacks/local_kv.py for DATA_PG_ALIAS, which the flows' KV names).
METADATA_PG_ALIAS = "kestra-postgres"
METADATA_DB = "kestra"
METADATA_USER = "kestra"
DATA_PG_SECRET = "ZOOMCAMP_DB_PASSWORD"
# The AI flows' key: the secret they read, and the flag they check first (set only together with it:
# a flow cannot test for a missing secret, reading one fails) as `envs.gemini_api_key_set`.
GEMINI_SECRET = "GEMINI_API_KEY"
GEMINI_FLAG_ENV = "ENV_GEMINI_API_KEY_SET"


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


def _encryption_key_variable(scope: Construct) -> TerraformVariable:
    return TerraformVariable(
        scope,
        ENCRYPTION_KEY_VARIABLE,
        type="string",
        sensitive=True,
        nullable=False,
        description=f"{KEYS[ENCRYPTION_KEY_VARIABLE]}; generated into .secrets/local.env on the first synth",
        validation=[
            TerraformVariableValidationConfig(
                condition=f'${{can(regex("^[A-Za-z0-9+/]{{43}}=$", var.{ENCRYPTION_KEY_VARIABLE}))}}',
                error_message="Use base64 of 32 random bytes (44 characters), e.g. from: openssl rand -base64 32.",
            )
        ],
    )


def _gemini_api_key_variable(scope: Construct) -> TerraformVariable:
    return TerraformVariable(
        scope,
        GEMINI_API_KEY_VARIABLE,
        type="string",
        sensitive=True,
        nullable=False,
        description=(
            "your Gemini API key, for the AI flows and Kestra's AI Copilot; from GEMINI_API_KEY or "
            "TF_VAR_gemini_api_key in .secrets/local.env"
        ),
    )


def _password_variable(scope: Construct, name: str) -> TerraformVariable:
    return TerraformVariable(
        scope,
        name,
        type="string",
        sensitive=True,
        nullable=False,
        description=f"{VARIABLES[name]}; `make deploy-local` sets it from .secrets/local.env",
        validation=[
            TerraformVariableValidationConfig(
                # `${...}`: in Terraform JSON a bare string is a literal, which init rejects as a condition.
                condition=(
                    f"${{length(var.{name}) >= 8"
                    f' && can(regex("[A-Z]", var.{name})) && can(regex("[0-9]", var.{name}))}}'
                ),
                error_message="Use at least 8 characters with an upper-case letter and a digit.",
            )
        ],
    )


class LocalStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: Settings,
        flows: Sequence[FlowFile],
        dbt_files: Sequence[DbtFile],
    ) -> None:
        super().__init__(scope, id_)
        local = settings.local
        prefix = local.prefix
        DockerProvider(self, "docker")
        passwords = {name: _password_variable(self, name) for name in VARIABLES if name != "pgadmin_password"}
        passwords[ENCRYPTION_KEY_VARIABLE] = _encryption_key_variable(self)

        network = Network(self, "network", name=f"{prefix}-net")

        metadata_pg = DockerPostgres(
            self,
            "metadata_pg",
            props=DockerPostgresProps(
                container_name=f"{prefix}-kestra-postgres",
                volume_name=f"{prefix}-kestra-postgres-data",
                image=local.metadata_pg_image,
                network_name=network.name,
                network_alias=METADATA_PG_ALIAS,
                database=METADATA_DB,
                user=METADATA_USER,
                password=passwords["kestra_db_password"].string_value,
            ),
        )
        data_pg = DockerPostgres(
            self,
            "data_pg",
            props=DockerPostgresProps(
                container_name=f"{prefix}-postgres",
                volume_name=f"{prefix}-postgres-data",
                image=local.data_pg_image,
                network_name=network.name,
                network_alias=DATA_PG_ALIAS,
                database=local.data_db_name,
                user=local.data_db_user,
                password=passwords["zoomcamp_db_password"].string_value,
                published=PublishedPort(host_ip=local.bind_address, host_port=local.data_pg_port),
            ),
        )
        # The databases' volumes hold the learner's data: never destroyed unless sandbox mode.
        for database in (metadata_pg, data_pg):
            protect_from_destroy(database.volume, settings)

        self.kestra = self._kestra(settings, network, metadata_pg, passwords)
        ready: list[ITerraformDependable] = [self.kestra]  # flows and KV wait for a healthy Kestra
        KestraProvider(
            self,
            "kestra_provider",
            props=KestraProviderProps(
                url=local.kestra_url,
                username=settings.kestra.username,
                password=passwords["kestra_password"].string_value,
            ),
        )
        # The course edition's flows, under its ids (a flow's construct id follows its deployed id, so
        # switching ZOOMCAMP_COURSE_EDITION removes the old flows and adds the new ones in a plan).
        self.flows = KestraFlows(self, "flows", flows=edition_flows(flows, settings.course_edition), depends_on=ready)
        # The dbt flows run the project from these files: always the version deployed with them.
        self.dbt_files = [
            KestraNamespaceFile(
                self,
                file.construct_id,
                props=KestraNamespaceFileProps(
                    namespace=settings.kestra.namespace,
                    filename=file.namespace_path,
                    content=terraform_text.literal(file.content),
                ),
                depends_on=ready,
            )
            for file in dbt_files
        ]
        self.kv = KestraKvValues(
            self,
            "kv",
            namespace=settings.kestra.namespace,
            values={
                **local_kv_values(settings),
                # What the course's 04_gcp_kv flow set by hand, from the gcp stack's settings.
                **gcp_kv_values(self, settings),
            },
            depends_on=ready,
        )
        if local.pgadmin_enabled:
            self._pgadmin(settings, network, data_pg)
        self._outputs(settings)

    def _kestra(
        self,
        settings: Settings,
        network: Network,
        metadata_pg: DockerPostgres,
        passwords: dict[str, TerraformVariable],
    ) -> Container:
        local = settings.local
        config = kestra_config.render_kestra_config(
            kestra_config.KestraServerConfig(
                database_host=METADATA_PG_ALIAS,
                database_name=METADATA_DB,
                database_user=METADATA_USER,
                basic_auth_username=settings.kestra.username,
                public_url=local.kestra_url,
                storage=kestra_config.LocalStorage(),
                tutorial_flows=settings.kestra.tutorial_flows,
                ai_copilot=settings.kestra.gemini_api_key is not None,
            )
        )
        gemini_env: list[str] = []
        if settings.kestra.gemini_api_key is not None:  # only then: the stack deploys without a key
            key = _gemini_api_key_variable(self).string_value
            gemini_env = [
                f"SECRET_{GEMINI_SECRET}={Fn.base64encode(key)}",
                f"{kestra_config.GEMINI_API_KEY_ENV}={key}",
                f"{GEMINI_FLAG_ENV}=true",
            ]
        google_volumes, google_env = google_credentials_mount(settings)
        image = Image(self, "kestra_image", name=settings.kestra.image, keep_locally=True)
        storage = Volume(self, "kestra_storage", name=f"{local.prefix}-kestra-storage")
        # KV values and execution files live here; Kestra's (protected) database points into it.
        protect_from_destroy(storage, settings)
        return Container(
            self,
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
                f"{kestra_config.BASIC_AUTH_PASSWORD_ENV}={passwords['kestra_password'].string_value}",
                f"{kestra_config.METADATA_DB_PASSWORD_ENV}={passwords['kestra_db_password'].string_value}",
                f"{kestra_config.ENCRYPTION_KEY_ENV}={passwords[ENCRYPTION_KEY_VARIABLE].string_value}",
                # Open-source Kestra reads secrets from SECRET_* variables holding base64.
                f"SECRET_{DATA_PG_SECRET}={Fn.base64encode(passwords['zoomcamp_db_password'].string_value)}",
                *gemini_env,
                *google_env,
            ],
            volumes=[
                ContainerVolumes(volume_name=storage.name, container_path="/app/storage"),
                ContainerVolumes(host_path=local.docker_socket, container_path="/var/run/docker.sock"),
                ContainerVolumes(
                    host_path=kestra_config.TASK_WORKING_DIR, container_path=kestra_config.TASK_WORKING_DIR
                ),
                *google_volumes,
            ],
            networks_advanced=[ContainerNetworksAdvanced(name=network.name, aliases=["kestra"])],
            ports=[ContainerPorts(internal=8080, external=local.kestra_port, ip=local.bind_address)],
            healthcheck=ContainerHealthcheck(
                test=kestra_config.healthcheck_command(),
                interval="10s",
                timeout="5s",
                retries=30,
                start_period="60s",
            ),
            wait=True,
            wait_timeout=600,
            depends_on=[metadata_pg.container],
        )

    def _pgadmin(self, settings: Settings, network: Network, data_pg: DockerPostgres) -> None:
        local = settings.local
        password = _password_variable(self, "pgadmin_password")
        image = Image(self, "pgadmin_image", name=local.pgadmin_image, keep_locally=True)
        volume = Volume(self, "pgadmin_data", name=f"{local.prefix}-pgadmin-data")
        Container(
            self,
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

    def _outputs(self, settings: Settings) -> None:
        local = settings.local
        credentials = str(CREDENTIALS_FILE.relative_to(PROJECT_ROOT))
        TerraformOutput(self, "kestra_url", value=local.kestra_url)
        TerraformOutput(self, "kestra_username", value=settings.kestra.username)
        TerraformOutput(self, "credentials_file", value=credentials)
        TerraformOutput(
            self,
            "data_postgres",
            value={
                "host": local.data_pg_host,
                "port": local.data_pg_port,
                "database": local.data_db_name,
                "user": local.data_db_user,
                "password": f"TF_VAR_zoomcamp_db_password in {credentials}",
                "from_kestra": f"{DATA_PG_ALIAS}:5432",
            },
        )
        if local.pgadmin_enabled:
            TerraformOutput(self, "pgadmin_url", value=f"http://localhost:{local.pgadmin_port}")
