"""Settings that change what the gcp stack builds: sandbox mode, the CIDR allowlist, the Git sync.

Only the first synthesis of the gcp stack in a test run is expensive (loading the google
provider, ~12 s); each further one costs about 0.1 s, so every variant here is the whole
stack, built from settings exactly as `cdktf synth` would, and held to the same policy rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowcheck.flow_catalog import parse_flow_file
from flowcheck.flow_lint import lint_flow_text, lint_report_text
from stacks.gce import cloud_init, system_flows
from stacks.gcp.security import IAP_RANGE
from stacks.settings import PROJECT_ROOT, Settings
from tests.policy.gcp_rules import (
    buckets_are_private_and_protected,
    dataset_is_protected,
    ingress_is_iap_or_allowlist,
    of_type,
    user_data_of,
    vm_is_hardened,
    written_files,
)
from tests.support.gcp_env import GCP_ENV
from tests.support.synth import repository_catalog, synth_stack

ALLOWED = ("203.0.113.7/32", "198.51.100.0/24")


@pytest.fixture(scope="module")
def sandbox_synth() -> dict[str, Any]:
    return synth_stack("gcp", {**GCP_ENV, "ZOOMCAMP_SANDBOX": "true"})


@pytest.fixture(scope="module")
def allowlist_synth() -> dict[str, Any]:
    return synth_stack("gcp", {**GCP_ENV, "GCP_ALLOWED_CIDRS": ",".join(ALLOWED)})


def test_only_sandbox_mode_lets_destroy_take_the_data(gcp_synth: dict[str, Any], sandbox_synth: dict[str, Any]) -> None:
    """force_destroy and delete_contents_on_destroy in each mode: tests/inventories/gcp-default.yaml and
    gcp-sandbox.yaml. Here: the policy rules tell the two modes apart, and the VM stays the same."""
    assert buckets_are_private_and_protected(sandbox_synth, sandbox=True) == []
    assert dataset_is_protected(sandbox_synth, sandbox=True) == []
    # The rules tell the two modes apart: each mode fails the other's expectation.
    assert buckets_are_private_and_protected(sandbox_synth, sandbox=False) != []
    assert dataset_is_protected(gcp_synth, sandbox=True) != []
    # Switching modes never replaces the VM: its cloud-init is the same.
    assert user_data_of(sandbox_synth) == user_data_of(gcp_synth)


def test_an_allowlist_opens_only_ssh_to_only_those_ranges(allowlist_synth: dict[str, Any]) -> None:
    """The rules, the external IP and the SSH tunnel output, with and without the allowlist:
    tests/inventories/gcp-allowlist.yaml, gcp-default.yaml. Here: the policy accepts exactly that,
    and Kestra's plain-HTTP port stays reachable from IAP alone."""
    assert ingress_is_iap_or_allowlist(allowlist_synth, ALLOWED) == []
    assert vm_is_hardened(allowlist_synth, external_ip_allowed=True) == []
    # Without the allowlist being declared, the same JSON breaks both rules.
    assert any("203.0.113.7/32" in p for p in ingress_is_iap_or_allowlist(allowlist_synth))
    assert any("external IP" in p for p in vm_is_hardened(allowlist_synth))
    kestra_sources = {
        source
        for rule in of_type(allowlist_synth, "google_compute_firewall").values()
        if any("8080" in block.get("ports", []) for block in rule["allow"])
        for source in rule["source_ranges"]
    }
    assert kestra_sources == {IAP_RANGE}
    assert "kestra_external_url" not in allowlist_synth["output"]
    assert allowlist_synth["output"]["ssh_tunnel_command"]["value"].endswith("-- -N -L 8080:localhost:8080")


def sync_flow(source: system_flows.GitSource) -> system_flows.SystemFlow:
    return system_flows.git_sync_flow(source, "zoomcamp")


def lint_lines(text: str) -> list[str]:
    report = lint_report_text(text, "system flow")
    return report.errors + report.warnings


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 3 * * 1-5"])
def test_system_flows_pass_the_flow_linter(cron: str) -> None:
    """The same checker as flows/ (plugin allowlist, required and known properties, labels): no error
    and no warning either. Kestra renders their expressions (tests/flows/test_kestra_renders_flows.py)."""
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", cron, True)
    flows = [sync_flow(source), system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp")]
    for flow in flows:
        assert lint_flow_text(flow.content, flow.filename) == []
        assert lint_lines(flow.content) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("io.kestra.plugin.git.SyncFlows", "io.kestra.plugin.git.SyncFlow5", "io.kestra.plugin.git.SyncFlow5"),
        ("  targetNamespace:", "  namespace:", "namespace"),
        ("  ignoreInvalidFlows:", "  ignoreInvalidFlow:", "ignoreInvalidFlow"),
        ("  namespace: zoomcamp", "  targetNamespace: zoomcamp", "targetNamespace"),
    ],
    ids=["type", "sync-flows-property", "sync-flows-misspelt", "namespace-files-property"],
)
def test_the_flow_linter_would_catch_a_broken_system_flow(old: str, new: str, problem: str) -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", "*/15 * * * *", True)
    text = sync_flow(source).content
    assert old in text
    assert any(problem in line for line in lint_lines(text.replace(old, new, 1)))


def test_system_flows_are_valid_kestra_flow_files(tmp_path: Path) -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", "*/15 * * * *", False)
    flows = [sync_flow(source), system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp")]
    for flow in flows:
        path = tmp_path / f"{flow.flow_id}.yaml"
        path.write_text(flow.content, encoding="utf-8")
        parsed = parse_flow_file(path)
        assert (parsed.namespace, parsed.flow_id) == ("system", flow.flow_id)
    sync = yaml.safe_load(flows[0].content)
    flows_task, files_task = sync["tasks"]
    assert files_task["type"] == "io.kestra.plugin.git.SyncNamespaceFiles"
    assert (files_task["gitDirectory"], files_task["namespace"], files_task["delete"]) == ("dbt", "zoomcamp", False)
    assert (flows_task["targetNamespace"], flows_task["delete"]) == ("zoomcamp", False)
    assert "flows deleted in Git are kept" in sync["description"]


def test_without_a_files_folder_the_sync_deploys_flows_only() -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", None, "*/15 * * * *", True)
    tasks = yaml.safe_load(sync_flow(source).content)["tasks"]
    assert [task["id"] for task in tasks] == ["sync_flows"]


@pytest.fixture(scope="module")
def keep_deleted_synth() -> dict[str, Any]:
    return synth_stack("gcp", {**GCP_ENV, "ZOOMCAMP_GIT_SYNC_DELETE": "false"})


def test_the_delete_setting_reaches_the_sync(keep_deleted_synth: dict[str, Any]) -> None:
    """`ZOOMCAMP_GIT_SYNC_DELETE=false make deploy-gcp`: both sync tasks keep what Git no longer has."""
    files = written_files(user_data_of(keep_deleted_synth))
    sync = yaml.safe_load(files[f"{cloud_init.FLOWS_DIR}/system.{system_flows.GIT_SYNC_FLOW_ID}.yaml"])
    assert [task["delete"] for task in sync["tasks"]] == [False, False]


# SyncFlows.java:111 (v1.7.1): the namespace it rewrites is the first line matching this.
SYNC_FLOWS_NAMESPACE_LINE = re.compile(r"(?m)^namespace: (.*)$")


def test_this_repositorys_flows_folder_imports_as_it_is() -> None:
    """What SyncFlows does with flows/ (v1.7.1): every file directly in the folder is imported as a
    flow, whatever its name (AbstractSyncTask.java:92-117, depth 1 without child namespaces), with its
    first `namespace:` line rewritten (SyncFlows.java:252-258) and its id and labels as written. So:
    only flow files there, each with that line, each read-only in the UI, ids unique."""
    settings = Settings.from_env({**GCP_ENV})
    flows_dir = PROJECT_ROOT / settings.gcp.git.flows_directory
    entries = sorted(flows_dir.iterdir())
    assert [e.name for e in entries if not e.is_file()] == [], "SyncFlows imports no subfolder"
    catalog = {flow.path.name: flow for flow in repository_catalog(flows_dir)}
    assert sorted(catalog) == [e.name for e in entries], "every file in flows/ is imported as a flow"
    for flow in catalog.values():
        text = flow.path.read_text(encoding="utf-8")
        match = SYNC_FLOWS_NAMESPACE_LINE.search(text)
        assert match and match.group(1).strip() == settings.kestra.namespace, flow.path.name
        assert flow.document["labels"]["system.readOnly"] == "true", flow.path.name
    assert len({flow.flow_id for flow in catalog.values()}) == len(catalog)
