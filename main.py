"""cdktf entry point: settings, then the stacks (`local`, `gcp`), then synth."""

import sys

from stacks.app import build_app
from stacks.errors import run_cli
from stacks.settings import Settings


def main() -> int:
    build_app(Settings.from_env()).synth()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
