"""Wall time and peak memory of synthesizing the stacks, as a user's `cdktf synth` runs them.

Each case runs a fresh process and samples the resident memory of the whole process tree
(Python plus the jsii Node child) every 10 ms; the median of --runs runs is reported:

- cold: `python main.py` (what cdktf.json's app runs) into an empty folder: local alone (target
  <= 2 s: the google provider must not load for it), gcp alone, both stacks;
- the google provider's bindings alone: importing exactly the modules stacks/gcp imports,
  which is most of a cold gcp synth;
- repeated: both stacks again into a folder synthesized before with nothing changed, which
  reuses the output (stacks/synth_cache.py; target <= 1.0 s);
- `make diff` with nothing changed: `python -m plan_diff --base HEAD` after one warm-up run,
  both sides reused from cdktf.out/.plan-diff (target <= 3 s).

Usage: .venv/bin/python benchmarks/bench_synth.py [--runs N]
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project root, for `stacks`

from common.errors import CommandLine, run_cli  # noqa: E402
from stacks.settings import GCP_STACK, LOCAL_STACK  # noqa: E402

COLD_CASES = {
    "local alone": {"ZOOMCAMP_STACKS": LOCAL_STACK},
    "gcp alone": {"ZOOMCAMP_STACKS": GCP_STACK},
    "both stacks": {"ZOOMCAMP_STACKS": f"{LOCAL_STACK},{GCP_STACK}"},
}
LOCAL_TARGET_SECONDS = 2.0
REPEATED_TARGET_SECONDS = 1.0
DIFF_TARGET_SECONDS = 3.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree_rss_kib(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += _children(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def bench_env(overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_"))}
    # The gcp stack also needs the Git repository its VM syncs from (a checkout may have no origin).
    env |= {"GCP_PROJECT_ID": "bench-project", "ZOOMCAMP_GIT_URL": "https://github.com/example/zoomcamp-kestra.git"}
    env |= {"CHECKPOINT_DISABLE": "1"}
    return env | (overrides or {})


def run_measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak MB of the process tree; exits when the command fails."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kib(process.pid))
        time.sleep(0.01)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        error = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
        raise SystemExit(f"failed: {' '.join(command)}: {error.splitlines()[-1:] or 'no message'}")
    return wall, peak / 1024


def cold_synth(overrides: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        return run_measured([sys.executable, str(ROOT / "main.py")], Path(out), bench_env(overrides))


def repeated_synth(out: Path) -> tuple[float, float]:
    result = run_measured([sys.executable, str(ROOT / "main.py")], out, bench_env(COLD_CASES["both stacks"]))
    stamp = json.loads((out / "cdktf.out" / ".synth-key").read_text())
    if stamp.get("last_run") != "reused":
        raise SystemExit("the repeated synth did not reuse the output: something changed between runs")
    return result


def google_modules() -> list[str]:
    """The google provider modules the gcp stack imports (read from its sources)."""
    found = set()
    for path in (ROOT / "stacks").rglob("*.py"):
        found |= set(re.findall(r"^from (cdktf_cdktf_provider_google\.\w+) import", path.read_text(), re.MULTILINE))
    return sorted(found)


def import_google() -> tuple[float, float]:
    code = "import stacks, cdktf\n" + "".join(f"import {module}\n" for module in google_modules())
    return run_measured([sys.executable, "-c", code], ROOT, bench_env())


def plan_diff_no_change() -> tuple[float, float]:
    return run_measured([sys.executable, "-m", "plan_diff", "--base", "HEAD"], ROOT, bench_env())


def median(runs: int, measure: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    results = [measure() for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(prog="benchmarks/bench_synth.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    args = parser.parse_args(argv)
    print(f"{'case':<38} {'wall s (median)':>16} {'peak MB (median)':>17}   runs={args.runs}")
    results: dict[str, float] = {}

    def report(name: str, measure: Callable[[], tuple[float, float]]) -> None:
        wall, peak = median(args.runs, measure)
        results[name] = wall
        print(f"{name:<38} {wall:>16.2f} {peak:>17.0f}", flush=True)

    for name, overrides in COLD_CASES.items():
        report(f"cold: {name}", lambda overrides=overrides: cold_synth(overrides))
    report("import the google bindings alone", import_google)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        run_measured([sys.executable, str(ROOT / "main.py")], out, bench_env(COLD_CASES["both stacks"]))
        report("repeated: both stacks (reused)", lambda: repeated_synth(out))
    plan_diff_no_change()  # warm-up: synthesizes HEAD and the working tree once if they changed
    report("make diff, nothing changed", plan_diff_no_change)

    def verdict(name: str, target: float) -> str:
        return f"{name}: {results[name]:.2f} s {'meets' if results[name] <= target else 'MISSES'} <= {target:.1f} s"

    print(verdict("cold: local alone", LOCAL_TARGET_SECONDS))
    print(verdict("repeated: both stacks (reused)", REPEATED_TARGET_SECONDS))
    print(verdict("make diff, nothing changed", DIFF_TARGET_SECONDS))
    share = results["import the google bindings alone"] / results["cold: both stacks"]
    print(f"loading the google bindings is {share:.0%} of a cold synth of both stacks")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
