"""Command line of the deploy wrappers: `python -m stacks.deploy local|gcp`."""

from __future__ import annotations

import os
import sys

from stacks.deploy.runner import deploy
from stacks.errors import CommandLine, explain_interrupt, run_cli
from stacks.settings import STACK_NAMES


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m stacks.deploy",
        description="Create or update a stack, step by step (make deploy-local, make deploy-gcp).",
    )
    parser.add_argument("stack", choices=STACK_NAMES, help="the stack to deploy")
    stack = parser.parse_args(argv).stack
    with explain_interrupt(f"the {stack} stack may be half-created; rerun `make deploy-{stack}` to finish it"):
        deploy(stack, os.environ, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
