"""The synthesized stacks as the real Terraform reads them, offline (no provider download).

Synthesis cannot tell whether an expression is one Terraform accepts. `terraform init`
checks the whole configuration before it installs a provider, so a config error stops every
deploy and destroy before anything starts; with an empty `-plugin-dir` it goes exactly that
far here. The local stack's password variables are also planned with a built-in
`terraform_data` resource: strong passwords pass, a weak one is refused with the stack's
message, and the bare-string condition the stack once had is shown to fail init.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

STRONG = "Strong123password"
KEY = "q2X1m3eYw7Qb0l8S4f9Zk6Jt5Uo2Rr1Vc0Hn3Pa7Dd8="  # base64 of 32 bytes, the encryption key's shape


def terraform(stack_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", f"-chdir={stack_dir}", *args, "-input=false", "-no-color"],
        env={**os.environ, "CHECKPOINT_DISABLE": "1", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def variables_only(variables: dict[str, Any], where: Path) -> Path:
    """The stack's variables and one built-in resource using them, in a Terraform folder."""
    where.mkdir(parents=True)
    uses = {"input": [f"${{nonsensitive(sha256(var.{name}))}}" for name in variables]}
    config = {"variable": variables, "resource": {"terraform_data": {"uses": uses}}}
    (where / "main.tf.json").write_text(json.dumps(config))
    return where


def tf_vars(variables: dict[str, Any], **override: str) -> dict[str, str]:
    valid = {name: KEY if name == "kestra_encryption_key" else STRONG for name in variables}
    return {f"TF_VAR_{name}": override.get(name, valid[name]) for name in variables}


def test_password_variables_are_valid_terraform_and_refuse_weak_values(local_synth: Any, tmp_path: Path) -> None:
    variables = local_synth["variable"]
    assert {"kestra_password", "kestra_db_password", "zoomcamp_db_password"} <= set(variables)
    stack_dir = variables_only(variables, tmp_path / "stack")
    init = terraform(stack_dir, "init")
    assert init.returncode == 0, init.stderr

    good = terraform(stack_dir, "plan", env=tf_vars(variables))
    assert good.returncode == 0, good.stderr
    assert "Plan: 1 to add" in good.stdout

    for weak in ("short1A", "nouppercase123", "NoDigitsHere", "NOLOWERCASE123", "Aa1" + "x" * 254):
        bad = terraform(stack_dir, "plan", env=tf_vars(variables, kestra_password=weak))
        assert bad.returncode != 0, weak
        assert "Use 8-256 characters with a lower-case letter, an upper-case letter and a" in bad.stderr
    for bad_key in (STRONG, KEY[:-1], KEY[:-2] + "!="):
        bad = terraform(stack_dir, "plan", env=tf_vars(variables, kestra_encryption_key=bad_key))
        assert bad.returncode != 0, bad_key
        assert "Use base64 of 32 random bytes" in bad.stderr


def test_a_bare_string_condition_is_what_init_rejects(local_synth: Any, tmp_path: Path) -> None:
    """The harness catches the bug it guards against: conditions without `${...}`."""
    bare = json.loads(json.dumps(local_synth["variable"]))
    for variable in bare.values():
        for rule in variable["validation"]:
            rule["condition"] = rule["condition"].removeprefix("${").removesuffix("}")
    init = terraform(variables_only(bare, tmp_path / "bare"), "init")
    assert init.returncode != 0
    assert "Invalid validation expression" in init.stderr


CONFIG_ERROR = "Terraform encountered problems during initialisation"


@pytest.mark.parametrize(
    "stack",
    [
        "local",
        "gcp",
    ],
)
def test_terraform_init_accepts_the_configuration(stack: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    stack_dir = tmp_path / stack
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(json.dumps(request.getfixturevalue(f"{stack}_synth")))
    empty = tmp_path / "no-providers"
    empty.mkdir()
    init = terraform(stack_dir, "init", "-backend=false", f"-plugin-dir={empty}")
    output = init.stdout + init.stderr
    assert CONFIG_ERROR not in output, output
    assert "Initializing provider plugins" in output, output  # got as far as installing providers


def test_a_plain_terraform_run_finds_the_passwords_written_beside_the_stack(
    local_synth: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `cdktf deploy local` runs: terraform in the stack folder with no TF_VAR_* set."""
    from stacks.local.credentials import STACK_TFVARS_NAME, read_credentials, write_stack_tfvars

    for name in [k for k in os.environ if k.startswith("TF_VAR_") or k == "KESTRA_PASSWORD"]:
        monkeypatch.delenv(name)
    variables = local_synth["variable"]
    stack_dir = variables_only(variables, tmp_path / "stack")
    (stack_dir / "main.tf.json").rename(stack_dir / "cdk.tf.json")
    credentials = tmp_path / "secrets" / "local.env"
    tfvars = write_stack_tfvars(stack_dir, os.environ, credentials)
    assert tfvars == stack_dir / STACK_TFVARS_NAME and tfvars.stat().st_mode & 0o777 == 0o600
    written = json.loads(tfvars.read_text())
    assert set(written) == set(variables)
    assert written == {name: read_credentials(credentials)[name] for name in variables}
    assert terraform(stack_dir, "init").returncode == 0
    plan = terraform(stack_dir, "plan")  # monkeypatch removed every TF_VAR_* from the environment
    assert plan.returncode == 0, plan.stderr
    assert "Plan: 1 to add" in plan.stdout


def test_a_chosen_kestra_password_wins_over_the_generated_one(local_synth: Any, tmp_path: Path) -> None:
    from stacks.local.credentials import write_stack_tfvars

    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"variable": local_synth["variable"]}))
    credentials = tmp_path / "secrets" / "local.env"
    write_stack_tfvars(stack_dir, {}, credentials)  # the file is made with random passwords first
    env = {"KESTRA_PASSWORD": "MyOwnPassw0rd"}
    written = json.loads(write_stack_tfvars(stack_dir, env, credentials).read_text())
    assert written["kestra_password"] == "MyOwnPassw0rd"


def test_a_lost_credentials_file_of_a_deployed_stack_is_never_silently_replaced(tmp_path: Path) -> None:
    """New random passwords would not open the deployed databases: say so instead."""
    from common.errors import BundleError
    from stacks.local.credentials import write_stack_tfvars

    state = tmp_path / "terraform.local.tfstate"
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    stack = {"terraform": {"backend": {"local": {"path": str(state)}}}, "variable": {"kestra_password": {}}}
    (stack_dir / "cdk.tf.json").write_text(json.dumps(stack))
    credentials = tmp_path / "secrets" / "local.env"
    state.write_text(json.dumps({"resources": [{"type": "docker_container", "name": "kestra"}]}))
    with pytest.raises(BundleError, match=r"local\.env is missing but the local stack is deployed"):
        write_stack_tfvars(stack_dir, {}, credentials)
    assert not credentials.exists()
    state.write_text(json.dumps({"resources": []}))  # destroyed: a fresh start is fine
    write_stack_tfvars(stack_dir, {}, credentials)
    assert credentials.exists()


def test_an_old_credentials_file_gets_the_encryption_key_appended(tmp_path: Path) -> None:
    from stacks.local.credentials import ENCRYPTION_KEY_VARIABLE, VARIABLES, ensure_credentials, read_credentials

    credentials = tmp_path / "local.env"
    old = "".join(f"TF_VAR_{name}='{STRONG}'\n" for name in VARIABLES)
    credentials.write_text(old)
    ensure_credentials({}, credentials)
    values = read_credentials(credentials)
    assert credentials.read_text().startswith(old)  # the passwords are kept as they were
    assert len(values[ENCRYPTION_KEY_VARIABLE]) == 44
    ensure_credentials({}, credentials)
    assert read_credentials(credentials) == values  # and the key, once made, is never replaced
