"""`make sandbox-reset STACK=local|gcp`: destroy a stack and create it again, in one command.

For a teacher preparing the next class or a learner who broke their setup: everything goes,
data included, so it runs only in sandbox mode (`ZOOMCAMP_SANDBOX=true`); otherwise it
refuses before touching anything (see `stacks.sandbox`). Each step prints what it does and
how long it took; a failed step stops the reset and says how to resume.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stacks.errors import BundleError, run_cli
from stacks.local_credentials import CREDENTIALS_FILE, ensure_credentials, read_credentials
from stacks.sandbox import check_stack, require_sandbox
from stacks.settings import PROJECT_ROOT, Settings

CDKTF = ("npx", "--no-install", "cdktf")
Runner = Callable[[Sequence[str], Mapping[str, str]], int]


@dataclass(frozen=True)
class ResetStep:
    title: str
    command: tuple[str, ...]


def reset_steps(stack: str) -> list[ResetStep]:
    """The commands of a reset, in order.

    The gcp stack is first deployed as it is in sandbox mode: Terraform destroys a bucket and
    a dataset with the `force_destroy` / `delete_contents_on_destroy` values stored in its
    state, so they must be true there before the destroy can empty them.
    """
    destroy = ResetStep(f"destroying the {stack} stack", (*CDKTF, "destroy", stack, "--auto-approve"))
    deploy = ResetStep(f"creating the {stack} stack again", (*CDKTF, "deploy", stack, "--auto-approve"))
    if stack == "gcp":
        arm = ResetStep(
            "recording sandbox mode in the state (bucket and dataset become deletable)",
            (*CDKTF, "deploy", stack, "--auto-approve"),
        )
        return [arm, destroy, deploy]
    return [destroy, deploy]


def reset_env(stack: str, env: Mapping[str, str], credentials: Path = CREDENTIALS_FILE) -> dict[str, str]:
    """The environment of every step: only this stack is built; local passwords as TF_VAR_*.

    The local passwords file is kept (created if missing): the new databases start with the
    same passwords, so nothing else needs to change.
    """
    result = {**env, "ZOOMCAMP_STACKS": stack}
    if stack == "local":
        ensure_credentials(env, credentials)
        result.update({f"TF_VAR_{name}": value for name, value in read_credentials(credentials).items()})
    return result


def _subprocess_runner(command: Sequence[str], env: Mapping[str, str]) -> int:
    return subprocess.run(list(command), env=dict(env), cwd=PROJECT_ROOT, check=False).returncode


def sandbox_reset(
    stack: str,
    env: Mapping[str, str],
    run: Runner = _subprocess_runner,
    say: Callable[[str], None] = print,
    credentials: Path = CREDENTIALS_FILE,
) -> None:
    """Refuse without sandbox mode; otherwise run the steps, stopping at the first failure."""
    check_stack(stack)
    require_sandbox(stack, Settings.from_env(env), "reset")
    steps = reset_steps(stack)
    step_env = reset_env(stack, env, credentials)
    started = time.monotonic()
    for number, step in enumerate(steps, start=1):
        say(f"==> [{number}/{len(steps)}] {step.title}: {' '.join(step.command)}")
        step_started = time.monotonic()
        code = run(step.command, step_env)
        if code != 0:
            raise BundleError(
                f"step {number}/{len(steps)} ({step.title}) failed with exit code {code}; fix the error above "
                f"and run `ZOOMCAMP_SANDBOX=true make sandbox-reset STACK={stack}` again (it resumes safely)"
            )
        say(f"    done in {time.monotonic() - step_started:.0f}s")
    say(f"==> {stack} stack reset in {time.monotonic() - started:.0f}s: fresh resources, empty data")


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise BundleError("usage: make sandbox-reset STACK=local|gcp")
    sandbox_reset(argv[0], os.environ)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(lambda: _main(sys.argv[1:])))
