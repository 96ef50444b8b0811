"""Command line of the deploy wrappers: `python -m ops.deploy local|gcp`."""

from __future__ import annotations

import os
import sys

from common.errors import CommandLine, explain_interrupt, run_cli
from ops.deploy.runner import deploy
from stacks.settings import STACK_NAMES


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m ops.deploy",
        description="Create or update a stack, step by step (make deploy-local, make deploy-gcp).",
    )
    parser.add_argument("stack", choices=STACK_NAMES, help="the stack to deploy")
    stack = parser.parse_args(argv).stack
    with explain_interrupt(f"the {stack} stack may be half-created; rerun `make deploy-{stack}` to finish it"):
        deploy(stack, os.environ, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
