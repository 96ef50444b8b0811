"""checkov (pinned in tools/checkov/) scans the synthesized JSON of both stacks: zero failures.

Skips live only in tools/checkov/.checkov.yaml, each with its reason. Three proofs keep that
honest: every skip line carries a reason; every skipped check still fires on our JSON when
run on its own (else the skip is stale and must go); and deliberately broken copies of the
stacks make checkov fail on exactly what was broken, so a scan that reads nothing cannot pass.
checkov has no policies for the Docker provider; its secrets scan covers the local stack.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.settings import PROJECT_ROOT
from tests.policy.gcp_rules import of_type
from tests.support.gcp_env import GCP_ENV
from tests.support.synth import synth_stack

CHECKOV = PROJECT_ROOT / "tools" / "checkov" / ".venv" / "bin" / "checkov"
CONFIG = PROJECT_ROOT / "tools" / "checkov" / ".checkov.yaml"
SKIP_LINE = re.compile(r"^\s+-\s+(?P<id>CKV2?_[A-Z]+_\d+)\s*(?:#\s*(?P<reason>.*))?$")
# A fake AWS key: checkov's secrets scan must find it in a broken copy of the local stack.
# The opt-in GitHub identities (stacks/gcp/github_identity.py). Not the allowlist: its external IP is
# what CKV_GCP_40 refuses, and what that setting asks for (its SSH-only rule: tests/policy/gcp_rules.py).
GITHUB = {"GCP_GITHUB_REPOSITORY": "example/zoomcamp-kestra"}
# The opt-in local Kestra's account (stacks/gcp/local_kestra_identity.py), with the GitHub identities.
LOCAL_KESTRA = {**GITHUB, "GCP_LOCAL_KESTRA_MEMBERS": "user:alice@example.com,group:learners@example.com"}
PLANTED_SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def skips() -> dict[str, str]:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    start = lines.index("skip-check:")
    found = {}
    for line in lines[start + 1 :]:
        match = SKIP_LINE.match(line)
        if not match:
            break
        found[match["id"]] = (match["reason"] or "").strip()
    return found


def run_checkov(directory: Path, *args: str) -> list[dict[str, Any]]:
    assert CHECKOV.exists(), "checkov missing: run `make tools/checkov/.venv/.synced` (make test does)"
    # No network here or in CI: skip Prisma Cloud's guideline download and its retries.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "-o", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def failures(reports: list[dict[str, Any]], folder: str) -> list[tuple[str, str]]:
    return [
        (check["check_id"], check["resource"])
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
        if check["file_path"].startswith(f"/{folder}/")
    ]


def passes(reports: list[dict[str, Any]], folder: str) -> set[str]:
    return {
        check["check_id"]
        for report in reports
        for check in report.get("results", {}).get("passed_checks", [])
        if check["file_path"].startswith(f"/{folder}/")
    }


def broken_gcp(synth: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(synth)
    for bucket in of_type(broken, "google_storage_bucket").values():
        bucket.update(
            public_access_prevention="inherited", uniform_bucket_level_access=False, versioning={"enabled": False}
        )
    (vm,) = of_type(broken, "google_compute_instance").values()
    vm["shielded_instance_config"] = {
        "enable_secure_boot": False,
        "enable_vtpm": False,
        "enable_integrity_monitoring": False,
    }
    vm["metadata"].update({"block-project-ssh-keys": "FALSE", "serial-port-enable": "TRUE"})
    vm["network_interface"][0]["access_config"] = [{}]
    vm["can_ip_forward"] = True
    (firewall,) = of_type(broken, "google_compute_firewall").values()
    firewall["source_ranges"] = ["0.0.0.0/0"]
    (subnet,) = of_type(broken, "google_compute_subnetwork").values()
    del subnet["log_config"]
    return broken


def broken_local(synth: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(synth)
    kestra = next(c for c in broken["resource"]["docker_container"].values() if c["name"].endswith("-kestra"))
    kestra["env"].append(PLANTED_SECRET)
    return broken


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, local_synth: Any, gcp_synth: Any) -> list[dict[str, Any]]:
    """One checkov run, with the project's config, over both stacks and broken copies of them."""
    root = tmp_path_factory.mktemp("checkov")
    for folder, synth in {
        "local": local_synth,
        "gcp": gcp_synth,
        "gcp_github": synth_stack("gcp", {**GCP_ENV, **GITHUB}),
        "gcp_local_kestra": synth_stack("gcp", {**GCP_ENV, **LOCAL_KESTRA}),
        "broken_gcp": broken_gcp(gcp_synth),
        "broken_local": broken_local(local_synth),
    }.items():
        (root / folder).mkdir()
        (root / folder / "cdk.tf.json").write_text(json.dumps(synth, indent=2), encoding="utf-8")
    return run_checkov(root, "--config-file", str(CONFIG))


@pytest.mark.slow
def test_both_stacks_pass_checkov(scanned: list[dict[str, Any]]) -> None:
    assert failures(scanned, "gcp") == []
    assert failures(scanned, "gcp_github") == []
    assert failures(scanned, "gcp_local_kestra") == []
    assert "CKV_GCP_39" in passes(scanned, "gcp_local_kestra"), "the local Kestra variant was really scanned"
    assert failures(scanned, "local") == []
    # The gcp JSON was really read: its policies ran and passed.
    assert {"CKV_GCP_29", "CKV_GCP_114", "CKV_GCP_39", "CKV_GCP_32", "CKV_GCP_40", "CKV2_GCP_12"} <= passes(
        scanned, "gcp"
    )


@pytest.mark.slow
def test_broken_copies_fail_on_what_was_broken(scanned: list[dict[str, Any]]) -> None:
    failed = {check_id for check_id, _ in failures(scanned, "broken_gcp")}
    expected = {
        "CKV_GCP_114",  # public access prevention
        "CKV_GCP_29",  # uniform bucket-level access
        "CKV_GCP_78",  # versioning
        "CKV_GCP_39",  # shielded VM
        "CKV_GCP_32",  # project-wide SSH keys
        "CKV_GCP_35",  # serial port
        "CKV_GCP_40",  # public IP
        "CKV_GCP_36",  # IP forwarding
        "CKV_GCP_2",  # SSH open to the world
        "CKV_GCP_26",  # subnet flow logs
    }
    assert expected <= failed, sorted(expected - failed)
    assert any(check_id.startswith("CKV_SECRET_") for check_id, _ in failures(scanned, "broken_local"))


def test_every_skip_has_a_reason() -> None:
    found = skips()
    assert found, "no skip-check entries parsed from tools/checkov/.checkov.yaml"
    assert "CKV_GCP_37" in found
    for check_id, reason in found.items():
        assert len(reason) >= 20, f"{check_id} is skipped without a reason in {CONFIG.name}"


@pytest.mark.slow
def test_every_skip_still_fires(tmp_path: Path, local_synth: Any, gcp_synth: Any) -> None:
    """Without the config, each skipped check must fail on our JSON; else the skip is stale."""
    for folder, synth in {"local": local_synth, "gcp": gcp_synth}.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "cdk.tf.json").write_text(json.dumps(synth), encoding="utf-8")
    skipped = skips()
    reports = run_checkov(tmp_path, "--framework", "terraform_json", "--skip-download", "--check", ",".join(skipped))
    fired = {check_id for check_id, _ in failures(reports, "gcp") + failures(reports, "local")}
    assert fired == set(skipped), f"stale skips: {sorted(set(skipped) - fired)}"
