"""Wall time and peak memory of synthesizing the stacks, as a user's `cdktf synth` runs them.

Each case runs `python main.py` in a fresh process (what cdktf.json's app does) and samples
the resident memory of the whole process tree (Python plus the jsii Node child) every 10 ms.
Target from the foundation issue: the local stack alone <= 2 s, because the google provider
(~8.5 s, ~480 MB just to load) must not load unless the gcp stack is built.

Usage: .venv/bin/python benchmarks/bench_synth.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "local alone": {"ZOOMCAMP_STACKS": "local"},
    "gcp alone": {"ZOOMCAMP_STACKS": "gcp"},
    "both stacks": {"ZOOMCAMP_STACKS": "local,gcp"},
}
LOCAL_TARGET_SECONDS = 2.0


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


def measure(env_overrides: dict[str, str]) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_"))}
    # The gcp stack also needs the Git repository its VM syncs from (a checkout may have no origin).
    env |= {"GCP_PROJECT_ID": "bench-project", "ZOOMCAMP_GIT_URL": "https://github.com/example/zoomcamp-kestra.git"}
    env |= env_overrides
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=out, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_kib(process.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - start
        if process.returncode != 0:
            raise SystemExit(f"synth failed for {env_overrides}")
    return wall, peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    args = parser.parse_args()
    print(f"{'case':<14} {'wall s (median)':>16} {'peak MB (median)':>17}   runs={args.runs}")
    results = {}
    for name, overrides in CASES.items():
        runs = [measure(overrides) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        peak = statistics.median(r[1] for r in runs)
        results[name] = wall
        print(f"{name:<14} {wall:>16.2f} {peak:>17.0f}", flush=True)
    verdict = "meets" if results["local alone"] <= LOCAL_TARGET_SECONDS else "MISSES"
    print(
        f"local alone {verdict} the <= {LOCAL_TARGET_SECONDS:.0f} s target; "
        f"both/local time ratio {results['both stacks'] / results['local alone']:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
