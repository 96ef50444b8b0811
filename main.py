"""cdktf entry point: settings, then the stacks (`local`, `gcp`), then synth.

When nothing that goes into the output has changed since the last synth into the same folder
(stacks/synth_cache.py: a content key over sources, flows, dbt files, settings and lock files),
the output is reused as it is and cdktf and the provider bindings are not even imported.
Either way the local stack's credentials file is written again afterwards.

May import: stacks, common (cdktf.json runs this file; the commands of ops/ are not part of a synth).
"""

import os
import sys
from pathlib import Path

from common.errors import run_cli
from stacks import synth_cache
from stacks.local.credentials import write_stack_tfvars
from stacks.settings import LOCAL_STACK, PROJECT_ROOT, Settings
from stacks.state_backend import make_state_private


def synthesize(settings: Settings) -> Path:
    """The output folder, synthesized now or reused from a previous synth with the same key."""
    outdir = synth_cache.output_dir(os.environ)
    key = synth_cache.synth_key(PROJECT_ROOT, settings, os.environ)
    stamp = synth_cache.reusable(outdir, key)
    if stamp is not None:
        for note in stamp.notes:
            print(note)
        synth_cache.mark_reused(outdir, stamp)
        return outdir
    synth_cache.forget(outdir)
    with synth_cache.recording_stdout() as printed:
        from stacks.app import build_app  # cdktf, and for gcp the google bindings, load only here

        app = build_app(settings)
        app.synth()
    outdir = Path(app.outdir)
    synth_cache.remember(outdir, key, printed.lines())
    return outdir


def main() -> int:
    settings = Settings.from_env()
    for stack in settings.stacks:
        # A plain `cdktf deploy` synthesizes first: a state an older version left 0644 is made private here.
        make_state_private(PROJECT_ROOT, stack, settings)
    local_dir = synthesize(settings) / "stacks" / LOCAL_STACK
    if (local_dir / "cdk.tf.json").exists():
        write_stack_tfvars(local_dir, os.environ)  # the passwords, for a plain `cdktf deploy local`
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
