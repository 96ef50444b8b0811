"""`python -m ops.credentials [ensure]`: generate the local stack's passwords, or keep the ones there.

The file and its rules are the local stack's (stacks/local/credentials.py): synth and
`make deploy-local` create it anyway; this creates it on its own, e.g. to read a password before
the first deploy.
"""

from __future__ import annotations

import os
import sys

from common.errors import CommandLine, run_cli
from stacks.local.credentials import ensure_credentials
from stacks.settings import PROJECT_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m ops.credentials",
        description="Generate the local stack's passwords into .secrets/local.env, or keep the ones there.",
    )
    parser.add_argument("command", nargs="?", choices=("ensure",), default="ensure", help="the only one: ensure")
    parser.parse_args(argv)
    path, created = ensure_credentials(os.environ)
    shown = path.relative_to(PROJECT_ROOT)
    print(f"{'Generated' if created else 'Using'} local credentials in {shown} (mode 0600, git-ignored)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
