"""A Kestra version bump is one edit (stacks/versions.py) and one regenerate command (`make regenerate`).

The image the stacks deploy, the Kestra modules the tests resolve from Maven Central
(tools/ensure_kestra.sh passes -Dkestra.version to tools/kestra/pom.xml) and the docs all follow
KESTRA_VERSION; the only other files that carry the number are the ones `make regenerate`
rewrites (the inventories and Kestra's own list of core properties).
"""

from __future__ import annotations

import subprocess

from stacks import versions
from stacks.settings import PROJECT_ROOT

# Rewritten by `make regenerate` (inventory-update, kestra-properties) from the code and from Kestra.
REGENERATED = ("tests/inventories/", "flowcheck/kestra_core_properties.json")
# The record of what was read at the pinned version (redone, by hand, when a bump changes what we rely on).
TRACE_RECORD = "docs/kestra-sources.md"
TEXT_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".json", ".sh", ".xml", ".toml", ".txt", ".cfg", ".service", "")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return [f for f in listed.stdout.splitlines() if (PROJECT_ROOT / f).is_file()]


def test_the_kestra_version_is_written_in_one_source_file() -> None:
    places = []
    for name in tracked_files():
        if name in ("stacks/versions.py", TRACE_RECORD) or name.startswith(REGENERATED) or "lock" in name.lower():
            continue
        if not name.endswith(TEXT_SUFFIXES) and name != "Makefile":
            continue
        try:
            text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        places += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if versions.KESTRA_VERSION in line]
    assert not places, f"name KESTRA_VERSION (stacks/versions.py) instead of {versions.KESTRA_VERSION}: {places}"


def test_the_tests_resolve_kestra_at_the_pinned_version() -> None:
    pom = (PROJECT_ROOT / "tools" / "kestra" / "pom.xml").read_text(encoding="utf-8")
    assert "<kestra.version>" not in pom, "tools/kestra/pom.xml must take kestra.version from tools/ensure_kestra.sh"
    script = (PROJECT_ROOT / "tools" / "ensure_kestra.sh").read_text(encoding="utf-8")
    assert "stacks/versions.py" in script and '-Dkestra.version="$kestra_version"' in script
    from tests.support.kestra_judge import java_for_kestra

    java_for_kestra()  # resolves Kestra if needed
    assert (PROJECT_ROOT / "tools" / "kestra" / "lib" / f"core-{versions.KESTRA_VERSION}.jar").is_file()
