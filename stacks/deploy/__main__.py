"""Command line of the deploy wrappers: `python -m stacks.deploy local|gcp`."""

from __future__ import annotations

import os
import sys

from stacks.deploy.runner import deploy
from stacks.errors import BundleError, explain_interrupt, run_cli

USAGE = "usage: python -m stacks.deploy local|gcp"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("local", "gcp"):
        raise BundleError(f"expected one stack name, local or gcp ({USAGE})")
    stack = argv[0]
    with explain_interrupt(f"the {stack} stack may be half-created; rerun `make deploy-{stack}` to finish it"):
        deploy(stack, os.environ, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(lambda: main(sys.argv[1:])))
