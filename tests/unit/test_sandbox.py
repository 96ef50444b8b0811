"""Sandbox lifecycle: data is protected by default, and only ZOOMCAMP_SANDBOX lifts it.

The protected resources are those of the types in stacks/sandbox.py's PROTECTED table;
these tests prove the synthesized stacks mark exactly those, in both modes, and that
`make sandbox-reset` refuses without the opt-in and otherwise runs destroy then deploy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cdktf
import pytest
from cdktf_cdktf_provider_docker.network import Network
from cdktf_cdktf_provider_docker.provider import DockerProvider
from cdktf_cdktf_provider_docker.volume import Volume

from common.errors import BundleError, run_cli
from ops.destroy import DestroyOptions, config_resources
from ops.sandbox_reset import _main as reset_main
from ops.sandbox_reset import sandbox_reset
from stacks import sandbox
from stacks.sandbox import PROTECTED, SandboxRefusal, data_protection, protect_from_destroy, require_sandbox
from stacks.settings import PROJECT_ROOT, Settings
from tests.support.destroy_fakes import FakeTools, fake_tools
from tests.support.synth import BASE_ENV, resources

LOCAL_VOLUMES = {"zoomcamp-postgres-data", "zoomcamp-kestra-postgres-data", "zoomcamp-kestra-storage"}


def marked(synth: Mapping[str, Any]) -> set[str]:
    return {
        address
        for address, body in config_resources(synth).items()
        if body.get("lifecycle", {}).get("prevent_destroy") is True
    }


def of_protected_types(stack: str, synth: Mapping[str, Any]) -> set[str]:
    types = PROTECTED[stack].resource_types
    return {address for address in config_resources(synth) if address.split(".")[0] in types}


@pytest.mark.parametrize("stack", ["local", "gcp"])
def test_exactly_the_protected_types_carry_prevent_destroy(stack: str, request: pytest.FixtureRequest) -> None:
    synth = request.getfixturevalue(f"{stack}_synth")
    assert marked(synth) == of_protected_types(stack, synth)
    assert len(marked(synth)) >= 3


def test_the_marks_sit_on_the_data_a_learner_would_lose(local_synth: Any, gcp_synth: Any) -> None:
    assert {body["name"] for body in resources(local_synth, "docker_volume").values()} == LOCAL_VOLUMES
    assert {address.split(".")[0] for address in marked(gcp_synth)} == {
        "google_storage_bucket",
        "google_bigquery_dataset",
        "google_compute_disk",
        "google_secret_manager_secret",
    }
    # two buckets, the dataset, the data disk, three secrets (losing the encryption key loses encrypted outputs)
    assert len(marked(gcp_synth)) == 7


@pytest.mark.parametrize("stack", ["local", "gcp"])
def test_sandbox_mode_marks_nothing(stack: str, request: pytest.FixtureRequest) -> None:
    synth = request.getfixturevalue(f"{stack}_sandbox_synth")
    assert of_protected_types(stack, synth), "the sandbox stack still has its data resources"
    assert marked(synth) == set()


def test_the_marking_check_fails_on_a_broken_copy(local_synth: Any) -> None:
    broken = json.loads(json.dumps(local_synth))
    del broken["resource"]["docker_volume"]["kestra_storage"]["lifecycle"]
    assert marked(broken) != of_protected_types("local", broken)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("false", sandbox.DataProtection(prevent_destroy=True, force_destroy=False, delete_contents_on_destroy=False)),
        ("true", sandbox.DataProtection(prevent_destroy=False, force_destroy=True, delete_contents_on_destroy=True)),
    ],
)
def test_protective_flags_for_both_modes(value: str, expected: sandbox.DataProtection) -> None:
    assert data_protection(Settings.from_env({**BASE_ENV, "ZOOMCAMP_SANDBOX": value})) == expected


def test_gcp_bucket_and_dataset_keep_their_contents_unless_sandbox(gcp_synth: Any, gcp_sandbox_synth: Any) -> None:
    for synth, sandbox_mode in ((gcp_synth, False), (gcp_sandbox_synth, True)):
        expected = data_protection(Settings.from_env({**BASE_ENV, "ZOOMCAMP_SANDBOX": str(sandbox_mode)}))
        buckets = resources(synth, "google_storage_bucket").values()
        datasets = resources(synth, "google_bigquery_dataset").values()
        assert buckets and datasets
        assert {bucket["force_destroy"] for bucket in buckets} == {expected.force_destroy}
        assert {dataset["delete_contents_on_destroy"] for dataset in datasets} == {expected.delete_contents_on_destroy}


def test_only_a_type_of_the_table_can_be_protected() -> None:
    settings = Settings.from_env(BASE_ENV)
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "local")
    DockerProvider(stack, "docker")
    protect_from_destroy(Volume(stack, "volume", name="v"), settings)  # in the table: fine
    with pytest.raises(ValueError, match=r"docker_network is not protected data of stack 'local'; add its type"):
        protect_from_destroy(Network(stack, "network", name="n"), settings)
    elsewhere = cdktf.TerraformStack(cdktf.Testing.app(), "prod")
    DockerProvider(elsewhere, "docker")
    with pytest.raises(ValueError, match=r"not protected data of stack 'prod'"):
        protect_from_destroy(Volume(elsewhere, "volume", name="v"), settings)


def test_unknown_stack_is_one_clear_line() -> None:
    with pytest.raises(BundleError, match=r"STACK='prod' is not a stack; use STACK=local or STACK=gcp"):
        require_sandbox("prod", Settings.from_env({**BASE_ENV, "ZOOMCAMP_SANDBOX": "true"}))


# --- make sandbox-reset ---------------------------------------------------------------


def reset_options(tools: FakeTools) -> DestroyOptions:
    # auto_approve=False proves the reset overrides it: the opt-in is the approval.
    # confirmed (--yes): the typed confirmation is tests/unit/test_sandbox_confirmation.py's.
    return DestroyOptions(
        commands=tools.commands, credentials_file=tools.credentials, auto_approve=False, confirmed=True
    )


@pytest.mark.parametrize(("stack", "loses"), [("local", "PostgreSQL volumes"), ("gcp", "GCS bucket")])
def test_reset_refuses_without_sandbox_and_says_how_to_opt_in(stack: str, loses: str, tmp_path: Path) -> None:
    tools = fake_tools(tmp_path, {"resource": {}})
    with pytest.raises(SandboxRefusal) as refused:
        sandbox_reset(stack, tools.env(), sys.stdout, reset_options(tools))
    message = str(refused.value)
    assert "\n" not in message
    assert loses in message and "nothing was changed" in message
    assert message.endswith(f"opt in: ZOOMCAMP_SANDBOX=true make sandbox-reset STACK={stack}")
    assert tools.calls() == []  # refused before anything ran
    assert not tools.credentials.exists()


def test_reset_refusal_is_one_line_on_the_command_line(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("ZOOMCAMP_SANDBOX", raising=False)
    assert run_cli(lambda: reset_main(["local"])) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: refusing to reset the local stack")


def test_local_reset_destroys_everything_then_deploys_with_progress(
    tmp_path: Path, local_sandbox_synth: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = fake_tools(tmp_path, local_sandbox_synth, deployed=list(config_resources(local_sandbox_synth)))
    sandbox_reset("local", tools.env(ZOOMCAMP_SANDBOX="true"), sys.stdout, reset_options(tools))

    calls = tools.calls()
    assert [call["tool"] for call in calls] == ["terraform", "terraform", "terraform", "cdktf"]
    destroy, deploy = calls[2], calls[3]
    assert destroy["args"] == ["destroy", "-input=false", "-auto-approve"]  # everything, approved by the opt-in
    assert deploy["args"] == ["deploy", "local", "--skip-synth", "--auto-approve"]
    for call in (destroy, deploy):
        assert call["env"]["ZOOMCAMP_STACKS"] == "local" and call["env"]["ZOOMCAMP_SANDBOX"] == "true"
        assert {"TF_VAR_kestra_password", "TF_VAR_zoomcamp_db_password"} <= set(call["env"]["tf_vars"])
    assert tools.credentials.exists(), "the passwords file is made once and kept"
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("==> [")]
    assert [line[:9] for line in steps] == [f"==> [{n}/5]" for n in range(1, 6)]
    assert steps[-1].startswith("==> [5/5] Creating the local stack again")
    assert out.count("done in ") == 4  # synth, init, destroy, deploy (reading the state is instant)
    assert out.rstrip().splitlines()[-1].startswith("==> local stack reset in")


def test_gcp_reset_lets_terraform_empty_the_data_before_destroying(
    tmp_path: Path, gcp_sandbox_synth: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = fake_tools(tmp_path, gcp_sandbox_synth, deployed=list(config_resources(gcp_sandbox_synth)))
    sandbox_reset("gcp", tools.env(ZOOMCAMP_SANDBOX="true"), sys.stdout, reset_options(tools))
    args = [call["args"][0] for call in tools.calls()]
    assert args == ["init", "state", "apply", "destroy", "deploy"]


def test_reset_stops_at_the_first_failed_step(tmp_path: Path, local_sandbox_synth: Any) -> None:
    tools = fake_tools(tmp_path, local_sandbox_synth, deployed=list(config_resources(local_sandbox_synth)))
    env = tools.env(ZOOMCAMP_SANDBOX="true", FAKE_TF_DESTROY_EXIT="1")
    with pytest.raises(BundleError, match=r"terraform destroy local failed \(exit 1\).*ZOOMCAMP_SANDBOX=true make"):
        sandbox_reset("local", env, sys.stdout, reset_options(tools))
    assert [call["tool"] for call in tools.calls()] == ["terraform"] * 3  # no deploy after a failed destroy


def test_the_lifecycle_page_shows_the_real_refusal(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("ZOOMCAMP_SANDBOX", raising=False)
    run_cli(lambda: reset_main(["local"]))
    error = capsys.readouterr().err.strip()
    lifecycle = (PROJECT_ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    section = lifecycle[lifecycle.index("## Sandbox lifecycle") :]
    assert error in section.splitlines()
