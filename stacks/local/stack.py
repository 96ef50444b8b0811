"""The `local` stack: everything the workflow-orchestration module needs, on the learner's Docker.

Kestra (standalone server, basic auth, healthcheck; stacks/local/kestra_server.py) with its own
metadata PostgreSQL, a separate zoomcamp PostgreSQL for the taxi data, optional pgAdmin
(stacks/local/pgadmin.py), and the course flows shipped as `kestra_flow` resources once Kestra
reports healthy, with the dbt project those flows run as `kestra_namespace_file` resources
(stacks/dbt_project.py). This class is the table of contents: each part is built where its
module says, in the stack's own scope, so every Terraform address stays where it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_docker.network import Network
from cdktf_cdktf_provider_docker.provider import DockerProvider
from constructs import Construct

from flowcheck.flow_catalog import FlowFile
from stacks import terraform_text
from stacks.dbt_project import DbtFile
from stacks.kestra import KestraNamespaceFile, KestraNamespaceFileProps, KestraProvider, KestraProviderProps
from stacks.local.credentials import CREDENTIALS_FILE, ENCRYPTION_KEY_VARIABLE, VARIABLES
from stacks.local.docker_postgres import DockerPostgres, DockerPostgresProps, PublishedPort
from stacks.local.flow_resources import KestraFlows, KestraKvValues
from stacks.local.gcp_access import gcp_kv_values
from stacks.local.kestra_server import METADATA_DB, METADATA_PG_ALIAS, METADATA_USER, kestra_server
from stacks.local.kv import DATA_PG_ALIAS, local_kv_values
from stacks.local.pgadmin import pgadmin
from stacks.local.variables import encryption_key_variable, password_variable
from stacks.sandbox import protect_from_destroy
from stacks.settings import PROJECT_ROOT, Settings


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
        passwords = {name: password_variable(self, name) for name in VARIABLES if name != "pgadmin_password"}
        passwords[ENCRYPTION_KEY_VARIABLE] = encryption_key_variable(self)

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

        self.kestra = kestra_server(
            self, settings=settings, network=network, metadata_pg=metadata_pg, passwords=passwords
        )
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
        # Every flow of flows/, as written (build_app passes the catalog; a flow's construct id
        # follows its id, so renaming a flow shows as remove + add in a plan).
        self.flows = KestraFlows(self, "flows", flows=flows, depends_on=ready)
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
            pgadmin(self, settings=settings, network=network, data_pg=data_pg)
        self._outputs(settings)

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
