"""`npx cdktf synth` end to end: the pinned CLI runs main.py and writes both stacks.

A clean run prints no `[ERROR]`: our notes go to stdout (cdktf shows the app's stderr as
`[ERROR]`), and a second run with nothing changed reuses the first (stacks/synth_cache.py)
while the CLI still finds its manifest. cdktf's CLI reads CHECKPOINT_DISABLE from its own
environment when it starts (before it runs our app; cdktf.json has no such switch): unset, it
calls HashiCorp's checkpoint service, which offline prints
`[ERROR] default - getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com`. The patch in
tools/patches/ (applied by `npm ci`, patch-package) sets it when unset, so a learner's shell needs
nothing: these tests run the CLI without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from flowcheck.flow_catalog import load_flow_catalog
from stacks.local.credentials import STACK_TFVARS_NAME
from stacks.settings import PROJECT_ROOT
from tests.support.synth import repository_catalog


@pytest.mark.slow
def test_npx_cdktf_synth_writes_both_stacks(tmp_path: Path) -> None:
    repository_catalog()  # skipped when a flow does not load: test_repository_flow_is_valid[<file>] fails
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"
    assert cli.exists(), "cdktf CLI missing: run `make setup` (npm ci from package-lock.json)"
    assert shutil.which("npx"), "npx (Node) is required"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_"))}
    env.pop("CHECKPOINT_DISABLE", None)  # tools/patches/ makes it the CLI's default
    env |= {"GCP_PROJECT_ID": "zoomcamp-e2e-project", "CI": "1"}
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
    catalog = load_flow_catalog(PROJECT_ROOT / "flows")
    assert flow_ids == {flow.flow_id for flow in catalog}
    assert len(local["resource"]["docker_container"]) == 3
    assert "google" in gcp["provider"]
    # A plain `cdktf deploy local` finds its passwords: Terraform loads this file from the stack folder.
    tfvars = tmp_path / "out" / "stacks" / "local" / STACK_TFVARS_NAME
    assert tfvars.stat().st_mode & 0o777 == 0o600
    passwords = json.loads(tfvars.read_text())
    assert set(passwords) == set(local["variable"])
    synthesized = (tmp_path / "out" / "stacks" / "local" / "cdk.tf.json").read_text()
    assert not any(password in synthesized for password in passwords.values())


def _user_env(tmp_path: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """A learner's shell: none of our settings, no Google credentials, only what `settings` adds."""
    ours = ("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "GCP_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "CDKTF_", "TF_VAR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.pop("CHECKPOINT_DISABLE", None)  # a learner's shell does not set it: tools/patches/ does
    env |= {"CLOUDSDK_CONFIG": str(tmp_path / "gcloud"), **settings}
    if not Path(env.get("TF_CLI_CONFIG_FILE", "/")).exists():  # the machine's problem, not ours (above)
        env.pop("TF_CLI_CONFIG_FILE", None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "note"),
    [
        ({"ZOOMCAMP_STACKS": "local"}, None),
        ({}, "note: gcp stack not built: no Google Cloud project"),
    ],
    ids=["synth-local", "fresh-clone-nothing-set"],
)
def test_npx_cdktf_synth_as_a_user_runs_it_is_clean_and_reused(
    tmp_path: Path, settings: dict[str, str], note: str | None
) -> None:
    repository_catalog()
    out = tmp_path / "out"
    env = _user_env(tmp_path, settings)
    runs = []
    for _ in range(2):
        completed = subprocess.run(
            ["npx", "--no-install", "cdktf", "synth", "--output", str(out)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        printed = completed.stdout + completed.stderr
        assert completed.returncode == 0, printed[-3000:]
        assert "[ERROR]" not in printed, printed[-3000:]
        assert "Generated Terraform code for the stacks: local" in printed, printed[-2000:]
        assert (note in printed) if note else ("note:" not in printed), printed[-2000:]
        runs.append(json.loads((out / ".synth-key").read_text())["last_run"])
    assert runs == ["built", "reused"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["stacks"]) == {"local"}, "the CLI still finds the stack a reused synth left"
    assert (out / "stacks" / "local" / STACK_TFVARS_NAME).is_file()
