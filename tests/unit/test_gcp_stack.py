"""What `cdktf deploy gcp` would create, read from the synthesized Terraform JSON (synthesized once)."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from gcp_env import gcp_settings
from gcp_rules import (
    buckets_are_private_and_protected,
    dataset_is_protected,
    iam_is_scoped,
    ingress_is_iap_or_allowlist,
    no_secret_values,
    no_service_account_keys,
    of_type,
    raw_csvs_expire,
    user_data_of,
    vm_is_hardened,
    written_files,
)

from stacks import kestra_config, versions
from stacks.gce import cloud_init, system_flows
from stacks.gcp_target import kv_values, resolve_gcp_target

INVENTORY = yaml.safe_load((Path(__file__).with_name("gcp_inventory.yaml")).read_text(encoding="utf-8"))
HASH_SUFFIX = re.compile(r"_[0-9A-F]{8}$")


def by_construct(synth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        HASH_SUFFIX.sub("", name): body for resources in synth["resource"].values() for name, body in resources.items()
    }


def subset_problems(expected: Any, actual: Any, where: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a block, got {actual!r}"]
        return [p for key, value in expected.items() for p in subset_problems(value, actual.get(key), f"{where}.{key}")]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [
            p
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for p in subset_problems(e, a, f"{where}[{i}]")
        ]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def inventory_problems(synth: dict[str, Any]) -> list[str]:
    counts = {resource_type: len(resources) for resource_type, resources in synth["resource"].items()}
    problems = [
        f"{t}: {counts.get(t, 0)} resources, expected {n}"
        for t, n in INVENTORY["counts"].items()
        if counts.get(t, 0) != n
    ]
    problems += [f"{t}: {n} unexpected resources" for t, n in counts.items() if t not in INVENTORY["counts"]]
    constructs = by_construct(synth)
    for construct, expected in INVENTORY["values"].items():
        if construct not in constructs:
            problems.append(f"{construct}: missing")
        else:
            problems += subset_problems(expected, constructs[construct], construct)
    return problems


def test_resources_match_the_inventory(gcp_synth: dict[str, Any]) -> None:
    assert inventory_problems(gcp_synth) == []


def test_the_inventory_harness_reports_a_difference(gcp_synth: dict[str, Any]) -> None:
    broken = copy.deepcopy(gcp_synth)
    bucket = next(b for b in of_type(broken, "google_storage_bucket").values() if b["name"].endswith("-data"))
    bucket["force_destroy"] = True
    broken["resource"]["google_service_account_key"] = {"key": {"service_account_id": "x"}}
    problems = inventory_problems(broken)
    assert "lake_data_bucket.force_destroy: expected False, got True" in problems
    assert "google_service_account_key: 1 unexpected resources" in problems


@pytest.mark.parametrize(
    "rule",
    [
        no_service_account_keys,
        iam_is_scoped,
        no_secret_values,
        vm_is_hardened,
        ingress_is_iap_or_allowlist,
        lambda s: buckets_are_private_and_protected(s, sandbox=False),
        lambda s: dataset_is_protected(s, sandbox=False),
        lambda s: raw_csvs_expire(s, "zoomcamp-test-project-zoomcamp-data", 30),
    ],
    ids=["no-keys", "iam-scoped", "no-secret-values", "vm-hardened", "ingress", "buckets", "dataset", "raw-csvs"],
)
def test_policy_rule_holds(gcp_synth: dict[str, Any], rule: Any) -> None:
    assert rule(gcp_synth) == []


def test_provider_targets_the_resolved_project_and_is_pinned(gcp_synth: dict[str, Any]) -> None:
    (provider,) = gcp_synth["provider"]["google"]
    assert provider["project"] == "zoomcamp-test-project"
    assert (provider["region"], provider["zone"]) == ("europe-west2", "europe-west2-b")
    assert gcp_synth["terraform"]["required_providers"]["google"]["version"] == "6.50.0"


def test_outputs_give_the_url_and_the_exact_commands(gcp_synth: dict[str, Any]) -> None:
    outputs = {name: output["value"] for name, output in gcp_synth["output"].items()}
    where = "--zone=europe-west2-b --project=zoomcamp-test-project"
    assert outputs["iap_tunnel_command"] == (
        f"gcloud compute start-iap-tunnel zoomcamp-kestra 8080 --local-host-port=localhost:8080 {where}"
    )
    assert outputs["kestra_url"] == "http://localhost:8080"
    assert outputs["kestra_username"] == "admin@example.com"
    assert outputs["kestra_password_command"] == (
        "gcloud secrets versions access latest --secret=zoomcamp-kestra-basic-auth-password "
        "--project=zoomcamp-test-project"
    )
    assert outputs["ssh_command"] == f"gcloud compute ssh zoomcamp-kestra --tunnel-through-iap {where}"
    assert outputs["git_sync_flow"] == "system.zoomcamp_git_sync"
    assert outputs["git_sync_webhook_path"] == "/api/v1/main/executions/webhook/system/zoomcamp_git_sync/<key>"
    assert "kestra_external_url" not in outputs  # no allowlist, no public address


def test_user_data_is_escaped_for_terraform(gcp_synth: dict[str, Any]) -> None:
    (vm,) = of_type(gcp_synth, "google_compute_instance").values()
    raw = vm["metadata"]["user-data"]
    assert re.search(r"(?<!\$)\$\{", raw) is None, "an unescaped ${ would be read by Terraform"
    assert user_data_of(gcp_synth).startswith("#cloud-config\n")
    assert "${ZOOMCAMP_BASIC_AUTH_PASSWORD}" in user_data_of(gcp_synth)


def test_any_user_data_change_replaces_the_vm(gcp_synth: dict[str, Any]) -> None:
    (revision,) = of_type(gcp_synth, "terraform_data").values()
    assert revision["triggers_replace"] == {"sha256": hashlib.sha256(user_data_of(gcp_synth).encode()).hexdigest()}


def test_kestra_config_comes_from_the_shared_renderer_with_gcs_storage(gcp_synth: dict[str, Any]) -> None:
    files = written_files(user_data_of(gcp_synth))
    expected = kestra_config.render_kestra_config(
        kestra_config.KestraServerConfig(
            database_host="postgres",
            database_name="kestra",
            database_user="kestra",
            basic_auth_username="admin@example.com",
            public_url="http://localhost:8080",
            storage=kestra_config.GcsStorage(
                bucket="zoomcamp-test-project-zoomcamp-kestra", project="zoomcamp-test-project"
            ),
        )
    )
    assert files[cloud_init.KESTRA_CONFIG_PATH] == expected
    assert yaml.safe_load(expected)["kestra"]["storage"]["type"] == "gcs"


def test_compose_runs_the_pinned_images_with_postgres_on_the_data_disk(gcp_synth: dict[str, Any]) -> None:
    text = written_files(user_data_of(gcp_synth))[cloud_init.COMPOSE_PATH]
    assert "$" not in text, "docker compose would interpolate a $"
    services = yaml.safe_load(text)["services"]
    assert services["kestra"]["image"] == versions.KESTRA_IMAGE
    assert services["postgres"]["image"] == versions.POSTGRES_IMAGE
    (volume,) = services["postgres"]["volumes"]
    assert volume["source"].startswith(cloud_init.DATA_MOUNT + "/")
    assert volume["bind"] == {"create_host_path": False}
    command = services["kestra"]["command"]
    assert command[:2] == ["server", "standalone"]
    assert command[command.index("--flow-path") + 1] == cloud_init.FLOWS_DIR
    assert command[command.index("--config") + 1] == cloud_init.KESTRA_CONFIG_PATH
    assert services["kestra"]["healthcheck"]["test"] == kestra_config.healthcheck_command()
    assert services["kestra"]["env_file"] == [f"{cloud_init.RUN_DIR}/kestra.env"]


def test_boot_script_and_unit_are_shipped_verbatim(gcp_synth: dict[str, Any]) -> None:
    files = written_files(user_data_of(gcp_synth))
    assert files[cloud_init.BOOT_SCRIPT_PATH] == cloud_init.BOOT_SCRIPT.read_text(encoding="utf-8")
    assert files[cloud_init.UNIT_PATH] == cloud_init.SYSTEMD_UNIT.read_text(encoding="utf-8")
    document = yaml.safe_load(user_data_of(gcp_synth))
    assert ["systemctl", "enable", "--now", "--no-block", "kestra.service"] in document["runcmd"]
    assert set(cloud_init.PACKAGES) <= set(document["packages"])


def test_boot_env_names_the_secrets_terraform_creates(gcp_synth: dict[str, Any]) -> None:
    boot_env = written_files(user_data_of(gcp_synth))[cloud_init.BOOT_ENV_PATH]
    values = dict(line.split("=", 1) for line in boot_env.splitlines() if not line.startswith("#"))
    secret_ids = {s["secret_id"] for s in of_type(gcp_synth, "google_secret_manager_secret").values()}
    assert {values["BASIC_AUTH_SECRET"], values["WEBHOOK_KEY_SECRET"], values["ENCRYPTION_KEY_SECRET"]} == secret_ids
    assert values["PROJECT_ID"] == "zoomcamp-test-project"
    assert values["DATA_DEVICE"] == "/dev/disk/by-id/google-kestra-data"
    (vm,) = of_type(gcp_synth, "google_compute_instance").values()
    assert vm["attached_disk"][0]["device_name"] == values["DATA_DEVICE"].rsplit("google-", 1)[1]


def flows_in_user_data(synth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    files = written_files(user_data_of(synth))
    documents = [yaml.safe_load(text) for path, text in files.items() if path.startswith(cloud_init.FLOWS_DIR + "/")]
    return {doc["id"]: doc for doc in documents}


def test_git_sync_flow_syncs_the_repository_on_schedule_and_webhook(gcp_synth: dict[str, Any]) -> None:
    flow = flows_in_user_data(gcp_synth)[system_flows.GIT_SYNC_FLOW_ID]
    assert flow["namespace"] == "system"
    assert flow["labels"]["system.readOnly"] == "true"
    task, files_task = flow["tasks"]
    # The dbt project the dbt flows run, on by default (tests/unit/test_dbt_namespace_files.py
    # checks it lands at the paths the local stack ships).
    assert files_task == {
        "id": "sync_namespace_files",
        "type": "io.kestra.plugin.git.SyncNamespaceFiles",
        "url": "https://github.com/example/zoomcamp-kestra.git",
        "branch": "main",
        "dryRun": False,
        "gitDirectory": "dbt",
        "namespace": "zoomcamp",
        "delete": True,
    }
    assert task == {
        "id": "sync_flows",
        "type": "io.kestra.plugin.git.SyncFlows",
        "url": "https://github.com/example/zoomcamp-kestra.git",
        "branch": "main",
        "dryRun": False,
        "gitDirectory": "flows",
        "targetNamespace": "zoomcamp",
        "includeChildNamespaces": False,
        "delete": True,
    }
    triggers = {t["type"]: t for t in flow["triggers"]}
    assert triggers["io.kestra.plugin.core.trigger.Schedule"]["cron"] == "*/15 * * * *"
    assert triggers["io.kestra.plugin.core.trigger.Webhook"]["key"] == "{{ secret('GIT_SYNC_WEBHOOK_KEY') }}"


def test_gce_kv_flow_sets_the_same_values_as_the_local_stack(
    gcp_synth: dict[str, Any], local_synth: dict[str, Any]
) -> None:
    flow = flows_in_user_data(gcp_synth)[system_flows.KV_FLOW_ID]
    on_gce = {task["key"]: task["value"] for task in flow["tasks"]}
    assert {task["type"] for task in flow["tasks"]} == {"io.kestra.plugin.core.kv.Set"}
    assert {task["namespace"] for task in flow["tasks"]} == {"zoomcamp"}
    expected = {key: value for key, (value, _) in kv_values(resolve_gcp_target(gcp_settings())).items()}
    assert (
        on_gce
        == expected
        == {
            "GCP_PROJECT_ID": "zoomcamp-test-project",
            "GCP_LOCATION": "europe-west2",
            "GCP_BUCKET_NAME": "zoomcamp-test-project-zoomcamp-data",
            "GCP_DATASET": "zoomcamp",
        }
    )
    local = {kv["key"]: kv["value"] for kv in of_type(local_synth, "kestra_kv").values() if kv["key"] in expected}
    assert local == expected
    bucket_names = {b["name"] for b in of_type(gcp_synth, "google_storage_bucket").values()}
    datasets = {d["dataset_id"] for d in of_type(gcp_synth, "google_bigquery_dataset").values()}
    assert expected["GCP_BUCKET_NAME"] in bucket_names and expected["GCP_DATASET"] in datasets
