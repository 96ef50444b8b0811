"""`npx cdktf synth` end to end: the pinned CLI runs main.py and writes both stacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.flow_catalog import load_flow_catalog
from stacks.local_credentials import STACK_TFVARS_NAME
from stacks.settings import PROJECT_ROOT


@pytest.mark.slow
def test_npx_cdktf_synth_writes_both_stacks(tmp_path: Path) -> None:
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"
    assert cli.exists(), "cdktf CLI missing: run `make setup` (npm ci from package-lock.json)"
    assert shutil.which("npx"), "npx (Node) is required"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_"))}
    env |= {"GCP_PROJECT_ID": "zoomcamp-e2e-project", "CHECKPOINT_DISABLE": "1", "CI": "1"}
    # The gcp stack needs the repository its VM syncs flows from; this checkout may have no origin.
    env["ZOOMCAMP_GIT_URL"] = "https://github.com/example/zoomcamp-kestra.git"
    # Some machines point TF_CLI_CONFIG_FILE at a file that does not exist; Terraform's warning
    # about it (which cdktf relays as [ERROR]) is about the machine, not this project.
    if not Path(env.get("TF_CLI_CONFIG_FILE", "/")).exists():
        env.pop("TF_CLI_CONFIG_FILE", None)
    result = subprocess.run(
        ["npx", "--no-install", "cdktf", "synth", "--output", str(tmp_path / "out")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "end-of-life" not in result.stdout + result.stderr, "the jsii Node banner leaked"
    assert "[ERROR]" not in result.stdout + result.stderr, "a clean synth reports no error"
    local = json.loads((tmp_path / "out" / "stacks" / "local" / "cdk.tf.json").read_text())
    gcp = json.loads((tmp_path / "out" / "stacks" / "gcp" / "cdk.tf.json").read_text())
    flow_ids = {flow["flow_id"] for flow in local["resource"]["kestra_flow"].values()}
    assert flow_ids == {flow.flow_id for flow in load_flow_catalog(PROJECT_ROOT / "flows")}
    assert len(local["resource"]["docker_container"]) == 3
    assert "google" in gcp["provider"]
    # A plain `cdktf deploy local` finds its passwords: Terraform loads this file from the stack folder.
    tfvars = tmp_path / "out" / "stacks" / "local" / STACK_TFVARS_NAME
    assert tfvars.stat().st_mode & 0o777 == 0o600
    passwords = json.loads(tfvars.read_text())
    assert set(passwords) == set(local["variable"])
    synthesized = (tmp_path / "out" / "stacks" / "local" / "cdk.tf.json").read_text()
    assert not any(password in synthesized for password in passwords.values())
