"""The KV values the local stack sets in its Kestra namespace, and the name the flows reach the data by.

Configuration only, never credentials (KV values sit unmasked in Terraform state): where the
taxi data PostgreSQL is as seen from Kestra, and the Docker network task containers join. The
local stack ships them (stacks/local/stack.py, plus the GCP values of stacks/local/gcp_access.py when a
project is known) and `make smoke` checks they are there; both read them from here.
"""

from __future__ import annotations

from stacks.settings import Settings

# Fixed network alias: the flows reach the data database by this name whatever the container
# prefix is (Kestra on Linux cannot rely on host.docker.internal).
DATA_PG_ALIAS = "zoomcamp-postgres"


def local_kv_values(settings: Settings) -> dict[str, tuple[str, str]]:
    """KV key -> (value, what it means) of the local stack, without the optional GCP ones.

    The meaning is for readers of this file only: the provider's kestra_kv has no
    description attribute, so it is not sent to Kestra.
    """
    local = settings.local
    return {
        "ZOOMCAMP_PG_URL": (
            f"jdbc:postgresql://{DATA_PG_ALIAS}:5432/{local.data_db_name}",
            "JDBC URL of the zoomcamp data PostgreSQL, as seen from Kestra",
        ),
        "ZOOMCAMP_PG_USER": (local.data_db_user, "user of the zoomcamp data PostgreSQL"),
        "ZOOMCAMP_PG_DB": (local.data_db_name, "database of the zoomcamp data PostgreSQL"),
        "ZOOMCAMP_DOCKER_NETWORK": (
            f"{local.prefix}-net",
            "Docker network of the local stack, for task containers that reach the databases",
        ),
    }
