"""dbt/requirements-<adapter>.txt: the exact Python packages each dbt flow installs, with their
hashes, taken from the lock the tests run.

The Kestra flows postgres_dbt and gcp_dbt run dbt in a pinned Python image and install dbt
at the start of each run (`pip install --require-hashes -r requirements-<adapter>.txt`).
dbt Labs' ghcr.io/dbt-labs/dbt-<adapter> images are not a dependable pin: their publication
stopped at 1.9.0 when the adapters moved into the dbt-adapters repository (dbt-labs/dbt-adapters
issues #1164, #1215, #1408), and a tag that does not exist fails the run before dbt starts.
PyPI has every version, so each file pins dbt-core, the adapter and every package they need
(read from the installed metadata of tools/dbt/.venv, which `make test` builds from
tools/dbt/Pipfile.lock) to the lock's version, with the lock's sha256 of every file PyPI serves
for it: a dependency released later, or a file replaced on the index, cannot change what a
learner runs. (pip checks hashes only in a requirements file, not in a constraints file.)

    python -m ops.dbt_constraints     # rewrite dbt/requirements-*.txt after relocking tools/dbt
"""

from __future__ import annotations

import email
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from common.errors import CommandLine, run_cli
from stacks.settings import PROJECT_ROOT

LOCK = PROJECT_ROOT / "tools" / "dbt" / "Pipfile.lock"
DBT_VENV = PROJECT_ROOT / "tools" / "dbt" / ".venv"
ADAPTERS = ("postgres", "bigquery")
REGENERATE = "python -m ops.dbt_constraints"
# Where the flows install: the Linux containers of the lock's Python (its markers decide the rest).
_CONTAINER = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}


def requirements_file(adapter: str) -> Path:
    """dbt/requirements-<adapter>.txt, a namespace file at the flow's working directory root."""
    return PROJECT_ROOT / "dbt" / f"requirements-{adapter}.txt"


def lock_python(lock: dict[str, Any]) -> str:
    """The Python minor version the lock was resolved for (the flows' image must match it)."""
    return str(lock["_meta"]["requires"]["python_version"])


def installed_requirements(venv: Path = DBT_VENV) -> dict[str, list[str]]:
    """Package -> its Requires-Dist lines, from the METADATA of every distribution in the dbt venv."""
    found: dict[str, list[str]] = {}
    for info in sorted(venv.glob("lib/python*/site-packages/*.dist-info")):
        metadata = email.message_from_string((info / "METADATA").read_text(encoding="utf-8"))
        found[canonicalize_name(metadata["Name"])] = metadata.get_all("Requires-Dist") or []
    if not found:
        raise ValueError(f"{venv}: no installed packages; build tools/dbt/.venv first (make test does)")
    return found


def closure(roots: Iterable[str], requires: Mapping[str, list[str]], python: str) -> dict[str, set[str]]:
    """`roots` and every package they need in a Linux container of `python`, each with the extras
    asked of it (pip's hash mode wants `name[extra]==version` for those)."""
    environment = {**_CONTAINER, "python_version": python, "python_full_version": f"{python}.0"}
    needed: dict[str, set[str]] = {}
    todo = [(canonicalize_name(root), frozenset[str]()) for root in roots]
    visited: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        needed.setdefault(name, set()).update(extras)
        if name not in requires:
            raise ValueError(f"{DBT_VENV}: {name} is not installed; rebuild tools/dbt/.venv from its lock")
        for line in requires[name]:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker and not any(marker.evaluate({**environment, "extra": e}) for e in extras or {""}):
                continue
            todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return needed


def render(lock: dict[str, Any], adapter: str, requires: Mapping[str, list[str]]) -> str:
    """requirements-<adapter>.txt text: dbt-core, the adapter and what they need, one
    `name==version[ ; markers]` entry per package with the lock's hashes, sorted."""
    python = lock_python(lock)
    packages = {canonicalize_name(name): (name, entry) for name, entry in lock["default"].items()}
    lines = [
        f"# Generated from tools/dbt/Pipfile.lock (Python {python}) by `{REGENERATE}`; do not edit.",
        f"# What the dbt flow of dbt-{adapter} installs (pip install --require-hashes -r this file):",
        "# the versions the repository's tests run, each with the hashes of its files on PyPI.",
    ]
    for key, extras in sorted(closure(["dbt-core", f"dbt-{adapter}"], requires, python).items()):
        if key not in packages:
            raise ValueError(f"{LOCK}: {key} is needed by dbt-{adapter} but not locked; relock tools/dbt")
        name, entry = packages[key]
        version, hashes = entry.get("version"), entry.get("hashes") or []
        if not isinstance(version, str) or not version.startswith("=="):
            raise ValueError(f"{LOCK}: package {name} has no exact version; relock tools/dbt")
        if not hashes:
            raise ValueError(f"{LOCK}: package {name} has no hashes; relock tools/dbt")
        markers = entry.get("markers")
        # The plain name too when extras are asked: pip's hash mode pins `name` and `name[extra]` apart.
        for extra in ["", f"[{','.join(sorted(extras))}]"] if extras else [""]:
            lines.append(f"{name}{extra}{version}" + (f" ; {markers}" if markers else "") + " \\")
            last = len(hashes) - 1
            lines += [f"    --hash={digest}" + (" \\" if i < last else "") for i, digest in enumerate(sorted(hashes))]
    return "\n".join(lines) + "\n"


def read_lock(path: Path = LOCK) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def pins(text: str) -> dict[str, str]:
    """name -> version of a requirements text (comments, markers and hashes ignored), each entry read
    as the requirement it is (packaging.requirements)."""
    result: dict[str, str] = {}
    for line in text.replace("\\\n", " ").splitlines():
        text_of_line = line.split("#", 1)[0].split(" --hash=", 1)[0].strip()
        if not text_of_line:
            continue
        requirement = Requirement(text_of_line)
        (pin,) = requirement.specifier  # render() writes exactly one `==version` per package
        result[canonicalize_name(requirement.name)] = pin.version
    return result


def main(argv: list[str] | None = None) -> int:
    CommandLine(
        prog="python -m ops.dbt_constraints",
        description="Write dbt/requirements-*.txt from tools/dbt/Pipfile.lock (after relocking tools/dbt).",
    ).parse_args(argv)
    lock, requires = read_lock(), installed_requirements()
    for adapter in ADAPTERS:
        path = requirements_file(adapter)
        path.write_text(render(lock, adapter, requires), encoding="utf-8")
        print(f"wrote {path.relative_to(PROJECT_ROOT)} from {LOCK.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
