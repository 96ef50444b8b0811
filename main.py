"""cdktf entry point: settings, then the stacks (`local`, `gcp`), then synth."""

import os
import sys
from pathlib import Path

from stacks.app import build_app
from stacks.errors import run_cli
from stacks.local_credentials import write_stack_tfvars
from stacks.settings import Settings


def main() -> int:
    settings = Settings.from_env()
    app = build_app(settings)
    app.synth()
    local_dir = Path(app.outdir) / "stacks" / "local"
    if (local_dir / "cdk.tf.json").exists():
        write_stack_tfvars(local_dir, os.environ)  # the passwords, for a plain `cdktf deploy local`
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
