"""Settings that change what the gcp stack builds: sandbox mode, the CIDR allowlist, the Git sync.

Only the first synthesis of the gcp stack in a test run is expensive (loading the google
provider, ~12 s); each further one costs about 0.1 s, so every variant here is the whole
stack, built from settings exactly as `cdktf synth` would, and held to the same policy rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flowcheck.flow_catalog import parse_flow_file
from flowcheck.flow_lint import lint_flow_text, lint_report_text
from stacks.course_editions import render_namespace
from stacks.gce import cloud_init, system_flows
from stacks.gcp.security import IAP_RANGE
from stacks.settings import COURSE_EDITIONS, PROJECT_ROOT, Settings
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


def sync_flow(source: system_flows.GitSource, edition: str = "2026") -> system_flows.SystemFlow:
    return system_flows.git_sync_flow(source, "zoomcamp", edition, "admin@example.com")


# The secrets Kestra on the VM has: kestra-boot writes SECRET_<NAME> for each (test_gcp_boot_script.py).
VM_SECRETS = (system_flows.WEBHOOK_SECRET_NAME, system_flows.SYNC_PASSWORD_SECRET_NAME)


def lint_lines(text: str) -> list[str]:
    report = lint_report_text(text, "system flow", known_secrets=VM_SECRETS)
    return report.errors + report.warnings


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 3 * * 1-5"])
def test_system_flows_pass_the_flow_linter(cron: str) -> None:
    """The same linter as flows/ (plugin allowlist, required properties, cron, labels, outputs read,
    secrets the VM has): no error and no warning either."""
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", cron, True)
    flows = [sync_flow(source), system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp")]
    for flow in flows:
        assert lint_flow_text(flow.content, flow.filename) == []
        assert lint_lines(flow.content) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("io.kestra.plugin.git.Clone", "io.kestra.plugin.git.Clones", "io.kestra.plugin.git.Clones"),
        ("outputs.render.outputFiles", "outputs.rendr.outputFiles", "rendr"),
        ("    commands:\n", "    command:\n", "command"),
        ("secret(''KESTRA_SYNC_PASSWORD'')", "secret(''KESTRA_PASSWORD'')", "KESTRA_PASSWORD"),
    ],
    ids=["type", "output-of-no-task", "property", "secret-the-vm-lacks"],
)
def test_the_flow_linter_would_catch_a_broken_system_flow(old: str, new: str, problem: str) -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", None, "*/15 * * * *", True)
    text = sync_flow(source).content
    assert old in text
    assert any(problem in line for line in lint_lines(text.replace(old, new)))


def test_system_flows_are_valid_kestra_flow_files(tmp_path: Path) -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", "*/15 * * * *", False)
    flows = [sync_flow(source), system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp")]
    for flow in flows:
        path = tmp_path / f"{flow.flow_id}.yaml"
        path.write_text(flow.content, encoding="utf-8")
        parsed = parse_flow_file(path)
        assert (parsed.namespace, parsed.flow_id) == ("system", flow.flow_id)
    sync = yaml.safe_load(flows[0].content)
    files_task = sync["tasks"][2]
    assert files_task["type"] == "io.kestra.plugin.git.SyncNamespaceFiles"
    assert (files_task["gitDirectory"], files_task["namespace"], files_task["delete"]) == ("dbt", "zoomcamp", False)
    assert sync["tasks"][1]["uri"].endswith("/flows/zoomcamp?delete=false")
    assert "flows deleted in Git are kept" in sync["description"]


def test_without_a_files_folder_the_sync_deploys_flows_only() -> None:
    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", None, "*/15 * * * *", True)
    tasks = yaml.safe_load(sync_flow(source).content)["tasks"]
    assert [task["id"] for task in tasks] == ["checkout", "deploy_flows", "purge"]


@pytest.fixture(scope="module")
def edition_2025_synth() -> dict[str, Any]:
    return synth_stack("gcp", {**GCP_ENV, "ZOOMCAMP_COURSE_EDITION": "2025", "ZOOMCAMP_GIT_SYNC_DELETE": "false"})


def test_the_edition_and_delete_settings_reach_the_sync(edition_2025_synth: dict[str, Any]) -> None:
    """`ZOOMCAMP_COURSE_EDITION=2025 make deploy-gcp`: the VM renders the 2025 ids; delete as configured."""
    files = written_files(user_data_of(edition_2025_synth))
    sync = yaml.safe_load(files[f"{cloud_init.FLOWS_DIR}/system.{system_flows.GIT_SYNC_FLOW_ID}.yaml"])
    checkout, deploy, files_task, _ = sync["tasks"]
    (command,) = checkout["tasks"][1]["commands"]
    assert " --edition 2025 " in command
    assert deploy["uri"] == "http://localhost:8080/api/v1/main/flows/zoomcamp?delete=false"
    assert files_task["delete"] is False
    assert "course edition 2025" in sync["description"]


def test_the_renderer_runs_in_the_flows_image() -> None:
    """The image of the course flows' Python tasks (its packages: tests/unit/test_course_editions.py)."""
    images = {
        task["containerImage"]
        for flow in repository_catalog()
        for task in flow.document["tasks"]
        if task.get("type", "").startswith("io.kestra.plugin.scripts.python.")
    }
    assert images == {system_flows.RENDER_IMAGE}


def test_this_repositorys_flows_folder_renders_for_the_vm() -> None:
    """The sync renders flows/ (as the catalog reads it) into the namespace the stack configures."""
    settings = Settings.from_env({**GCP_ENV})
    flows_dir = PROJECT_ROOT / settings.gcp.git.flows_directory
    catalog = repository_catalog(flows_dir)  # skipped when a file does not load: its own test fails
    assert catalog, "flows/ holds no flow"
    assert {flow.namespace for flow in catalog} == {settings.kestra.namespace}
    for edition in COURSE_EDITIONS:
        flows, body = render_namespace(flows_dir, edition, settings.kestra.namespace)
        assert len(body.split("---")) == len(flows)
