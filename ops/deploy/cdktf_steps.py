"""The external commands of a deploy: synthesize, `cdktf deploy`, `terraform output`.

Synthesis runs the app (`main.py`) directly, exactly what `cdktf synth` runs, so a bad
setting or flow prints our own one-line error instead of the CLI's spinner and stack
trace; `cdktf deploy --skip-synth` then applies that output. The deploy inherits the
terminal: cdktf draws its own progress (and asks for approval on gcp) as it happens.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from common.errors import BundleError
from stacks.settings import PROJECT_ROOT, Settings
from stacks.state_backend import PRIVATE_UMASK, make_state_private

NPX_CDKTF = ("npx", "--no-install", "cdktf")


@dataclass(frozen=True)
class Commands:
    """How to reach the tools; tests point these at fakes."""

    project_root: Path = PROJECT_ROOT
    python: Sequence[str] = field(default_factory=lambda: (sys.executable,))
    cdktf: Sequence[str] = NPX_CDKTF
    terraform: str = "terraform"
    outdir: str = "cdktf.out"
    # Where cdktf's local backend keeps terraform.<stack>.tfstate; None: the project folder.
    state_root: Path | None = None

    def stack_dir(self, stack: str) -> Path:
        return self.project_root / self.outdir / "stacks" / stack

    def state_folder(self) -> Path:
        return self.state_root or self.project_root


@dataclass(frozen=True)
class Synthesized:
    stack_json: dict[str, Any]
    warnings: tuple[str, ...]  # the stack's cdktf warning annotations, which `cdktf synth` would print


def _annotations(stack: str, commands: Commands) -> list[dict[str, Any]]:
    try:
        manifest = json.loads((commands.project_root / commands.outdir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = manifest.get("stacks", {}).get(stack, {}).get("annotations", [])
    return [a for a in found if isinstance(a, dict)]


def synthesize(stack: str, env: Mapping[str, str], commands: Commands) -> Synthesized:
    """Run the app for `stack`; its Terraform JSON and warnings, or one-line errors."""
    completed = subprocess.run(
        [*commands.python, str(commands.project_root / "main.py")],
        cwd=commands.project_root,
        env={**env, "ZOOMCAMP_STACKS": stack, "CDKTF_OUTDIR": str(commands.project_root / commands.outdir)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        ours = [line.removeprefix("error: ") for line in completed.stderr.splitlines() if line.startswith("error: ")]
        if ours:
            raise BundleError("\n".join(ours))
        last = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise BundleError(
            f"synthesizing the {stack} stack failed unexpectedly (exit {completed.returncode}: {last}); "
            "rerun with DEBUG=1 to see the traceback"
        )
    annotations = _annotations(stack, commands)
    errors = [str(a.get("message")) for a in annotations if a.get("level") == "@cdktf/error"]
    if errors:  # `cdktf synth` stops on these too
        raise BundleError("\n".join(errors))
    path = commands.stack_dir(stack) / "cdk.tf.json"
    try:
        stack_json = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BundleError(f"synth ran but {path} is unreadable ({error}); run `make clean` and retry") from None
    warnings = tuple(str(a.get("message")) for a in annotations if a.get("level") == "@cdktf/warn")
    return Synthesized(stack_json, warnings)


def cdktf_deploy(stack: str, env: Mapping[str, str], commands: Commands, out: TextIO, auto_approve: bool) -> None:
    """`cdktf deploy <stack> --skip-synth`, its output streaming straight to the terminal."""
    command = [*commands.cdktf, "deploy", stack, "--skip-synth"]
    if auto_approve:
        command.append("--auto-approve")
    out.flush()
    try:
        # Terraform creates the state (and its .backup) with this umask: owner-only from the start.
        completed = subprocess.run(command, cwd=commands.project_root, env=dict(env), check=False, umask=PRIVATE_UMASK)
    except FileNotFoundError:
        raise BundleError(f"{command[0]} not found; install Node.js 20+ and run `make setup`") from None
    finally:
        # A state an older version left readable; the one of a failed apply too.
        make_state_private(commands.state_folder(), stack, Settings.from_env({**env, "ZOOMCAMP_STACKS": stack}))
    if completed.returncode != 0:
        raise BundleError(
            f"cdktf deploy {stack} failed (exit {completed.returncode}): the Terraform error is above; "
            f"fix it and rerun `make deploy-{stack}` (`make doctor STACK={stack}` checks the usual causes)"
        )


def terraform_outputs(stack: str, env: Mapping[str, str], commands: Commands) -> dict[str, dict[str, Any]]:
    """`terraform output -json` in the stack's synthesized folder (where cdktf ran init)."""
    try:
        completed = subprocess.run(
            [commands.terraform, f"-chdir={commands.stack_dir(stack)}", "output", "-json"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BundleError(f"cannot read the {stack} outputs ({error}); run `npx cdktf output {stack}`") from None
    if completed.returncode != 0:
        raise BundleError(f"terraform output failed for {stack}; run `npx cdktf output {stack}` to see them")
    try:
        outputs = json.loads(completed.stdout or "{}")
    except ValueError:
        raise BundleError(f"terraform output for {stack} is not JSON; run `npx cdktf output {stack}`") from None
    return outputs if isinstance(outputs, dict) else {}
