"""Settings that change what the gcp stack builds: sandbox mode and the CIDR allowlist.

Only the first synthesis of the gcp stack in a test run is expensive (loading the google
provider, ~12 s); each further one costs about 0.1 s, so every variant here is the whole
stack, built from settings exactly as `cdktf synth` would, and held to the same policy rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from gcp_env import GCP_ENV
from gcp_rules import (
    buckets_are_private_and_protected,
    dataset_is_protected,
    ingress_is_iap_or_allowlist,
    of_type,
    user_data_of,
    vm_is_hardened,
)
from synth import repository_catalog, synth_stack

from stacks.flow_catalog import parse_flow_file
from stacks.flow_lint import lint_flow_text
from stacks.gce import system_flows
from stacks.settings import PROJECT_ROOT, Settings

ALLOWED = ("203.0.113.7/32", "198.51.100.0/24")


@pytest.fixture(scope="module")
def sandbox_synth() -> dict[str, Any]:
    return synth_stack("gcp", {**GCP_ENV, "ZOOMCAMP_SANDBOX": "true"})


@pytest.fixture(scope="module")
def allowlist_synth() -> dict[str, Any]:
    return synth_stack("gcp", {**GCP_ENV, "GCP_ALLOWED_CIDRS": ",".join(ALLOWED)})


def test_normal_mode_protects_the_data(gcp_synth: dict[str, Any]) -> None:
    assert {b["force_destroy"] for b in of_type(gcp_synth, "google_storage_bucket").values()} == {False}
    assert {d["delete_contents_on_destroy"] for d in of_type(gcp_synth, "google_bigquery_dataset").values()} == {False}


def test_only_sandbox_mode_lets_destroy_take_the_data(gcp_synth: dict[str, Any], sandbox_synth: dict[str, Any]) -> None:
    assert {b["force_destroy"] for b in of_type(sandbox_synth, "google_storage_bucket").values()} == {True}
    (dataset,) = of_type(sandbox_synth, "google_bigquery_dataset").values()
    assert dataset["delete_contents_on_destroy"] is True
    assert buckets_are_private_and_protected(sandbox_synth, sandbox=True) == []
    assert dataset_is_protected(sandbox_synth, sandbox=True) == []
    # The rules tell the two modes apart: each mode fails the other's expectation.
    assert buckets_are_private_and_protected(sandbox_synth, sandbox=False) != []
    assert dataset_is_protected(gcp_synth, sandbox=True) != []
    # Switching modes never replaces the VM: its cloud-init is the same.
    assert user_data_of(sandbox_synth) == user_data_of(gcp_synth)


def test_no_allowlist_means_iap_only_and_no_external_ip(gcp_synth: dict[str, Any]) -> None:
    (rule,) = of_type(gcp_synth, "google_compute_firewall").values()
    assert rule["source_ranges"] == ["35.235.240.0/20"]
    (vm,) = of_type(gcp_synth, "google_compute_instance").values()
    assert "access_config" not in vm["network_interface"][0]
    assert "kestra_external_url" not in gcp_synth["output"]


def test_an_allowlist_opens_only_kestra_to_only_those_ranges(allowlist_synth: dict[str, Any]) -> None:
    rules = {rule["name"]: rule for rule in of_type(allowlist_synth, "google_compute_firewall").values()}
    assert set(rules) == {"zoomcamp-kestra-allow-iap", "zoomcamp-kestra-allow-cidrs"}
    allowlist = rules["zoomcamp-kestra-allow-cidrs"]
    assert allowlist["source_ranges"] == list(ALLOWED)
    assert allowlist["allow"] == [{"protocol": "tcp", "ports": ["8080"]}]
    assert allowlist["target_service_accounts"] == rules["zoomcamp-kestra-allow-iap"]["target_service_accounts"]
    (vm,) = of_type(allowlist_synth, "google_compute_instance").values()
    assert vm["network_interface"][0]["access_config"] == [{}]
    (name,) = of_type(allowlist_synth, "google_compute_instance")
    assert allowlist_synth["output"]["kestra_external_url"]["value"] == (
        f"http://${{google_compute_instance.{name}.network_interface[0].access_config[0].nat_ip}}:8080"
    )
    assert ingress_is_iap_or_allowlist(allowlist_synth, ALLOWED) == []
    assert vm_is_hardened(allowlist_synth, external_ip_allowed=True) == []
    # Without the allowlist being declared, the same JSON breaks both rules.
    assert any("203.0.113.7/32" in p for p in ingress_is_iap_or_allowlist(allowlist_synth))
    assert any("external IP" in p for p in vm_is_hardened(allowlist_synth))


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


def sync_blockers(flows_dir: Path) -> list[str]:
    """Files that keep SyncFlows from mirroring flows_dir.

    plugin-git's AbstractSyncTask imports every regular file of gitDirectory (only a
    .kestraignore filters them) as a flow, so a README.md or .gitkeep there fails the sync; with
    includeChildNamespaces off it does not descend into subfolders.
    """
    problems = []
    for path in sorted(p for p in flows_dir.rglob("*") if p.is_file()):
        name = path.relative_to(flows_dir).as_posix()
        if path.parent != flows_dir:
            if path.suffix in (".yaml", ".yml"):
                problems.append(f"{name}: in a subfolder, which SyncFlows skips (includeChildNamespaces is off)")
        elif path.suffix not in (".yaml", ".yml"):
            problems.append(f"{name}: SyncFlows would import it as a flow and fail; keep only flows in this folder")
    return problems


def test_this_repositorys_flows_folder_syncs_as_is() -> None:
    """SyncFlows reads flows/ (no subfolders: includeChildNamespaces is off) into the namespace."""
    settings = Settings.from_env({**GCP_ENV})
    flows_dir = PROJECT_ROOT / settings.gcp.git.flows_directory
    catalog = repository_catalog(flows_dir)  # skipped when a file does not load: its own test fails
    assert catalog, "flows/ holds no flow"
    assert {flow.namespace for flow in catalog} == {settings.kestra.namespace}
    assert sync_blockers(flows_dir) == []


def test_sync_blockers_finds_what_would_break_the_sync(tmp_path: Path) -> None:
    for name in ("a.yaml", "README.md", ".gitkeep", "sub/b.yml", "sub/notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("id: x\n", encoding="utf-8")
    assert sync_blockers(tmp_path) == [
        ".gitkeep: SyncFlows would import it as a flow and fail; keep only flows in this folder",
        "README.md: SyncFlows would import it as a flow and fail; keep only flows in this folder",
        "sub/b.yml: in a subfolder, which SyncFlows skips (includeChildNamespaces is off)",
    ]
