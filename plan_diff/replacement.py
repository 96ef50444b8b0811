"""Which attribute changes make Terraform replace a resource instead of updating it.

Without provider schemas the diff cannot know for sure, so this table lists the attributes
the providers mark ForceNew for the resource types our stacks use (read from the providers'
documentation; approximate by design). A type missing here is reported as "update,
replacement unknown" rather than guessed. The real `cdktf diff` in the PR workflow is the
authority when the repository has cloud credentials.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReplacementRule:
    """`force_new` lists top-level attributes that force replacement; with `all_but`, every
    attribute forces it except the ones listed (docker containers are immutable but for a few)."""

    force_new: frozenset[str] = frozenset()
    all_but: frozenset[str] | None = None

    def forces_replacement(self, attribute: str) -> bool:
        if self.all_but is not None:
            return attribute not in self.all_but
        return attribute in self.force_new


def _only(*names: str) -> ReplacementRule:
    return ReplacementRule(force_new=frozenset(names))


def _all_but(*names: str) -> ReplacementRule:
    return ReplacementRule(all_but=frozenset(names))


# Meta-arguments never force replacement by themselves.
_META = ("lifecycle", "provider", "depends_on", "count", "for_each", "timeouts")

RULES: dict[str, ReplacementRule] = {
    # kreuzwerker/docker 3.x: a container is recreated for nearly any change.
    "docker_container": _all_but(
        *_META,
        "restart",
        "must_run",
        "wait",
        "wait_timeout",
        "start",
        "destroy_grace_seconds",
        "memory",
        "memory_swap",
        "cpu_shares",
        "healthcheck_wait",
    ),
    "docker_image": _only("name", "build", "platform", "triggers", "pull_triggers"),
    "docker_volume": _all_but(*_META),
    "docker_network": _all_but(*_META),
    # kestra-io/kestra, the pinned release's ForceNew attributes (tests/unit/test_kestra_bindings.py
    # keeps them equal to tests/fixtures/kestra_provider_schema.json)
    "kestra_flow": _only("namespace", "flow_id", "tenant_id"),
    "kestra_kv": _only("namespace", "key", "tenant_id"),
    "kestra_namespace_file": _only("namespace", "filename", "content", "tenant_id"),  # all ForceNew
    # hashicorp/google
    "google_storage_bucket": _only("name", "location", "project"),
    "google_bigquery_dataset": _only("dataset_id", "location", "project"),
    "google_bigquery_table": _only("dataset_id", "table_id", "project"),
    "google_service_account": _only("account_id", "project"),
    "google_project_iam_member": _all_but(*_META),
    "google_storage_bucket_iam_member": _all_but(*_META),
    "google_bigquery_dataset_iam_member": _all_but(*_META),
    "google_service_account_iam_member": _all_but(*_META),
    "google_secret_manager_secret_iam_member": _all_but(*_META),
    "google_project_service": _only("service", "project"),
    "google_compute_instance": _only(
        "name",
        "zone",
        "project",
        "boot_disk",
        "network_interface",
        "scratch_disk",
        "metadata_startup_script",
        "reservation_affinity",
    ),
    "google_compute_disk": _only("name", "zone", "project", "type", "image", "snapshot", "physical_block_size_bytes"),
    "google_compute_firewall": _only("name", "network", "project", "direction"),
    "google_compute_network": _only("name", "project", "auto_create_subnetworks"),
    "google_compute_subnetwork": _only("name", "network", "region", "project"),
    "google_compute_address": _only("name", "region", "project", "address_type", "address", "subnetwork"),
    "google_compute_router": _only("name", "network", "region", "project"),
    "google_compute_router_nat": _only("name", "router", "region", "project"),
    "google_secret_manager_secret": _only("secret_id", "project", "replication"),
    "google_secret_manager_secret_version": _only("secret", "secret_data"),
    # Terraform's built-in, hashicorp/random, hashicorp/null
    "terraform_data": _only("triggers_replace"),
    "random_password": _all_but(*_META),
    "random_id": _all_but(*_META),
    "null_resource": _only("triggers"),
}


def rule_for(resource_type: str) -> ReplacementRule | None:
    """The rule for a type, or None when the table does not know it."""
    return RULES.get(resource_type)
