"""What `cdktf deploy gcp` would create: the rules, relations and rendered files of its Terraform JSON.

The resources' values, the provider and the outputs are listed in tests/inventories/gcp-*.yaml,
read by tests/unit/test_inventories.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
import yaml

from stacks import versions
from stacks.gce import cloud_init, system_flows
from stacks.gcp.target import kv_values, resolve_gcp_target
from stacks.kestra import server_config
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
    user_data_of,
    vm_is_hardened,
    written_files,
)
from tests.support.gcp_env import gcp_settings


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
        secret_versions_added_only_at_first_boot,
        task_containers_off_the_metadata_server,
    ],
    ids=[
        "no-keys",
        "iam-scoped",
        "no-secret-values",
        "vm-hardened",
        "ingress",
        "buckets",
        "dataset",
        "raw-csvs",
        "secret-adder-first-boot",
        "metadata-server",
    ],
)
def test_policy_rule_holds(gcp_synth: dict[str, Any], rule: Any) -> None:
    assert rule(gcp_synth) == []


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
    expected = server_config.render_kestra_config(
        server_config.KestraServerConfig(
            database_host="postgres",
            database_name="kestra",
            database_user="kestra",
            basic_auth_username="admin@example.com",
            public_url="http://localhost:8080",
            storage=server_config.GcsStorage(
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
    assert services["kestra"]["healthcheck"]["test"] == server_config.healthcheck_command()
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
    flows_task, files_task = flow["tasks"]
    # plugin-git's own sync, in-process through Kestra's FlowService (stacks/gce/system_flows.py cites
    # the lines): a rejected flow is skipped with a warning, the others imported; flows missing from
    # Git deleted (ZOOMCAMP_GIT_SYNC_DELETE, default true).
    assert flows_task == {
        "id": "sync_flows",
        "type": "io.kestra.plugin.git.SyncFlows",
        "url": "https://github.com/example/zoomcamp-kestra.git",
        "branch": "main",
        "dryRun": False,
        "delete": True,
        "gitDirectory": "flows",
        "targetNamespace": "zoomcamp",
        "includeChildNamespaces": False,
        "ignoreInvalidFlows": True,
    }
    # The dbt project the dbt flows run, on by default (tests/unit/test_dbt_namespace_files.py
    # checks it lands at the paths the local stack ships).
    assert files_task == {
        "id": "sync_namespace_files",
        "type": "io.kestra.plugin.git.SyncNamespaceFiles",
        "url": "https://github.com/example/zoomcamp-kestra.git",
        "branch": "main",
        "dryRun": False,
        "delete": True,
        "gitDirectory": "dbt",
        "namespace": "zoomcamp",
    }
    triggers = {t["type"]: t for t in flow["triggers"]}
    assert triggers["io.kestra.plugin.core.trigger.Schedule"]["cron"] == "*/15 * * * *"
    assert triggers["io.kestra.plugin.core.trigger.Webhook"]["key"] == "{{ secret('GIT_SYNC_WEBHOOK_KEY') }}"


def test_no_flow_holds_or_reads_the_kestra_password(gcp_synth: dict[str, Any]) -> None:
    """The sync needs no Kestra credentials; the only secret a system flow reads is the webhook key,
    and the env file the boot script writes has no SECRET_* but that one (boot script test)."""
    user_data = user_data_of(gcp_synth)
    flows = flows_in_user_data(gcp_synth)
    secrets_read = {name for doc in flows.values() for name in re.findall(r"secret\('(\w+)'\)", json.dumps(doc))}
    assert secrets_read == {system_flows.WEBHOOK_SECRET_NAME}
    assert "KESTRA_SYNC_PASSWORD" not in user_data
    assert "/api/v1" not in json.dumps(flows)  # no flow calls Kestra's API
    assert no_secret_values(gcp_synth) == []


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
