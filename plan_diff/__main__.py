"""`make diff`: the offline plan diff between a base revision and the working tree.

Progress goes to stderr, the diff to stdout (or --output), so `make diff > plan.txt` and the
PR workflow capture only the diff. Mistakes (a revision that does not exist, a side that
does not synthesize) are one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

from common.errors import CommandLine, run_cli
from plan_diff.compare import diff_stacks
from plan_diff.render import Revisions, render_markdown, render_text
from plan_diff.synthesize import (
    PlanDiffError,
    resolve_revision,
    synthesize_revision_cached,
    synthesize_tree_cached,
)
from stacks.settings import STACK_NAMES

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACKS = STACK_NAMES


def _parser() -> CommandLine:
    parser = CommandLine(
        prog="python -m plan_diff",
        description="Offline, resource-level diff of the synthesized stacks: BASE revision vs the working tree.",
    )
    parser.add_argument("--base", default="origin/main", help="git revision to compare with (default origin/main)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("--stacks", default=",".join(DEFAULT_STACKS), help="comma-separated (default local,gcp)")
    parser.add_argument("--max-chars", type=int, default=None, help="Markdown only: cut the diff to fit")
    parser.add_argument("--output", type=Path, default=None, help="write the diff here instead of stdout")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    return parser


def _stacks(value: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in value.split(",") if part.strip())
    if not chosen:
        raise PlanDiffError(f"--stacks {value!r} names no stack; use e.g. local,gcp")
    return chosen


def _progress(message: str, started: float) -> None:
    print(f"==> [{time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stacks = _stacks(args.stacks)
    repo = args.repo.resolve()
    started = time.monotonic()
    commit = resolve_revision(repo, args.base)
    base_label = f"{args.base} ({commit[:7]})"
    announce = functools.partial(_progress, started=started)
    before = synthesize_revision_cached(repo, commit, base_label, stacks, announce)
    after = synthesize_tree_cached(repo, "the working tree", stacks, announce)
    _progress("comparing", started)
    diffs = diff_stacks(before, after, stacks)
    revisions = Revisions(base=base_label, head="working tree")
    if args.format == "markdown":
        output = render_markdown(diffs, revisions, args.max_chars)
    else:
        output = render_text(diffs, revisions)
    if args.output:
        args.output.write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
