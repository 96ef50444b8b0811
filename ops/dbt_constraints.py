"""dbt/constraints.txt: the exact Python packages the dbt flows install, taken from the lock the tests run.

The Kestra flows postgres_dbt and gcp_dbt run dbt in a pinned Python image and install dbt
at the start of each run (`pip install --constraint dbt/constraints.txt dbt-core dbt-<adapter>`).
dbt Labs' ghcr.io/dbt-labs/dbt-<adapter> images are not a dependable pin: their publication
stopped at 1.9.0 when the adapters moved into the dbt-adapters repository (dbt-labs/dbt-adapters
issues #1164, #1215, #1408), and a tag that does not exist fails the run before dbt starts.
PyPI has every version, so the constraints pin dbt and each of its dependencies to the versions
`make test` builds and proves with (tools/dbt/Pipfile.lock): a dependency released later cannot
change what a learner runs.

    python -m ops.dbt_constraints     # rewrite dbt/constraints.txt after relocking tools/dbt
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from common.errors import CommandLine, run_cli
from stacks.settings import PROJECT_ROOT

LOCK = PROJECT_ROOT / "tools" / "dbt" / "Pipfile.lock"
CONSTRAINTS = PROJECT_ROOT / "dbt" / "constraints.txt"
REGENERATE = "python -m ops.dbt_constraints"


def lock_python(lock: dict[str, Any]) -> str:
    """The Python minor version the lock was resolved for (the flows' image must match it)."""
    return str(lock["_meta"]["requires"]["python_version"])


def render(lock: dict[str, Any]) -> str:
    """constraints.txt text: one `name==version[ ; markers]` line per locked package, sorted."""
    lines = [
        f"# Generated from tools/dbt/Pipfile.lock (Python {lock_python(lock)}) by `{REGENERATE}`; do not edit.",
        "# The dbt flows install dbt with these pins: the versions the repository's tests run.",
    ]
    for name, entry in sorted(lock["default"].items()):
        version = entry.get("version")
        if not isinstance(version, str) or not version.startswith("=="):
            raise ValueError(f"{LOCK}: package {name} has no exact version; relock tools/dbt")
        markers = entry.get("markers")
        lines.append(f"{name}{version}" + (f" ; {markers}" if markers else ""))
    return "\n".join(lines) + "\n"


def read_lock(path: Path = LOCK) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def pins(text: str) -> dict[str, str]:
    """name -> version of a constraints text (comments and markers ignored), each line read as the
    requirement it is (packaging.requirements)."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        text_of_line = line.split("#", 1)[0].strip()
        if not text_of_line:
            continue
        requirement = Requirement(text_of_line)
        (pin,) = requirement.specifier  # render() writes exactly one `==version` per package
        result[canonicalize_name(requirement.name)] = pin.version
    return result


def main(argv: list[str] | None = None) -> int:
    CommandLine(
        prog="python -m ops.dbt_constraints",
        description="Write dbt/constraints.txt from tools/dbt/Pipfile.lock (after relocking tools/dbt).",
    ).parse_args(argv)
    CONSTRAINTS.write_text(render(read_lock()), encoding="utf-8")
    print(f"wrote {CONSTRAINTS.relative_to(PROJECT_ROOT)} from {LOCK.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
