"""`make deploy-local` / `make deploy-gcp` step by step, each step announced as it starts.

Local: credentials -> synthesize (and show what will exist) -> cdktf deploy -> wait for
Kestra on the published port -> summary. The passwords go from `.secrets/local.env` to
the cdktf process as TF_VAR_* variables and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from common.errors import BundleError
from flowcheck.flow_catalog import load_flow_catalog
from ops.deploy import summary
from ops.deploy.cdktf_steps import Commands, Synthesized, cdktf_deploy, synthesize, terraform_outputs
from ops.deploy.kestra_health import PASSWORD_FROM_ENV, PASSWORD_FROM_FILE, HealthWait, wait_for_kestra
from stacks.local.credentials import CREDENTIALS_FILE, ensure_credentials, read_credentials
from stacks.sandbox import OPT_IN, PROTECTED_DATA
from stacks.settings import GCP_STACK, LOCAL_STACK, Settings

QUIET_ENV = {
    # No HashiCorp version check on every command (and no failed lookup offline).
    "CHECKPOINT_DISABLE": "1",
}


@dataclass
class Progress:
    out: TextIO
    total: int
    done: int = field(default=0)

    def step(self, title: str) -> None:
        self.done += 1
        print(f"\n==> [{self.done}/{self.total}] {title}", file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(f"    {text}", file=self.out, flush=True)


@dataclass(frozen=True)
class DeployOptions:
    commands: Commands = field(default_factory=Commands)
    credentials_file: Path = CREDENTIALS_FILE
    health_timeout: float = 300.0
    health_interval: float = 2.0


def _show_plan(progress: Progress, synthesized: Synthesized) -> None:
    for warning in synthesized.warnings:
        progress.note(f"! {warning}")
    progress.note("Terraform will create or keep:")
    for line in summary.resource_preview(synthesized.stack_json):
        progress.note(f"  {line}")


def destroy_hint(stack: str, sandbox: bool) -> str:
    """How to remove the stack, honest about the data it protects (see stacks/sandbox.py)."""
    if sandbox:
        return f"make destroy-{stack}; in sandbox mode this also deletes {PROTECTED_DATA[stack]}"
    return (
        f"make destroy-{stack} keeps {PROTECTED_DATA[stack]}; {OPT_IN['destroy'].format(stack=stack)} deletes them too"
    )


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def deploy_local(env: Mapping[str, str], out: TextIO, options: DeployOptions | None = None) -> None:
    options = options or DeployOptions()
    commands = options.commands
    stack_env = {**env, **QUIET_ENV, "ZOOMCAMP_STACKS": LOCAL_STACK}
    settings = Settings.from_env(stack_env)
    progress = Progress(out, total=4)

    progress.step("Credentials")
    path, created = ensure_credentials(stack_env, options.credentials_file)
    shown = _display(path, commands.project_root)
    progress.note(f"{'Generated new' if created else 'Using the'} passwords in {shown} (mode 0600, git-ignored)")
    passwords = read_credentials(path)
    stack_env.update({f"TF_VAR_{name}": value for name, value in passwords.items()})

    progress.step("Synthesizing the local stack (settings and flows checked)")
    synthesized = synthesize(LOCAL_STACK, stack_env, commands)
    stack_json = synthesized.stack_json
    flows = load_flow_catalog(settings.flows_dir)  # each under the id it names, as Kestra shows them
    _show_plan(progress, synthesized)

    progress.step("Deploying with `cdktf deploy local` (Terraform's output follows)")
    cdktf_deploy(LOCAL_STACK, stack_env, commands, out, auto_approve=True)

    outputs = summary.outputs_of(stack_json)
    url = str(outputs.get("kestra_url") or settings.local.kestra_url)
    progress.step(f"Waiting for Kestra to answer at {url}")
    health, waited = wait_for_kestra(
        HealthWait(
            url=url,
            username=settings.kestra.username,
            # KESTRA_PASSWORD wins over the file's, as in the tfvars Terraform deployed (write_stack_tfvars)
            password=settings.kestra.password or passwords.get("kestra_password", ""),
            container=f"{settings.local.prefix}-kestra",
            namespace=settings.kestra.namespace,
            password_from=PASSWORD_FROM_ENV if settings.kestra.password else PASSWORD_FROM_FILE,
            timeout=options.health_timeout,
            interval=options.health_interval,
        ),
        out,
    )
    progress.note(f"{health} answered after {waited:.0f}s")
    print("", file=out)
    destroy = destroy_hint(LOCAL_STACK, settings.sandbox)
    print(summary.local_summary(outputs, flows, health, destroy=destroy), file=out, flush=True)


def deploy_gcp(env: Mapping[str, str], out: TextIO, options: DeployOptions | None = None) -> None:
    options = options or DeployOptions()
    commands = options.commands
    stack_env = {**env, **QUIET_ENV, "ZOOMCAMP_STACKS": GCP_STACK}
    settings = Settings.from_env(stack_env)
    progress = Progress(out, total=3)

    progress.step("Synthesizing the gcp stack (loading the google provider takes a few seconds)")
    _show_plan(progress, synthesize(GCP_STACK, stack_env, commands))

    progress.step("Deploying with `cdktf deploy gcp` (review the plan, then approve)")
    cdktf_deploy(GCP_STACK, stack_env, commands, out, auto_approve=False)

    progress.step("Reading the stack's outputs")
    outputs = terraform_outputs(GCP_STACK, stack_env, commands)
    print("", file=out)
    destroy = destroy_hint(GCP_STACK, settings.sandbox)
    print(summary.gcp_summary(outputs, destroy=destroy), file=out, flush=True)


def deploy(stack: str, env: Mapping[str, str], out: TextIO, options: DeployOptions | None = None) -> None:
    if stack == LOCAL_STACK:
        deploy_local(env, out, options)
    elif stack == GCP_STACK:
        deploy_gcp(env, out, options)
    else:
        raise BundleError(f"unknown stack {stack!r}; use: python -m ops.deploy local|gcp")
