"""Synthesize the stacks of a git revision and of the working tree, without touching either.

The base revision is checked out into a temporary `git worktree` and its own `main.py` runs
there with the current virtualenv (the dependencies are pinned, so they rarely differ); the
output goes to a temporary folder, never to the stacks in the shared `cdktf.out/`. No
credentials are needed: GCP_PROJECT_ID (and the Git URL Kestra syncs from) default to
placeholders, so the gcp stack synthesizes anywhere.

Both sides are kept in `cdktf.out/.plan-diff/` by a content key, so a `make diff` with nothing
changed synthesizes nothing: the base by its commit (immutable) with the virtualenv's lock
file and the settings; the working tree by stacks/synth_cache.py's key (sources, flows, dbt
files, settings, lock files). Only a checkout of this project caches (it has that module).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common.errors import BundleError
from stacks import synth_cache
from stacks.settings import Settings

PLACEHOLDER_PROJECT = "plan-diff-placeholder"
# Settings the gcp stack needs that a fork or a laptop may lack; the same on both sides, so
# they never show as a change. Set the real variables to see real values in created resources.
PLACEHOLDERS = {
    "GCP_PROJECT_ID": PLACEHOLDER_PROJECT,
    "ZOOMCAMP_GIT_URL": "https://git.example.invalid/plan-diff/placeholder.git",
}
SYNTH_TIMEOUT_SECONDS = 900
Stacks = dict[str, dict[str, Any]]
CACHE_FOLDER = Path("cdktf.out") / ".plan-diff"
CACHE_KEEP = 8  # synthesized sides kept (the least recently used go first)
_CACHE_FORMAT = "zoomcamp-plan-diff/1"


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


# --- reusing what was synthesized before ----------------------------------------------


def cache_dir(repo: Path) -> Path | None:
    """Where a checkout of this project keeps synthesized sides; None for any other repository."""
    return repo / CACHE_FOLDER if (repo / "stacks" / "synth_cache.py").is_file() else None


def _environment_parts(stacks: tuple[str, ...], env: Mapping[str, str] | None) -> list[str] | None:
    synth_env = synthesis_env(Path(), stacks, env)
    adc = synth_cache.adc_inputs(synth_env)  # the local stack mounts the ADC file when it exists
    if adc is None:
        return None
    return [f"python={sys.version}", f"prefix={sys.prefix}", *synth_cache.settings_env(synth_env), *adc]


def revision_key(repo: Path, commit: str, stacks: tuple[str, ...], env: Mapping[str, str] | None = None) -> str | None:
    """A commit's files never change: its output changes only with the virtualenv and the settings."""
    environment = _environment_parts(stacks, env)
    if environment is None:
        return None
    venv_lock = synth_cache.file_digest(repo / "Pipfile.lock")  # the .venv the base runs with is ours
    return synth_cache.key_of(
        [_CACHE_FORMAT, "revision", commit, ",".join(stacks), f"venv-lock={venv_lock}", *environment]
    )


def tree_key(tree: Path, stacks: tuple[str, ...], env: Mapping[str, str] | None = None) -> str | None:
    """stacks/synth_cache.py's key of a checkout, as its main.py runs there for the diff."""
    environment = _environment_parts(stacks, env)
    if environment is None:
        return None
    synth_env = synthesis_env(Path(), stacks, env)
    try:
        settings = Settings.from_env(synth_env)
    except BundleError:
        return None  # the synthesis itself reports it, in its own words
    settings = dataclasses.replace(settings, flows_dir=tree / "flows")
    key = synth_cache.synth_key(tree, settings, synth_env, cwd=tree)
    if key is None:
        return None
    # The app there also reads optional settings a learner keeps in the tree's credentials file.
    credentials = synth_cache.file_digest(tree / ".secrets" / "local.env")
    return synth_cache.key_of(
        [_CACHE_FORMAT, "tree", key, ",".join(stacks), f"credentials={credentials}", *environment]
    )


def cached(folder: Path | None, key: str | None) -> Stacks | None:
    if folder is None or key is None:
        return None
    path = folder / f"{key}.json"
    try:
        stacks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest
    return stacks if isinstance(stacks, dict) else None


def store(folder: Path | None, key: str | None, stacks: Stacks) -> None:
    """Keep one side's stacks under its key (atomically), and only the CACHE_KEEP most recent sides."""
    if folder is None or key is None:
        return
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{key}.{os.getpid()}"
        temporary.write_text(json.dumps(stacks), encoding="utf-8")
        temporary.replace(folder / f"{key}.json")
        kept = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_KEEP:]:
            old.unlink(missing_ok=True)


def _reuse_or_build(
    folder: Path | None,
    key: str | None,
    reused: str,
    building: str,
    build: Callable[[], Stacks],
    announce: Callable[[str], None],
) -> Stacks:
    found = cached(folder, key)
    if found is not None:
        announce(reused)
        return found
    announce(building)
    result = build()
    store(folder, key, result)
    return result


def synthesize_revision_cached(
    repo: Path, commit: str, label: str, stacks: tuple[str, ...], announce: Callable[[str], None]
) -> Stacks:
    """The base's stacks, reused when this commit was synthesized before with the same settings."""
    folder = cache_dir(repo)
    names = ", ".join(stacks)
    return _reuse_or_build(
        folder,
        revision_key(repo, commit, stacks) if folder is not None else None,
        f"reused {names} at {label}: synthesized before with the same settings",
        f"synthesizing {names} at {label} in a temporary worktree",
        lambda: synthesize_revision(repo, commit, label, stacks),
        announce,
    )


def synthesize_tree_cached(tree: Path, label: str, stacks: tuple[str, ...], announce: Callable[[str], None]) -> Stacks:
    """The working tree's stacks, reused when nothing that goes into them changed since the last diff."""
    folder = cache_dir(tree)
    names = ", ".join(stacks)
    return _reuse_or_build(
        folder,
        tree_key(tree, stacks) if folder is not None else None,
        f"reused {names} at {label}: nothing that goes into them changed",
        f"synthesizing {names} at {label}",
        lambda: synthesize_tree(tree, label, stacks),
        announce,
    )
