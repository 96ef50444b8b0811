"""Settings that change what the gcp stack builds, proven on its constructs in small stacks.

The whole gcp stack is synthesized once per run (conftest's gcp_synth); the sandbox and
allowlist variants are checked on the constructs they change, so the suite loads the google
provider once and builds the big stack once. The same policy rules as for the full stack apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdktf
import pytest
import yaml
from gcp_env import GCP_ENV
from gcp_rules import buckets_are_private_and_protected, dataset_is_protected, ingress_is_iap_or_allowlist, of_type
from gcp_rules import vm_is_hardened as vm_rule

from stacks.flow_catalog import load_flow_catalog, parse_flow_file
from stacks.flow_lint import lint_flow_text
from stacks.gce import system_flows
from stacks.settings import PROJECT_ROOT, Settings


def synth_with(build: Callable[[cdktf.TerraformStack], None]) -> dict[str, Any]:
    from cdktf_cdktf_provider_google.provider import GoogleProvider

    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "variant")
    GoogleProvider(stack, "google", project="zoomcamp-test-project")
    build(stack)
    return json.loads(cdktf.Testing.synth(stack))


def data_lake(sandbox: bool) -> dict[str, Any]:
    from stacks.gcp.storage import DataLake, DataLakeProps

    props = DataLakeProps("europe-west2", "p-zoomcamp-data", "p-zoomcamp-kestra", "zoomcamp", sandbox, 30)
    return synth_with(lambda stack: DataLake(stack, "lake", props))


@pytest.mark.parametrize("sandbox", [False, True], ids=["normal", "sandbox"])
def test_only_sandbox_mode_lets_destroy_take_the_data(sandbox: bool) -> None:
    synth = data_lake(sandbox)
    buckets = of_type(synth, "google_storage_bucket").values()
    assert {bucket["force_destroy"] for bucket in buckets} == {sandbox}
    (dataset,) = of_type(synth, "google_bigquery_dataset").values()
    assert dataset["delete_contents_on_destroy"] is sandbox
    assert buckets_are_private_and_protected(synth, sandbox) == []
    assert dataset_is_protected(synth, sandbox) == []
    # The rules tell the two modes apart: each mode fails the other's expectation.
    assert buckets_are_private_and_protected(synth, not sandbox) != []
    assert dataset_is_protected(synth, not sandbox) != []


def allowlisted(cidrs: tuple[str, ...]) -> dict[str, Any]:
    from cdktf_cdktf_provider_google.service_account import ServiceAccount

    from stacks.gcp.network import KestraNetwork, KestraNetworkProps
    from stacks.gcp.vm import KestraVm, KestraVmProps

    def build(stack: cdktf.TerraformStack) -> None:
        account = ServiceAccount(stack, "account", account_id="zoomcamp-kestra")
        network = KestraNetwork(
            stack,
            "network",
            KestraNetworkProps("zoomcamp-kestra", "europe-west2", "iap", "cidrs", account.email, cidrs),
        )
        KestraVm(
            stack,
            "kestra",
            KestraVmProps(
                name="zoomcamp-kestra",
                zone="europe-west2-b",
                machine_type="e2-standard-2",
                image="ubuntu-os-cloud/ubuntu-2404-lts-amd64",
                data_disk_name="zoomcamp-kestra-data",
                subnetwork=network.subnetwork.id,
                service_account_email=account.email,
                user_data="#cloud-config\n",
                external_ip=bool(cidrs),
            ),
        )

    return synth_with(build)


def test_no_allowlist_means_iap_only_and_no_external_ip() -> None:
    synth = allowlisted(())
    (rule,) = of_type(synth, "google_compute_firewall").values()
    assert rule["source_ranges"] == ["35.235.240.0/20"]
    (vm,) = of_type(synth, "google_compute_instance").values()
    assert "access_config" not in vm["network_interface"][0]
    assert vm_rule(synth) == []


def test_an_allowlist_opens_only_kestra_to_only_those_ranges() -> None:
    cidrs = ("203.0.113.7/32", "198.51.100.0/24")
    synth = allowlisted(cidrs)
    rules = {rule["name"]: rule for rule in of_type(synth, "google_compute_firewall").values()}
    assert set(rules) == {"iap", "cidrs"}
    assert rules["cidrs"]["source_ranges"] == list(cidrs)
    assert rules["cidrs"]["allow"] == [{"protocol": "tcp", "ports": ["8080"]}]
    assert rules["cidrs"]["target_service_accounts"] == rules["iap"]["target_service_accounts"]
    (vm,) = of_type(synth, "google_compute_instance").values()
    assert vm["network_interface"][0]["access_config"] == [{}]
    assert ingress_is_iap_or_allowlist(synth, cidrs) == []
    assert vm_rule(synth, external_ip_allowed=True) == []
    # Without the allowlist being declared, the same JSON breaks both rules.
    assert any("203.0.113.7/32" in p for p in ingress_is_iap_or_allowlist(synth))
    assert any("external IP" in p for p in vm_rule(synth))


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 3 * * 1-5"])
def test_system_flows_pass_the_flow_linter(cron: str) -> None:
    """The same linter as flows/ (plugin allowlist, required properties, cron, labels)."""
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", cron, True)
    flows = [
        system_flows.git_sync_flow(source, "zoomcamp"),
        system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp"),
    ]
    for flow in flows:
        assert lint_flow_text(flow.content, flow.filename) == []


def test_the_flow_linter_would_catch_a_broken_system_flow() -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", None, "*/15 * * * *", True)
    text = system_flows.git_sync_flow(source, "zoomcamp").content.replace(
        "io.kestra.plugin.git.SyncFlows", "io.kestra.plugin.git.SyncFlowz"
    )
    assert any("SyncFlowz" in problem for problem in lint_flow_text(text, "broken"))


def test_system_flows_are_valid_kestra_flow_files(tmp_path: Path) -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", "*/15 * * * *", False)
    flows = [
        system_flows.git_sync_flow(source, "zoomcamp"),
        system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp"),
    ]
    for flow in flows:
        path = tmp_path / f"{flow.flow_id}.yaml"
        path.write_text(flow.content, encoding="utf-8")
        parsed = parse_flow_file(path)
        assert (parsed.namespace, parsed.flow_id) == ("system", flow.flow_id)
    sync = yaml.safe_load(flows[0].content)
    files_task = sync["tasks"][1]
    assert files_task["type"] == "io.kestra.plugin.git.SyncNamespaceFiles"
    assert (files_task["gitDirectory"], files_task["namespace"], files_task["delete"]) == ("dbt", "zoomcamp", False)
    assert sync["tasks"][0]["delete"] is False
    assert "flows deleted in Git are kept" in sync["description"]


def test_this_repositorys_flows_folder_syncs_as_is() -> None:
    """SyncFlows reads flows/ (no subfolders: includeChildNamespaces is off) into the namespace."""
    settings = Settings.from_env({**GCP_ENV})
    flows_dir = PROJECT_ROOT / settings.gcp.git.flows_directory
    catalog = load_flow_catalog(flows_dir)
    assert catalog, "flows/ holds no flow"
    assert {flow.namespace for flow in catalog} == {settings.kestra.namespace}
    nested = [p for p in flows_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.parent != flows_dir]
    assert nested == [], "SyncFlows would skip flows in subfolders"
    others = [p.name for p in flows_dir.iterdir() if p.is_file() and p.suffix not in (".yaml", ".yml", ".md")]
    assert others == [], f"flows/ should hold only flow files, found {others}"
