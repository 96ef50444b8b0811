"""Every gcp policy rule (tests/policy/gcp_rules.py) fails on a deliberately broken copy of the stack.

A rule that cannot fail proves nothing: each case below breaks one property of the real
synthesized stack and asserts the rule names it. test_gcp_stack.py asserts the rules hold on
the unbroken stack.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from stacks.gce import cloud_init
from tests.policy.gcp_rules import (
    buckets_are_private_and_protected,
    dataset_is_protected,
    iam_is_scoped,
    ingress_is_iap_or_allowlist,
    no_secret_values,
    no_service_account_keys,
    of_type,
    raw_csvs_expire,
    secret_versions_added_only_at_first_boot,
    task_containers_off_the_metadata_server,
    vm_is_hardened,
)

Synth = dict[str, Any]


def first(synth: Synth, resource_type: str, name_part: str = "") -> dict[str, Any]:
    return next(body for name, body in of_type(synth, resource_type).items() if name_part in name)


def vm(synth: Synth) -> dict[str, Any]:
    return first(synth, "google_compute_instance")


def add(resource_type: str, body: dict[str, Any]) -> Callable[[Synth], None]:
    def mutate(synth: Synth) -> None:
        synth["resource"].setdefault(resource_type, {})["planted"] = body

    return mutate


def set_in(resource_type: str, name_part: str, key: str, value: Any) -> Callable[[Synth], None]:
    def mutate(synth: Synth) -> None:
        first(synth, resource_type, name_part)[key] = value

    return mutate


def set_metadata(key: str, value: str | None) -> Callable[[Synth], None]:
    def mutate(synth: Synth) -> None:
        if value is None:
            vm(synth)["metadata"].pop(key)
        else:
            vm(synth)["metadata"][key] = value

    return mutate


def edit_user_data(old: str, new: str) -> Callable[[Synth], None]:
    def mutate(synth: Synth) -> None:
        metadata = vm(synth)["metadata"]
        assert old in metadata["user-data"], old
        metadata["user-data"] = metadata["user-data"].replace(old, new)

    return mutate


def edit_kestra_service(change: Callable[[dict[str, Any]], None]) -> Callable[[Synth], None]:
    """Changes the Kestra service of the compose file inside the user-data (parsed, not by text)."""

    def mutate(synth: Synth) -> None:
        metadata = vm(synth)["metadata"]
        document = yaml.safe_load(metadata["user-data"].replace("$${", "${"))
        (entry,) = [f for f in document["write_files"] if f["path"] == cloud_init.COMPOSE_PATH]
        compose_file = yaml.safe_load(entry["content"])
        change(compose_file["services"]["kestra"])
        entry["content"] = yaml.safe_dump(compose_file)
        metadata["user-data"] = "#cloud-config\n" + yaml.safe_dump(document).replace("${", "$${")

    return mutate


def host_network(kestra: dict[str, Any]) -> None:
    kestra.pop("networks")
    kestra["network_mode"] = "host"


def drop_raw_csv_rule(synth: Synth) -> None:
    bucket = first(synth, "google_storage_bucket", "data_bucket")
    bucket["lifecycle_rule"] = [r for r in bucket["lifecycle_rule"] if "matches_suffix" not in r["condition"]]


def public_ip(synth: Synth) -> None:
    vm(synth)["network_interface"][0]["access_config"] = [{}]


def member(role: str) -> dict[str, str]:
    return {
        "project": "p",
        "role": role,
        "member": "serviceAccount:${google_service_account.identity_account_4CCBDC4E.email}",
    }


KESTRA_ALLOW = [{"protocol": "tcp", "ports": ["8080"]}]
WORLD_SSH = {
    "name": "ssh",
    "network": "n",
    "direction": "INGRESS",
    "source_ranges": ["0.0.0.0/0"],
    "allow": [{"protocol": "tcp", "ports": ["22"]}],
}

CASES: list[tuple[str, Callable[[Synth], list[str]], Callable[[Synth], None], str]] = [
    (
        "sa-key",
        no_service_account_keys,
        add("google_service_account_key", {"service_account_id": "x"}),
        "google_service_account_key.planted exists",
    ),
    (
        "editor",
        iam_is_scoped,
        add("google_project_iam_member", member("roles/editor")),
        "grants the basic role roles/editor",
    ),
    (
        "project-role",
        iam_is_scoped,
        add("google_project_iam_member", member("roles/storage.admin")),
        "grants roles/storage.admin",
    ),
    (
        "bucket-role",
        iam_is_scoped,
        set_in("google_storage_bucket_iam_member", "bucket_0", "role", "roles/storage.admin"),
        "grants roles/storage.admin",
    ),
    (
        "binding",
        iam_is_scoped,
        add("google_project_iam_binding", {"project": "p", "role": "roles/viewer", "members": []}),
        "is authoritative IAM",
    ),
    (
        "public-member",
        iam_is_scoped,
        set_in("google_storage_bucket_iam_member", "bucket_0", "member", "allUsers"),
        "grants to allUsers",
    ),
    (
        "unexpected-grant",
        iam_is_scoped,
        add("google_service_account_iam_member", member("roles/iam.serviceAccountUser")),
        "no grants of this kind",
    ),
    (
        "pap",
        lambda s: buckets_are_private_and_protected(s, False),
        set_in("google_storage_bucket", "data", "public_access_prevention", "inherited"),
        "public access prevention is not enforced",
    ),
    (
        "uniform",
        lambda s: buckets_are_private_and_protected(s, False),
        set_in("google_storage_bucket", "kestra", "uniform_bucket_level_access", False),
        "uniform bucket-level access is off",
    ),
    (
        "versioning",
        lambda s: buckets_are_private_and_protected(s, False),
        set_in("google_storage_bucket", "data", "versioning", {"enabled": False}),
        "versioning is off",
    ),
    (
        "force-destroy",
        lambda s: buckets_are_private_and_protected(s, False),
        set_in("google_storage_bucket", "data", "force_destroy", True),
        "force_destroy is True, sandbox is False",
    ),
    (
        "raw-csv-rule",
        lambda s: raw_csvs_expire(s, "zoomcamp-test-project-zoomcamp-data", 30),
        drop_raw_csv_rule,
        "no rule deletes raw monthly CSVs",
    ),
    (
        "dataset-destroy",
        lambda s: dataset_is_protected(s, False),
        set_in("google_bigquery_dataset", "", "delete_contents_on_destroy", True),
        "delete_contents_on_destroy is not False",
    ),
    (
        "dataset-location",
        lambda s: dataset_is_protected(s, False),
        set_in("google_bigquery_dataset", "", "location", "US"),
        "location US is not the buckets'",
    ),
    (
        "dataset-access",
        lambda s: dataset_is_protected(s, False),
        set_in("google_bigquery_dataset", "", "access", [{"role": "READER", "special_group": "allAuthenticatedUsers"}]),
        "inline access blocks",
    ),
    (
        "secure-boot",
        vm_is_hardened,
        lambda s: vm(s)["shielded_instance_config"].update(enable_secure_boot=False),
        "enable_secure_boot is not true",
    ),
    ("os-login", vm_is_hardened, set_metadata("enable-oslogin", "FALSE"), "metadata enable-oslogin is 'FALSE'"),
    (
        "project-keys",
        vm_is_hardened,
        set_metadata("block-project-ssh-keys", None),
        "metadata block-project-ssh-keys is None",
    ),
    (
        "serial-port",
        vm_is_hardened,
        set_metadata("serial-port-enable", "TRUE"),
        "metadata serial-port-enable is 'TRUE'",
    ),
    (
        "default-sa",
        vm_is_hardened,
        lambda s: vm(s)["service_account"].update(email="123-compute@developer.gserviceaccount.com"),
        "not Kestra's own service account",
    ),
    ("public-ip", vm_is_hardened, public_ip, "has an external IP without an allowlist"),
    ("world-ssh", ingress_is_iap_or_allowlist, add("google_compute_firewall", WORLD_SSH), "ingress from 0.0.0.0/0"),
    (
        "allowlist-to-kestra",
        lambda s: ingress_is_iap_or_allowlist(s, ["203.0.113.0/24"]),
        add("google_compute_firewall", {**WORLD_SSH, "source_ranges": ["203.0.113.0/24"], "allow": KESTRA_ALLOW}),
        "opens 8080 beyond IAP; only SSH (22) may",
    ),
    (
        "allowlist-every-port",
        lambda s: ingress_is_iap_or_allowlist(s, ["203.0.113.0/24"]),
        add(
            "google_compute_firewall",
            {**WORLD_SSH, "source_ranges": ["203.0.113.0/24"], "allow": [{"protocol": "all"}]},
        ),
        "opens every port beyond IAP",
    ),
    (
        "allowlist-wide",
        lambda s: ingress_is_iap_or_allowlist(s, ["198.51.0.0/16"]),
        add("google_compute_firewall", {**WORLD_SSH, "source_ranges": ["198.51.0.0/16"]}),
        "198.51.0.0/16 is wider than /24",
    ),
    (
        "no-iap",
        ingress_is_iap_or_allowlist,
        set_in("google_compute_firewall", "iap", "source_ranges", ["10.0.0.0/8"]),
        "no firewall rule lets IAP",
    ),
    (
        "secret-version",
        no_secret_values,
        add("google_secret_manager_secret_version", {"secret": "s", "secret_data": "x"}),
        "puts a secret value in the plan",
    ),
    (
        "literal-password",
        no_secret_values,
        edit_user_data("password: $${ZOOMCAMP_BASIC_AUTH_PASSWORD}", "password: Hunter2Hunter2"),
        "basic-auth.password is not an environment placeholder",
    ),
    (
        "literal-webhook-key",
        no_secret_values,
        edit_user_data("key: '{{ secret(''GIT_SYNC_WEBHOOK_KEY'') }}'", "key: Hunter2Hunter2"),
        "triggers[1].key is 'Hunter2Hunter2', not a {{ secret('...') }} reference",
    ),
    (
        "adder-unconditional",
        secret_versions_added_only_at_first_boot,
        lambda s: first(s, "google_secret_manager_secret_iam_member", "secretversionadder").pop("condition"),
        "roles/secretmanager.secretVersionAdder without the condition",
    ),
    (
        "adder-window-from-now",
        secret_versions_added_only_at_first_boot,
        lambda s: first(s, "google_secret_manager_secret_iam_member", "secretversionadder")["condition"].update(
            expression='request.time < timestamp("${timeadd(plantimestamp(), "1h")}")'
        ),
        "without the condition",
    ),
    (
        "kestra-host-network",
        task_containers_off_the_metadata_server,
        edit_kestra_service(host_network),
        "Kestra has network_mode 'host'",
    ),
    (
        "kestra-other-address",
        task_containers_off_the_metadata_server,
        edit_kestra_service(lambda kestra: kestra["networks"]["kestra"].update(ipv4_address="172.30.0.11")),
        "is not the KESTRA_CONTAINER_IP the boot script lets through",
    ),
    (
        "env-file",
        no_secret_values,
        edit_user_data(
            "- path: /etc/kestra/boot.env",
            "- path: /run/kestra/kestra.env\n  content: X=1\n- path: /etc/kestra/boot.env",
        ),
        "writes /run/kestra/kestra.env",
    ),
]


@pytest.mark.parametrize(("rule", "mutate", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_fails_on_broken_stack(gcp_synth: Synth, rule: Any, mutate: Any, message: str) -> None:
    assert rule(gcp_synth) == [], "the unbroken stack must pass before a broken copy can prove anything"
    broken = copy.deepcopy(gcp_synth)
    mutate(broken)
    problems = rule(broken)
    assert any(message in problem for problem in problems), problems
