"""`make destroy-<stack>`: what is kept and removed, the Terraform command lines, the messages.

The plans are computed from the real synthesized stacks (session fixtures, both modes); the
command lines are recorded by a fake `terraform` on PATH; and one test runs the same
command lines with the real Terraform on a stack of built-in `terraform_data` resources
(no provider download), proving the behaviour the module relies on: a resource left out of
a targeted destroy stays deployed despite its prevent_destroy, and the next apply recreates
only what was removed around it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from common.errors import run_cli
from ops.deploy.cdktf_steps import Commands
from ops.destroy import (
    DestroyOptions,
    DestroyPlan,
    ProtectionBug,
    check_plan,
    config_resources,
    deployed_addresses,
    destroy_command,
    destroy_stack,
    init_command,
    main,
    options_from_env,
    plan_destroy,
)
from ops.sandbox_reset import sandbox_reset
from stacks import sandbox
from stacks.settings import PROJECT_ROOT
from tests.support.destroy_fakes import FakeTools, fake_tools

# --- what is kept, from the real stacks ------------------------------------------------


def addresses_of(synth: Mapping[str, Any], *types: str) -> set[str]:
    return {address for address in config_resources(synth) if address.split(".")[0] in types}


def names(synth: Mapping[str, Any], addresses: tuple[str, ...]) -> set[str]:
    config = config_resources(synth)
    return {str(config[a].get("name") or config[a].get("dataset_id") or config[a].get("secret_id")) for a in addresses}


def test_local_keeps_its_three_volumes_and_removes_the_rest(local_synth: Any) -> None:
    everything = set(config_resources(local_synth))
    plan = plan_destroy("local", local_synth, everything, sandbox=False)
    assert names(local_synth, plan.kept) == {
        "zoomcamp-postgres-data",
        "zoomcamp-kestra-postgres-data",
        "zoomcamp-kestra-storage",
    }
    assert set(plan.removed) == everything - set(plan.kept)
    assert plan.targets == plan.removed and plan.armed == ()
    assert addresses_of(local_synth, "docker_container", "kestra_flow", "docker_network") <= set(plan.removed)


def test_gcp_keeps_buckets_dataset_data_disk_and_secrets(gcp_synth: Any) -> None:
    everything = set(config_resources(gcp_synth))
    plan = plan_destroy("gcp", gcp_synth, everything, sandbox=False)
    assert names(gcp_synth, plan.kept) == {
        "zoomcamp-test-project-zoomcamp-data",
        "zoomcamp-test-project-zoomcamp-kestra",
        "zoomcamp",
        "zoomcamp-kestra-data",
        "zoomcamp-kestra-basic-auth-password",
        "zoomcamp-kestra-git-sync-webhook-key",
        "zoomcamp-kestra-kestra-encryption-key",
    }
    removed = set(plan.removed)
    assert removed == everything - set(plan.kept)
    # The VM, its identity, its network and every IAM grant go, the secrets' grants included.
    gone = ("google_compute_instance", "google_service_account", "google_compute_network", "terraform_data")
    grants = ("google_secret_manager_secret_iam_member", "google_storage_bucket_iam_member")
    assert addresses_of(gcp_synth, *gone, *grants) <= removed


@pytest.mark.parametrize("stack", ["local", "gcp"])
def test_sandbox_mode_removes_everything_in_one_full_destroy(stack: str, request: pytest.FixtureRequest) -> None:
    synth = request.getfixturevalue(f"{stack}_sandbox_synth")
    everything = set(config_resources(synth))
    plan = plan_destroy(stack, synth, everything, sandbox=True)
    assert plan.kept == () and set(plan.removed) == everything
    assert plan.targets == ()  # no -target: a full destroy
    expected_armed = addresses_of(synth, "google_storage_bucket", "google_bigquery_dataset")
    assert set(plan.armed) == expected_armed and (stack == "local") == (not expected_armed)


def test_the_state_decides_what_exists(local_synth: Any) -> None:
    volume = next(iter(addresses_of(local_synth, "docker_volume")))
    deployed = [volume, "docker_container.kestra", "kestra_flow.flows_flow_gone_1234", "docker_volume.renamed_old"]
    plan = plan_destroy("local", local_synth, [*deployed, "data.docker_network.host"], sandbox=False)
    assert plan.kept == tuple(sorted([volume, "docker_volume.renamed_old"]))  # a volume the code lost is kept too
    assert plan.removed == ("docker_container.kestra", "kestra_flow.flows_flow_gone_1234")  # no data source


def test_a_broken_table_is_caught_before_terraform_runs(local_synth: Any, gcp_synth: Any, monkeypatch) -> None:
    """The proof that the protected-address filter fails when the table is broken."""
    local, gcp = sandbox.PROTECTED["local"], sandbox.PROTECTED["gcp"]
    monkeypatch.setitem(sandbox.PROTECTED, "local", dataclasses.replace(local, resource_types=()))
    with pytest.raises(ProtectionBug, match=r"docker_volume\.\S+ carries lifecycle.prevent_destroy but PROTECTED"):
        plan_destroy("local", local_synth, config_resources(local_synth), sandbox=False)
    without_disk = tuple(t for t in gcp.resource_types if t != "google_compute_disk")
    monkeypatch.setitem(sandbox.PROTECTED, "gcp", dataclasses.replace(gcp, resource_types=without_disk))
    with pytest.raises(ProtectionBug, match=r"google_compute_disk\.kestra_data_disk\S* carries"):
        plan_destroy("gcp", gcp_synth, config_resources(gcp_synth), sandbox=False)


def test_a_kept_resource_that_refers_to_a_removed_one_is_caught(local_synth: Any) -> None:
    broken = json.loads(json.dumps(local_synth))
    volume = next(iter(broken["resource"]["docker_volume"].values()))
    volume["labels"] = [{"label": "net", "value": "${docker_network.network.name}"}]
    with pytest.raises(ProtectionBug, match=r"kept docker_volume\.\S+ refers to docker_network.network, so Terraform"):
        plan_destroy("local", broken, config_resources(broken), sandbox=False)
    # the same reference to another kept resource is fine
    volume["labels"] = [{"label": "sibling", "value": "${docker_volume.kestra_storage.name}"}]
    plan_destroy("local", broken, config_resources(broken), sandbox=False)


# --- the command lines and messages, with a fake terraform on PATH ---------------------


def run(tools: FakeTools, stack: str, env: dict[str, str], auto_approve: bool | None = None) -> DestroyPlan | None:
    # confirmed: the sandbox runs here stand for `--yes`; tests/unit/test_sandbox_confirmation.py asks.
    options = DestroyOptions(
        commands=tools.commands, credentials_file=tools.credentials, auto_approve=auto_approve, confirmed=True
    )
    return destroy_stack(stack, env, sys.stdout, options)


def targets(call: Mapping[str, Any]) -> set[str]:
    return {arg.removeprefix("-target=") for arg in call["args"] if arg.startswith("-target=")}


def test_local_destroy_keeps_the_volumes_and_says_so(tmp_path: Path, local_synth: Any, capfd) -> None:
    everything = sorted(config_resources(local_synth))
    tools = fake_tools(tmp_path, local_synth, deployed=everything, with_credentials=True)

    plan = run(tools, "local", tools.env())

    assert plan is not None
    calls = tools.calls()
    stack_dir = str(tmp_path / "cdktf.out" / "stacks" / "local")
    assert [(c["tool"], c["chdir"], c["args"][:3]) for c in calls] == [
        ("terraform", stack_dir, ["init", "-input=false"]),
        ("terraform", stack_dir, ["state", "list"]),
        ("terraform", stack_dir, ["destroy", "-input=false", "-auto-approve"]),
    ]
    destroy = calls[2]
    assert targets(destroy) == set(plan.removed) == set(everything) - addresses_of(local_synth, "docker_volume")
    assert len(destroy["args"]) == 3 + len(plan.removed)
    assert destroy["env"]["ZOOMCAMP_STACKS"] == "local"
    assert destroy["env"]["tf_vars"] == [
        "TF_VAR_kestra_db_password",
        "TF_VAR_kestra_encryption_key",
        "TF_VAR_kestra_password",
        "TF_VAR_pgadmin_password",
        "TF_VAR_zoomcamp_db_password",
    ]
    out = capfd.readouterr().out
    order = [
        "==> [1/4] Synthesizing the local stack",
        "    done in ",
        "==> [2/4] Preparing Terraform in",
        "==> [3/4] Reading what is deployed (terraform state list)",
        "    Keeping your data (left deployed; the next `make deploy-local` reattaches to it):",
        "      volumes (3): zoomcamp-kestra-postgres-data, zoomcamp-kestra-storage, zoomcamp-postgres-data",
        "    Removing:",
        "      containers (3): zoomcamp-kestra, zoomcamp-kestra-postgres, zoomcamp-postgres",
        "    To remove everything, data included: ZOOMCAMP_SANDBOX=true make destroy-local",
        f"==> [4/4] Destroying with terraform destroy ({len(plan.removed)} resources)",
        "    Terraform warns that -target is in effect",
        "fake terraform destroy complete",
        "==> local stack destroyed in ",
    ]
    positions = [out.find(line) for line in order]
    assert -1 not in positions and positions == sorted(positions), out
    assert "kept 3 resources holding your data; `make deploy-local` builds the rest again" in out
    assert "Terraform shows its plan and asks" not in out
    for name, value in (line.split("=", 1) for line in tools.credentials.read_text().splitlines()[1:]):
        assert value.strip("'") not in out, f"{name} printed"


def test_local_sandbox_destroy_takes_everything(tmp_path: Path, local_sandbox_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_sandbox_synth, sorted(config_resources(local_sandbox_synth)), True)
    run(tools, "local", tools.env(ZOOMCAMP_SANDBOX="true"))
    assert tools.calls()[-1]["args"] == ["destroy", "-input=false", "-auto-approve"]
    out = capfd.readouterr().out
    assert "    Sandbox mode (ZOOMCAMP_SANDBOX=true): removing everything, data included:" in out
    assert "      volumes (3): zoomcamp-kestra-postgres-data, zoomcamp-kestra-storage, zoomcamp-postgres-data" in out
    assert "    This deletes the PostgreSQL volumes (your loaded taxi tables" in out
    assert "Keeping" not in out and "-target is in effect" not in out
    assert "==> local stack destroyed in " in out and "everything removed, data included" in out


def test_gcp_destroy_keeps_the_data_and_lets_the_learner_approve(tmp_path: Path, gcp_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, gcp_synth, deployed=sorted(config_resources(gcp_synth)))
    plan = run(tools, "gcp", tools.env())
    assert plan is not None
    destroy = tools.calls()[-1]
    assert destroy["args"][0] == "destroy" and "-auto-approve" not in destroy["args"]
    assert "-input=false" not in destroy["args"]  # Terraform must be able to ask
    assert targets(destroy) == set(plan.removed) and not targets(destroy) & set(plan.kept)
    assert destroy["env"]["tf_vars"] == []  # the gcp stack has no variables: no local password leaks to it
    out = capfd.readouterr().out
    kept_block = out[out.index("    Keeping your data") : out.index("    Removing:")]
    removed_block = out[out.index("    Removing:") : out.index("    To remove everything")]
    for name in names(gcp_synth, plan.kept):
        assert name in kept_block, name
    assert "      buckets (2): zoomcamp-test-project-zoomcamp-data, zoomcamp-test-project-zoomcamp-kestra" in kept_block
    assert "      VMs (1): zoomcamp-kestra" in removed_block
    assert "    Terraform shows its plan and asks you to type yes." in out
    assert "To remove everything, data included: ZOOMCAMP_SANDBOX=true make destroy-gcp" in out


def test_gcp_sandbox_destroy_first_lets_terraform_empty_the_data(tmp_path: Path, gcp_sandbox_synth: Any) -> None:
    tools = fake_tools(tmp_path, gcp_sandbox_synth, deployed=sorted(config_resources(gcp_sandbox_synth)))
    run(tools, "gcp", tools.env(ZOOMCAMP_SANDBOX="true"))
    arm, destroy = tools.calls()[-2:]
    assert arm["args"][:3] == ["apply", "-input=false", "-auto-approve"]
    assert targets(arm) == addresses_of(gcp_sandbox_synth, "google_storage_bucket", "google_bigquery_dataset")
    assert destroy["args"] == ["destroy"]  # everything; the learner approves at Terraform's prompt


NEVER_DEPLOYED = "Nothing to destroy: the {stack} stack was never deployed from this folder (no {file}).\n"


@pytest.mark.parametrize("stack", ["local", "gcp"])
def test_never_deployed_is_one_line_without_terraform(tmp_path: Path, stack: str, capfd) -> None:
    tools = fake_tools(tmp_path, {"resource": {}}, deployed=None, with_credentials=True)  # no state file
    assert run(tools, stack, tools.env()) is None
    assert tools.calls() == [], "neither synthesized nor Terraform run (offline, init prints registry errors)"
    captured = capfd.readouterr()
    assert captured.out == NEVER_DEPLOYED.format(stack=stack, file=f"terraform.{stack}.tfstate")
    assert captured.err == ""


def test_with_a_state_bucket_only_terraform_knows_what_is_deployed(tmp_path: Path, gcp_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, gcp_synth, deployed=None)  # no local state file: the state is in the bucket
    assert run(tools, "gcp", tools.env(ZOOMCAMP_STATE_BUCKET="zoomcamp-team-tfstate")) is None
    assert [c["args"][0] for c in tools.calls()] == ["init", "state"]
    assert "==> Nothing to destroy for the gcp stack." in capfd.readouterr().out


def test_a_state_without_resources_means_nothing_destroyed(tmp_path: Path, local_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, deployed=[], with_credentials=True)  # deployed, then destroyed
    assert run(tools, "local", tools.env()) is None
    assert [c["args"][0] for c in tools.calls()] == ["init", "state"]
    assert "==> Nothing to destroy for the local stack." in capfd.readouterr().out


def test_a_sandbox_reset_of_a_never_deployed_stack_still_synthesizes_and_deploys(tmp_path: Path, local_synth) -> None:
    """Its deploy applies what the destroy step synthesized (`cdktf deploy --skip-synth`)."""
    tools = fake_tools(tmp_path, local_synth, deployed=None, with_credentials=True)
    options = DestroyOptions(commands=tools.commands, credentials_file=tools.credentials, confirmed=True)
    sandbox_reset("local", tools.env(ZOOMCAMP_SANDBOX="true"), io.StringIO(), options)
    assert (tools.commands.stack_dir("local") / "cdk.tf.json").is_file()
    assert [(c["tool"], c["args"][0]) for c in tools.calls()] == [
        ("terraform", "init"),
        ("terraform", "state"),
        ("cdktf", "deploy"),
    ]


def test_make_destroy_local_on_a_never_deployed_checkout(tmp_path: Path) -> None:
    """`python -m ops.destroy local` as `make destroy-local` runs it, in this checkout."""
    if (PROJECT_ROOT / "terraform.local.tfstate").exists():
        pytest.skip("the local stack is deployed from this checkout (terraform.local.tfstate exists)")
    tools = fake_tools(tmp_path, {"resource": {}}, deployed=None)  # a recording terraform first on PATH
    completed = subprocess.run(
        [sys.executable, "-m", "ops.destroy", "local"],
        cwd=PROJECT_ROOT,
        env=tools.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout == NEVER_DEPLOYED.format(stack="local", file="terraform.local.tfstate")
    assert tools.calls() == []


def test_when_only_the_kept_data_is_deployed_nothing_is_removed(tmp_path: Path, local_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, sorted(addresses_of(local_synth, "docker_volume")), True)
    plan = run(tools, "local", tools.env())
    assert plan is not None and plan.removed == ()
    assert [c["args"][0] for c in tools.calls()] == ["init", "state"]
    out = capfd.readouterr().out
    assert "      nothing: only the kept data is deployed" in out
    assert "==> Nothing to remove: only the kept data of the local stack is deployed." in out


# --- failures: one line each, saying what to do ----------------------------------------


def error_of(tools: FakeTools, stack: str, env: dict[str, str], capfd) -> str:
    """Run like `make destroy-<stack>` does and return stderr, asserting it is one line."""
    options = DestroyOptions(commands=tools.commands, credentials_file=tools.credentials, confirmed=True)
    assert run_cli(lambda: destroy_stack(stack, env, sys.stdout, options)) == 1
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_a_failed_destroy_says_the_data_was_not_part_of_it(tmp_path: Path, local_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, sorted(config_resources(local_synth)), True)
    err = error_of(tools, "local", tools.env(FAKE_TF_DESTROY_EXIT="1"), capfd)
    assert "terraform destroy local failed (exit 1): the Terraform error is above" in err
    assert "the kept data was not part of it; rerun `make destroy-local` to finish" in err


def test_a_failed_arming_destroys_nothing(tmp_path: Path, gcp_sandbox_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, gcp_sandbox_synth, deployed=sorted(config_resources(gcp_sandbox_synth)))
    err = error_of(tools, "gcp", tools.env(ZOOMCAMP_SANDBOX="true", FAKE_TF_APPLY_EXIT="1"), capfd)
    assert "force_destroy/delete_contents_on_destroy failed (exit 1)" in err and "nothing was destroyed" in err
    assert [c["args"][0] for c in tools.calls()] == ["init", "state", "apply"]


def test_a_failed_init_shows_its_output_then_one_line(tmp_path: Path, local_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, sorted(config_resources(local_synth)), True)
    options = DestroyOptions(commands=tools.commands, credentials_file=tools.credentials, confirmed=True)
    assert run_cli(lambda: destroy_stack("local", tools.env(FAKE_TF_INIT_EXIT="1"), sys.stdout, options)) == 1
    captured = capfd.readouterr()
    assert "fake terraform init failed" in captured.out  # Terraform's own words, shown only on failure
    assert captured.err.startswith("error: terraform init failed for local (exit 1): its output is above")
    assert [c["args"][0] for c in tools.calls()] == ["init"]


def test_missing_local_passwords_stop_before_terraform_destroys(tmp_path: Path, local_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, sorted(config_resources(local_synth)), with_credentials=False)
    err = error_of(tools, "local", tools.env(), capfd)
    assert "local.env is missing: the local stack is deployed and destroying it needs the passwords" in err
    assert [c["args"][0] for c in tools.calls()] == ["init", "state"]
    assert not tools.credentials.exists(), "a destroy never invents passwords"


def test_without_passwords_or_state_there_is_simply_nothing_to_destroy(tmp_path, local_synth, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, deployed=None, with_credentials=False)  # never deployed here
    options = DestroyOptions(commands=tools.commands, credentials_file=tools.credentials, confirmed=True)
    assert run_cli(lambda: destroy_stack("local", tools.env(), sys.stdout, options)) == 0
    assert capfd.readouterr().out == NEVER_DEPLOYED.format(stack="local", file="terraform.local.tfstate")


def test_a_broken_table_stops_the_destroy_before_terraform_destroys(tmp_path, local_synth, capfd, monkeypatch) -> None:
    local = sandbox.PROTECTED["local"]
    monkeypatch.setitem(sandbox.PROTECTED, "local", dataclasses.replace(local, resource_types=()))
    tools = fake_tools(tmp_path, local_synth, sorted(config_resources(local_synth)), True)
    err = error_of(tools, "local", tools.env(), capfd)
    assert "carries lifecycle.prevent_destroy" in err and "nothing was changed" in err
    assert [c["args"][0] for c in tools.calls()] == ["init", "state"]


def test_terraform_missing_is_one_line(tmp_path: Path, local_synth: Any, capfd) -> None:
    tools = fake_tools(tmp_path, local_synth, [], True)
    gone = dataclasses.replace(tools.commands, terraform=str(tmp_path / "no-terraform"))
    options = DestroyOptions(commands=gone, credentials_file=tools.credentials)
    assert run_cli(lambda: destroy_stack("local", tools.env(), sys.stdout, options)) == 1
    assert "no-terraform not found; install Terraform" in capfd.readouterr().err


def test_command_line_usage(capfd) -> None:
    assert run_cli(lambda: main(["prod"])) == 1
    assert capfd.readouterr().err == (
        "error: argument stack: invalid choice: 'prod' (choose from 'local', 'gcp') "
        "(usage: python -m ops.destroy [-h] [--yes] {local,gcp})\n"
    )


# --- the same command lines with the real Terraform ------------------------------------

TERRAFORM_DATA_STACK = {
    "resource": {
        "terraform_data": {
            "volume": {"input": "taxi tables", "lifecycle": {"prevent_destroy": True}},
            "network": {"input": "net"},
            "container": {"input": "${terraform_data.volume.output}@${terraform_data.network.output}"},
        }
    }
}


def test_real_terraform_keeps_what_a_targeted_destroy_leaves_out(tmp_path: Path) -> None:
    commands = Commands(project_root=tmp_path, outdir="cdktf.out")
    stack_dir = commands.stack_dir("local")
    stack_dir.mkdir(parents=True)
    stack = {"terraform": {"backend": {"local": {"path": str(tmp_path / "state.tfstate")}}}, **TERRAFORM_DATA_STACK}
    (stack_dir / "cdk.tf.json").write_text(json.dumps(stack))
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}

    def terraform(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)

    def volume_id() -> str:
        shown = terraform(["terraform", f"-chdir={stack_dir}", "show", "-json"])
        (volume,) = [r for r in json.loads(shown.stdout)["values"]["root_module"]["resources"] if r["name"] == "volume"]
        return str(volume["values"]["id"])

    assert terraform(init_command(commands, "local")).returncode == 0
    assert terraform(init_command(commands, "local")).returncode == 0, "init twice: idempotent"
    assert deployed_addresses(commands, "local", env, sys.stdout) == [], "no state yet reads as nothing deployed"
    apply = ["terraform", f"-chdir={stack_dir}", "apply", "-input=false", "-auto-approve"]
    assert terraform(apply).returncode == 0
    before = volume_id()

    plan = DestroyPlan(
        "local", False, kept=("terraform_data.volume",), removed=("terraform_data.container", "terraform_data.network")
    )
    destroyed = terraform(destroy_command(commands, plan, auto_approve=True))
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert "Destroy complete! Resources: 2 destroyed." in destroyed.stdout
    assert deployed_addresses(commands, "local", env, sys.stdout) == ["terraform_data.volume"]

    again = terraform(apply)
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in again.stdout
    assert volume_id() == before, "the next deploy reattached to the kept resource"

    # Why plan_destroy refuses a kept resource that refers to a removed one: Terraform
    # destroys whatever depends on a target, so the "kept" container goes with its network.
    wrong = DestroyPlan(
        "local", False, kept=("terraform_data.container", "terraform_data.volume"), removed=("terraform_data.network",)
    )
    with pytest.raises(ProtectionBug, match=r"kept terraform_data\.container refers to terraform_data\.network"):
        check_plan(wrong, TERRAFORM_DATA_STACK)
    assert terraform(destroy_command(commands, wrong, auto_approve=True)).returncode == 0
    assert deployed_addresses(commands, "local", env, sys.stdout) == ["terraform_data.volume"]


def test_the_terraform_binary_is_the_one_cdktf_uses() -> None:
    assert options_from_env({}).commands.terraform == "terraform"
    assert options_from_env({"TERRAFORM_BINARY_NAME": "/opt/tf/terraform"}).commands.terraform == "/opt/tf/terraform"
