"""`make destroy-local` / `make destroy-gcp`: remove a stack but keep the data it protects.

A learner destroys a stack to stop paying for it or to free their laptop, and expects to
find their loaded months, their executions and their password again on the next deploy.
cdktf's CLI destroys a whole stack or nothing, so this drives Terraform itself, in the
folder cdktf synthesizes into and where `cdktf deploy` ran `terraform init`:

1. synthesize the stack with the current settings (the deploy wrapper's own synthesis);
2. `terraform init` (idempotent: it reuses the providers a deploy installed);
3. `terraform state list`: what is deployed, including resources the code no longer has;
   then show what is kept and what is removed;
4. `terraform destroy` with one `-target` per removed resource. Everything of a type in
   stacks/sandbox.py's `PROTECTED` is left out, so it stays deployed and in the state, and
   the next `make deploy-<stack>` only creates what is missing around it.

With `ZOOMCAMP_SANDBOX=true` step 4 is a full `terraform destroy`, data included; on gcp it
first applies the sandbox values of `force_destroy` / `delete_contents_on_destroy` to the
buckets and dataset, because Google deletes them with the values in the state.

A stack never deployed from this folder (its state is a local file, and there is none) is
one line, without synthesizing or running Terraform: offline, `terraform init` would only
print registry errors. With a state bucket (gcp) only Terraform can tell, so it is asked.

    python -m ops.destroy local|gcp
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from common.errors import BundleError, CommandLine, explain_interrupt, run_cli
from ops.deploy import summary
from ops.deploy.cdktf_steps import Commands, synthesize
from ops.deploy.runner import QUIET_ENV, Progress
from stacks.local.credentials import CREDENTIALS_FILE, read_credentials
from stacks.sandbox import OPT_IN, PROTECTED, PROTECTED_DATA, check_stack
from stacks.settings import LOCAL_STACK, STACK_NAMES, Settings
from stacks.state_backend import PRIVATE_UMASK, local_state_file

STEPS = 4  # synthesize, init, read the state, destroy
NO_STATE = "No state file was found"  # `terraform state list` before the first apply


def _module_free(address: str) -> list[str]:
    parts = address.split(".")
    while parts[:1] == ["module"]:
        parts = parts[2:]
    return parts


def resource_type(address: str) -> str:
    """`docker_volume.data_pg_volume_66D558D1` -> `docker_volume`."""
    return _module_free(address)[0]


def is_managed(address: str) -> bool:
    """A resource Terraform creates and destroys (not a `data.` source)."""
    return _module_free(address)[0] != "data"


def config_resources(stack_json: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Address -> body of every resource in a synthesized stack."""
    return {
        f"{kind}.{name}": body
        for kind, resources in stack_json.get("resource", {}).items()
        for name, body in resources.items()
    }


@dataclass(frozen=True)
class DestroyPlan:
    stack: str
    sandbox: bool
    kept: tuple[str, ...]  # left deployed and in the state
    removed: tuple[str, ...]  # destroyed
    armed: tuple[str, ...] = ()  # sandbox: protected resources whose delete flags are applied first

    @property
    def targets(self) -> tuple[str, ...]:
        """The `-target`s of the destroy: none in sandbox mode, which takes everything."""
        return () if self.sandbox else self.removed


class ProtectionBug(BundleError):
    """The protected-data table and the stack disagree: destroying would fail or take data."""


def _check_no_marked_target(plan: DestroyPlan, config: Mapping[str, Mapping[str, Any]]) -> None:
    for address in plan.removed:
        if config.get(address, {}).get("lifecycle", {}).get("prevent_destroy"):
            raise ProtectionBug(
                f"refusing to destroy the {plan.stack} stack: {address} carries lifecycle.prevent_destroy but "
                f"PROTECTED[{plan.stack!r}] in stacks/sandbox.py does not keep {resource_type(address)}; nothing "
                "was changed (a bug in this bundle: add the type to the table)"
            )


def _check_kept_refer_to_kept(plan: DestroyPlan, config: Mapping[str, Mapping[str, Any]]) -> None:
    """Terraform destroys whatever refers to a target: a kept resource must refer to none."""
    for kept in plan.kept:
        text = json.dumps(config.get(kept, {}))
        for removed in plan.removed:
            if re.search(rf"(?<![\w.]){re.escape(removed)}(?![\w-])", text):
                raise ProtectionBug(
                    f"refusing to destroy the {plan.stack} stack: kept {kept} refers to {removed}, so Terraform "
                    f"would destroy it too; nothing was changed (a bug in this bundle: protect "
                    f"{resource_type(removed)} in stacks/sandbox.py or drop the reference)"
                )


def plan_destroy(stack: str, stack_json: Mapping[str, Any], deployed: Iterable[str], sandbox: bool) -> DestroyPlan:
    """Split the deployed resources into kept and removed, by the one table in stacks/sandbox.py."""
    data = PROTECTED[check_stack(stack)]
    managed = sorted({address for address in deployed if is_managed(address)})
    protected = tuple(a for a in managed if resource_type(a) in data.resource_types)
    if sandbox:
        armed = tuple(a for a in protected if resource_type(a) in data.emptied_per_state)
        plan = DestroyPlan(stack, sandbox, kept=(), removed=tuple(managed), armed=armed)
    else:
        removed = tuple(a for a in managed if a not in protected)
        plan = DestroyPlan(stack, sandbox, kept=protected, removed=removed)
    check_plan(plan, stack_json)
    return plan


def check_plan(plan: DestroyPlan, stack_json: Mapping[str, Any]) -> None:
    """Refuse a plan Terraform would carry out differently: failing halfway, or taking kept data."""
    config = config_resources(stack_json)
    _check_no_marked_target(plan, config)
    _check_kept_refer_to_kept(plan, config)


def preview(stack_json: Mapping[str, Any], addresses: Sequence[str]) -> list[str]:
    """One line per resource type (the deploy's own preview), then those the code no longer has."""
    config = config_resources(stack_json)
    known: dict[str, dict[str, Any]] = {}
    for address in addresses:
        if address in config:
            kind, name = address.split(".", 1)
            body = config[address]
            if "name" not in body and "secret_id" in body:  # a secret is known by its id
                body = {**body, "name": body["secret_id"]}
            known.setdefault(kind, {})[name] = body
    lines = summary.resource_preview({"resource": known})
    orphans = [a for a in addresses if a not in config]
    if orphans:
        lines.append(f"no longer in the code ({len(orphans)}): {', '.join(orphans)}")
    return lines


# --- the Terraform command lines ------------------------------------------------------


def terraform(commands: Commands, stack: str, *args: str) -> list[str]:
    return [commands.terraform, f"-chdir={commands.stack_dir(stack)}", *args]


def init_command(commands: Commands, stack: str) -> list[str]:
    return terraform(commands, stack, "init", "-input=false")


def state_list_command(commands: Commands, stack: str) -> list[str]:
    return terraform(commands, stack, "state", "list")


def arm_command(commands: Commands, plan: DestroyPlan) -> list[str]:
    """Sandbox mode: write force_destroy/delete_contents_on_destroy = true into the state."""
    targets = [f"-target={address}" for address in plan.armed]
    return terraform(commands, plan.stack, "apply", "-input=false", "-auto-approve", *targets)


def destroy_command(commands: Commands, plan: DestroyPlan, auto_approve: bool) -> list[str]:
    # Without -auto-approve Terraform asks, which -input=false would turn into an error.
    approval = ["-input=false", "-auto-approve"] if auto_approve else []
    targets = [f"-target={address}" for address in plan.targets]
    return terraform(commands, plan.stack, "destroy", *approval, *targets)


# --- running them ---------------------------------------------------------------------


def _captured(command: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(command),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            umask=PRIVATE_UMASK,  # a state Terraform writes (or backs up) is owner-only
        )
    except FileNotFoundError:
        raise BundleError(f"{command[0]} not found; install Terraform (`make doctor` checks it)") from None


def _streamed(command: Sequence[str], env: Mapping[str, str], out: TextIO) -> int:
    out.flush()
    try:
        return subprocess.run(list(command), env=dict(env), check=False, umask=PRIVATE_UMASK).returncode
    except FileNotFoundError:
        raise BundleError(f"{command[0]} not found; install Terraform (`make doctor` checks it)") from None


def _show_output(completed: subprocess.CompletedProcess[str], out: TextIO) -> None:
    for text in (completed.stdout, completed.stderr):
        if text.strip():
            print(text.rstrip(), file=out, flush=True)


def deployed_addresses(commands: Commands, stack: str, env: Mapping[str, str], out: TextIO) -> list[str]:
    completed = _captured(state_list_command(commands, stack), env)
    if completed.returncode != 0:
        if NO_STATE in completed.stdout + completed.stderr:
            return []
        _show_output(completed, out)
        raise BundleError(
            f"terraform state list failed for {stack} (exit {completed.returncode}): its output is above; "
            f"nothing was changed; fix it and rerun `make destroy-{stack}`"
        )
    return [line.strip() for line in completed.stdout.splitlines() if line.strip()]


def destroy_env(stack: str, env: Mapping[str, str], credentials: Path | None = CREDENTIALS_FILE) -> dict[str, str]:
    """Only this stack is built; with `credentials`, the local passwords as TF_VAR_* (its variables).

    A destroy never generates passwords: new ones would not open the running Kestra whose
    flows Terraform removes through its API. Reading the state needs none, so a learner who
    never deployed hears "nothing to destroy", not "passwords missing".
    """
    result = {**env, **QUIET_ENV, "ZOOMCAMP_STACKS": stack}
    if stack == LOCAL_STACK and credentials is not None:
        if not credentials.exists():
            raise BundleError(
                f"{credentials} is missing: the local stack is deployed and destroying it needs the passwords it "
                "was deployed with (Terraform removes the flows through Kestra's API); restore the file and rerun "
                "make destroy-local"
            )
        result.update({f"TF_VAR_{name}": value for name, value in read_credentials(credentials).items()})
    return result


def terraform_init(commands: Commands, stack: str, env: Mapping[str, str], out: TextIO) -> None:
    """Quiet when it works (a deploy already initialised the folder); its output when it fails."""
    completed = _captured(init_command(commands, stack), env)
    if completed.returncode != 0:
        _show_output(completed, out)
        raise BundleError(
            f"terraform init failed for {stack} (exit {completed.returncode}): its output is above; nothing was "
            f"changed; fix it (network access to the Terraform registry, the state bucket) and rerun "
            f"`make destroy-{stack}`"
        )


def terraform_destroy(
    plan: DestroyPlan, commands: Commands, env: Mapping[str, str], out: TextIO, auto_approve: bool
) -> None:
    """The arming apply (sandbox, gcp) then the destroy, Terraform's output on the terminal."""
    stack = plan.stack
    if plan.armed:
        code = _streamed(arm_command(commands, plan), env, out)
        if code != 0:
            raise BundleError(
                f"recording sandbox mode's force_destroy/delete_contents_on_destroy failed (exit {code}): the "
                f"Terraform error is above; nothing was destroyed; fix it and rerun `ZOOMCAMP_SANDBOX=true make "
                f"destroy-{stack}`"
            )
    code = _streamed(destroy_command(commands, plan, auto_approve), env, out)
    if code != 0:
        kept = "" if plan.sandbox else "; the kept data was not part of it"
        again = OPT_IN["destroy"].format(stack=stack) if plan.sandbox else f"make destroy-{stack}"
        raise BundleError(
            f"terraform destroy {stack} failed (exit {code}): the Terraform error is above, or the destroy was not "
            f"approved{kept}; rerun `{again}` to finish"
        )


def ask_on_terminal(prompt: str) -> str | None:
    """The line typed at `prompt`, or None when no one can answer (no terminal: CI, a pipe)."""
    if not sys.stdin.isatty():
        return None
    try:
        return input(prompt)
    except EOFError:
        return None


@dataclass(frozen=True)
class DestroyOptions:
    commands: Commands = field(default_factory=Commands)
    credentials_file: Path = CREDENTIALS_FILE
    auto_approve: bool | None = None  # None: local yes; gcp shows Terraform's plan and asks, like its deploy
    # --yes (make ... YES=1): a sandbox destroy takes the data without the typed stack name (CI).
    confirmed: bool = False
    ask: Callable[[str], str | None] = ask_on_terminal
    clock: Callable[[], float] = time.monotonic
    # Without a state file, say so and stop; sandbox-reset goes on (its deploy needs the synthesis).
    stop_if_never_deployed: bool = True


def options_from_env(env: Mapping[str, str]) -> DestroyOptions:
    """The terraform binary cdktf itself uses (TERRAFORM_BINARY_NAME, as the doctor checks)."""
    return DestroyOptions(commands=Commands(terraform=env.get("TERRAFORM_BINARY_NAME") or "terraform"))


def _show_plan(progress: Progress, plan: DestroyPlan, stack_json: Mapping[str, Any]) -> None:
    stack = plan.stack
    if plan.sandbox:
        progress.note("Sandbox mode (ZOOMCAMP_SANDBOX=true): removing everything, data included:")
        for line in preview(stack_json, plan.removed):
            progress.note(f"  {line}")
        progress.note(f"This deletes {PROTECTED_DATA[stack]}.")
        return
    progress.note("Keeping your data (left deployed; the next `make deploy-" + stack + "` reattaches to it):")
    for line in preview(stack_json, plan.kept) or ["nothing of it is deployed"]:
        progress.note(f"  {line}")
    progress.note("Removing:")
    for line in preview(stack_json, plan.removed) or ["nothing: only the kept data is deployed"]:
        progress.note(f"  {line}")
    progress.note(f"To remove everything, data included: {OPT_IN['destroy'].format(stack=stack)}")


def confirm_data_loss(stack: str, options: DestroyOptions, command: str) -> None:
    """A sandbox destroy deletes data: only when the stack's name is typed, or --yes was given.

    An exported ZOOMCAMP_SANDBOX=true, forgotten in a shell, must not turn a routine
    `make destroy-local` into the loss of every loaded month.
    """
    if options.confirmed:
        return
    answer = options.ask(f"This deletes {PROTECTED_DATA[stack]}. Type the stack name ({stack}) to go on: ")
    if answer is None:
        raise BundleError(
            f"refusing to delete the {stack} stack's data (ZOOMCAMP_SANDBOX=true) without a typed confirmation and "
            f"there is no terminal to ask on; nothing was changed; to go on, run `{command} YES=1` "
            "(or pass --yes)"
        )
    if answer.strip() != stack:
        raise BundleError(
            f"you typed {answer.strip()!r}, not {stack!r}: nothing was changed (ZOOMCAMP_SANDBOX=true deletes the "
            f"data; unset it to keep the data)"
        )


def never_deployed(stack: str, commands: Commands, settings: Settings) -> Path | None:
    """The missing state file when `stack` keeps its state in a local file and none exists; else None."""
    state = local_state_file(commands.state_folder(), stack, settings)
    return state if state is not None and not state.exists() else None


def _elapsed(progress: Progress, clock: Callable[[], float], started: float) -> None:
    progress.note(f"done in {clock() - started:.0f}s")


def destroy_stack(
    stack: str,
    env: Mapping[str, str],
    out: TextIO,
    options: DestroyOptions | None = None,
    progress: Progress | None = None,
) -> DestroyPlan | None:
    """Run the four steps; the plan that was carried out, or None when nothing was deployed."""
    options = options or DestroyOptions()
    commands, clock = options.commands, options.clock
    check_stack(stack)
    stack_env = destroy_env(stack, env, credentials=None)
    settings = Settings.from_env(stack_env)
    missing_state = never_deployed(stack, commands, settings) if options.stop_if_never_deployed else None
    if missing_state is not None:
        print(
            f"Nothing to destroy: the {stack} stack was never deployed from this folder (no {missing_state.name}).",
            file=out,
            flush=True,
        )
        return None
    progress = progress or Progress(out, total=STEPS)
    auto_approve = stack == LOCAL_STACK if options.auto_approve is None else options.auto_approve
    started = clock()

    progress.step(f"Synthesizing the {stack} stack (what it defines, with your current settings)")
    step_started = clock()
    stack_json = synthesize(stack, stack_env, commands).stack_json
    _elapsed(progress, clock, step_started)

    progress.step(f"Preparing Terraform in {commands.outdir}/stacks/{stack} (terraform init)")
    step_started = clock()
    terraform_init(commands, stack, stack_env, out)
    _elapsed(progress, clock, step_started)

    progress.step("Reading what is deployed (terraform state list)")
    deployed = deployed_addresses(commands, stack, stack_env, out)
    if not any(is_managed(address) for address in deployed):
        progress.note(f"Terraform's state of the {stack} stack holds no resource: nothing to destroy.")
        print(f"\n==> Nothing to destroy for the {stack} stack.", file=out, flush=True)
        return None
    plan = plan_destroy(stack, stack_json, deployed, settings.sandbox)
    _show_plan(progress, plan, stack_json)

    if not plan.removed:
        print(f"\n==> Nothing to remove: only the kept data of the {stack} stack is deployed.", file=out, flush=True)
        return plan
    if plan.sandbox:
        confirm_data_loss(stack, options, f"ZOOMCAMP_SANDBOX=true make destroy-{stack}")
    stack_env = destroy_env(stack, env, options.credentials_file)
    progress.step(f"Destroying with terraform destroy ({len(plan.removed)} resources)")
    step_started = clock()
    if plan.targets:
        progress.note("Terraform warns that -target is in effect: that is how the kept data stays out of it.")
    if not auto_approve:
        progress.note("Terraform shows its plan and asks you to type yes.")
    if plan.armed:
        progress.note(f"First letting Terraform delete them with their contents: {', '.join(plan.armed)}")
    terraform_destroy(plan, commands, stack_env, out, auto_approve)
    _elapsed(progress, clock, step_started)
    if plan.sandbox:
        ending = "everything removed, data included"
    else:
        ending = f"kept {len(plan.kept)} resources holding your data; `make deploy-{stack}` builds the rest again"
    print(f"\n==> {stack} stack destroyed in {clock() - started:.0f}s: {ending}", file=out, flush=True)
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m ops.destroy",
        description="Remove a stack but keep its data; all of it with ZOOMCAMP_SANDBOX=true "
        "(make destroy-local, make destroy-gcp).",
    )
    parser.add_argument("stack", choices=STACK_NAMES, help="the stack to destroy")
    parser.add_argument(
        "--yes", action="store_true", help="with ZOOMCAMP_SANDBOX=true: delete the data without asking (CI)"
    )
    arguments = parser.parse_args(argv)
    stack = arguments.stack
    options = dataclasses.replace(options_from_env(os.environ), confirmed=arguments.yes)
    with explain_interrupt(f"the {stack} stack may be half-destroyed; rerun `make destroy-{stack}` to finish"):
        destroy_stack(stack, os.environ, sys.stdout, options)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
