"""What the learner reads before and after a deploy: what will be created, and what to do next.

Both come from data, never from hopes: the preview from the synthesized Terraform JSON (the
exact resources Terraform is handed), the local summary from the stack's synthesized
outputs (literal values: URL, user, where each password lives) plus the flow catalog, the
gcp summary from `terraform output` after the apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flowcheck.flow_catalog import FlowFile

# Resource type -> how a learner calls it; other types are shown by their Terraform name.
FRIENDLY_TYPES: dict[str, str] = {
    "docker_container": "containers",
    "docker_image": "images",
    "docker_network": "networks",
    "docker_volume": "volumes",
    "kestra_flow": "flows",
    "kestra_kv": "KV values",
    "kestra_namespace_file": "namespace files",
    "google_storage_bucket": "buckets",
    "google_bigquery_dataset": "BigQuery datasets",
    "google_service_account": "service accounts",
    "google_compute_instance": "VMs",
    "google_compute_firewall": "firewall rules",
}
_LABEL_ATTRIBUTES = ("name", "key", "flow_id", "dataset_id", "account_id")


def _label(construct_id: str, resource: Mapping[str, Any]) -> str:
    for attribute in _LABEL_ATTRIBUTES:
        value = resource.get(attribute)
        if isinstance(value, str) and "${" not in value:
            namespace = resource.get("namespace")
            if attribute == "flow_id" and isinstance(namespace, str):
                return f"{namespace}/{value}"
            return value
    return construct_id


def resource_preview(stack_json: Mapping[str, Any]) -> list[str]:
    """One line per resource type: `containers (3): a, b, c`; duplicates (same image) once."""
    lines = []
    for resource_type, resources in sorted(stack_json.get("resource", {}).items()):
        labels = sorted(dict.fromkeys(_label(cid, res) for cid, res in resources.items()))
        name = FRIENDLY_TYPES.get(resource_type, resource_type)
        lines.append(f"{name} ({len(resources)}): {', '.join(labels)}")
    return lines


def outputs_of(stack_json: Mapping[str, Any]) -> dict[str, Any]:
    """The synthesized outputs whose values are literals (no `${...}` left for Terraform)."""
    values = {}
    for name, output in stack_json.get("output", {}).items():
        value = output.get("value")
        if "${" not in repr(value):
            values[name] = value
    return values


def _row(label: str, text: str) -> str:
    return f"  {label:<16} {text}"


def local_summary(outputs: Mapping[str, Any], flows: Sequence[FlowFile], health: str, destroy: str) -> str:
    url = str(outputs.get("kestra_url", ""))
    secrets = str(outputs.get("credentials_file", ".secrets/local.env"))
    lines = [f"Kestra is ready ({health}).", ""]
    if url:
        lines.append(_row("Kestra UI", url))
    if "kestra_username" in outputs:
        lines.append(_row("Username", str(outputs["kestra_username"])))
    lines.append(_row("Password", f"TF_VAR_kestra_password in {secrets} (`grep kestra_password {secrets}`)"))
    if flows:
        namespaces = ", ".join(sorted({flow.namespace for flow in flows}))
        lines.append(_row("Flows loaded", f"{len(flows)} in namespace {namespaces}"))
        lines += [_row("", f"- {flow.flow_id}") for flow in flows]
        first = flows[0]
        where = f"{url}/ui/main/flows/edit/{first.namespace}/{first.flow_id}" if url else "the Kestra UI"
        lines.append(_row("Run a first flow", f"open {where} and press Execute"))
    database = outputs.get("data_postgres")
    if isinstance(database, Mapping):
        host, port = database.get("host"), database.get("port")
        name, user = database.get("database"), database.get("user")
        lines.append(_row("Taxi PostgreSQL", f"host {host}, port {port}, database {name}, user {user}"))
        if database.get("password"):
            lines.append(_row("", f"password: {database['password']}"))
        lines.append(_row("", f"e.g. `psql -h {host} -p {port} -U {user} -d {name}`"))
        if database.get("from_kestra"):
            lines.append(_row("", f"from Kestra flows: {database['from_kestra']}"))
    if "pgadmin_url" in outputs:
        lines.append(_row("pgAdmin", f"{outputs['pgadmin_url']} (password: TF_VAR_pgadmin_password in {secrets})"))
    lines.append(_row("Remove it", destroy))
    return "\n".join(lines)


def gcp_summary(outputs: Mapping[str, Mapping[str, Any]], destroy: str) -> str:
    """From `terraform output -json`: every non-sensitive output, one line each."""
    lines = ["The gcp stack is deployed.", ""]
    for name, output in sorted(outputs.items()):
        value = "(sensitive: `terraform output` shows it)" if output.get("sensitive") else output.get("value")
        lines.append(_row(name, str(value)))
    lines.append(_row("Remove it", destroy))
    return "\n".join(lines)
