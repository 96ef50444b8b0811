"""Synthesize the stacks of a git revision and of the working tree, without touching either.

The base revision is checked out into a temporary `git worktree` and its own `main.py` runs
there with the current virtualenv (the dependencies are pinned, so they rarely differ); the
output goes to a temporary folder, never to the shared `cdktf.out/`. No credentials are
needed: GCP_PROJECT_ID (and the Git URL Kestra syncs from) default to placeholders, so the
gcp stack synthesizes anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stacks.errors import BundleError

PLACEHOLDER_PROJECT = "plan-diff-placeholder"
# Settings the gcp stack needs that a fork or a laptop may lack; the same on both sides, so
# they never show as a change. Set the real variables to see real values in created resources.
PLACEHOLDERS = {
    "GCP_PROJECT_ID": PLACEHOLDER_PROJECT,
    "ZOOMCAMP_GIT_URL": "https://git.example.invalid/plan-diff/placeholder.git",
}
SYNTH_TIMEOUT_SECONDS = 900
Stacks = dict[str, dict[str, Any]]


class PlanDiffError(BundleError):
    """The diff cannot be computed: a bad revision, or a side that does not synthesize."""


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)


def resolve_revision(repo: Path, revision: str) -> str:
    """The commit a revision names, or one line saying how to get a usable one."""
    if not revision or revision.startswith("-"):
        raise PlanDiffError(f"base revision {revision!r} is not valid; pass BASE=<branch, tag or commit>")
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        hint = " (fetch it first: git fetch origin)" if "/" in revision else ""
        raise PlanDiffError(
            f"base revision {revision!r} is not a commit in {repo}{hint}; pass BASE=<branch, tag or commit>"
        )
    return found.stdout.strip()


@contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached, temporary checkout of `commit`; removed (and pruned) whatever happens."""
    holder = Path(tempfile.mkdtemp(prefix="plan-diff-"))
    tree = holder / "tree"
    added = _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    if added.returncode != 0:
        shutil.rmtree(holder, ignore_errors=True)
        raise PlanDiffError(f"cannot check out {commit[:12]} into a temporary worktree: {_last_line(added.stderr)}")
    try:
        yield tree
    finally:
        _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(holder, ignore_errors=True)
        _git(repo, "worktree", "prune")


def synthesis_env(outdir: Path, stacks: tuple[str, ...], base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONPATH", None)  # the checkout's own code must win, not ours
    env.update(
        {
            "CDKTF_OUTDIR": str(outdir),
            "ZOOMCAMP_STACKS": ",".join(stacks),
            **{name: env.get(name) or value for name, value in PLACEHOLDERS.items()},
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20,22,24",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    return env


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def read_synthesized(outdir: Path) -> Stacks:
    """Every `stacks/<name>/cdk.tf.json` that cdktf wrote into `outdir`."""
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


def synthesize_tree(
    tree: Path, label: str, stacks: tuple[str, ...], python: str | None = None, env: Mapping[str, str] | None = None
) -> Stacks:
    """Run `tree/main.py` into a temporary folder and return the requested stacks found there.

    A tree without `main.py` (a revision from before the app existed) has no stacks.
    """
    if not (tree / "main.py").is_file():
        return {}
    with tempfile.TemporaryDirectory(prefix="plan-diff-out-") as out:
        try:
            result = subprocess.run(
                [python or sys.executable, "main.py"],
                cwd=tree,
                env=synthesis_env(Path(out), stacks, env),
                capture_output=True,
                text=True,
                timeout=SYNTH_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PlanDiffError(
                f"synthesis of {label} took over {SYNTH_TIMEOUT_SECONDS}s; run `make synth` there"
            ) from None
        if result.returncode != 0:
            raise PlanDiffError(
                f"synthesis of {label} failed: {_last_line(result.stderr or result.stdout)} "
                "(reproduce it with `make synth` on that revision; DEBUG=1 shows the traceback)"
            )
        found = read_synthesized(Path(out))
    return {name: stack for name, stack in found.items() if name in stacks}


def synthesize_revision(repo: Path, commit: str, label: str, stacks: tuple[str, ...]) -> Stacks:
    with worktree(repo, commit) as tree:
        return synthesize_tree(tree, label, stacks)
