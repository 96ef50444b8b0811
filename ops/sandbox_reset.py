"""`make sandbox-reset STACK=local|gcp`: destroy a stack and create it again, in one command.

For a teacher preparing the next class or a learner who broke their setup: everything goes,
data included, so it runs only in sandbox mode (`ZOOMCAMP_SANDBOX=true`); otherwise it
refuses before touching anything (see `stacks.sandbox`). The destroy is `make destroy-<stack>`'s
own (ops/destroy.py, a full destroy in sandbox mode), approved by the opt-in; then
`cdktf deploy` applies the stack that destroy just synthesized. Each step prints what it
does and how long it took; a failed step stops the reset and says how to resume.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from common.errors import CommandLine, explain_interrupt, run_cli
from ops.deploy.cdktf_steps import cdktf_deploy
from ops.deploy.runner import Progress
from ops.destroy import STEPS, DestroyOptions, confirm_data_loss, destroy_env, destroy_stack, options_from_env
from stacks.local.credentials import ensure_credentials
from stacks.sandbox import OPT_IN, check_stack, require_sandbox
from stacks.settings import LOCAL_STACK, Settings


def sandbox_reset(stack: str, env: Mapping[str, str], out: TextIO, options: DestroyOptions | None = None) -> None:
    """Refuse without sandbox mode; otherwise destroy everything, then deploy, stopping at a failure."""
    check_stack(stack)
    require_sandbox(stack, Settings.from_env(env), "reset")
    options = options or DestroyOptions()
    confirm_data_loss(stack, options, f"ZOOMCAMP_SANDBOX=true make sandbox-reset STACK={stack}")
    # Asked once, here, before anything runs; the destroy step does not ask again.
    options = dataclasses.replace(options, auto_approve=True, stop_if_never_deployed=False, confirmed=True)
    if stack == LOCAL_STACK:
        # Kept (or made once): the new databases start with the same passwords.
        ensure_credentials(env, options.credentials_file)
    progress = Progress(out, total=STEPS + 1)
    started = options.clock()
    destroy_stack(stack, env, out, options, progress)

    progress.step(f"Creating the {stack} stack again (cdktf deploy {stack} --auto-approve)")
    step_started = options.clock()
    # A failure says to rerun `make deploy-<stack>`: exactly what finishes the reset.
    cdktf_deploy(stack, destroy_env(stack, env, options.credentials_file), options.commands, out, auto_approve=True)
    progress.note(f"done in {options.clock() - step_started:.0f}s")
    print(
        f"\n==> {stack} stack reset in {options.clock() - started:.0f}s: fresh resources, empty data",
        file=out,
        flush=True,
    )


def _main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m ops.sandbox_reset",
        description="Destroy a stack with its data and create it again (make sandbox-reset STACK=local|gcp; "
        "only with ZOOMCAMP_SANDBOX=true).",
    )
    # No `choices`: check_stack names the make variable (STACK=...) in its message.
    parser.add_argument("stack", help="local or gcp")
    parser.add_argument("--yes", action="store_true", help="delete the data without asking for the stack name (CI)")
    arguments = parser.parse_args(argv)
    stack = arguments.stack
    options = dataclasses.replace(options_from_env(os.environ), confirmed=arguments.yes)
    with explain_interrupt(f"rerun `{OPT_IN['reset'].format(stack=stack)}` to finish (it resumes safely)"):
        sandbox_reset(stack, os.environ, sys.stdout, options)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(_main))
