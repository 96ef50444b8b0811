"""The `local` stack: the course's module 2 on the learner's Docker (LocalStack, in stack.py).

- stack: LocalStack, the table of contents (network, databases, Kestra, flows, dbt files, KV, outputs);
- kestra_server: the Kestra container, its image and storage volume; pgadmin: the optional pgAdmin;
- docker_postgres: a PostgreSQL container with its volume (used twice: Kestra's metadata, the taxi data);
- flow_resources: the flows and KV values as Kestra provider resources; kv: the KV values and the
  data database's network alias; gcp_access: the GCP KV values and the Google credentials mount;
- variables: the sensitive Terraform variables the passwords arrive by; credentials: where their values
  live (.secrets/local.env) and the tfvars file main.py writes beside the synthesized stack.

LocalStack is imported lazily: main.py and the settings import `stacks.local.credentials` before (or
without) cdktf, so the package itself loads nothing heavy. Imports as the `stacks` package says.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalStack"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from stacks.local.stack import LocalStack

        return LocalStack
    raise AttributeError(name)
