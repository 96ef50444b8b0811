"""Checks of the tools a deploy runs: Python, Node, Terraform and the pinned cdktf CLI.

Minimum versions come from the repository's own files where one says it (Pipfile for
Python, package.json for Node and the cdktf CLI), so the doctor cannot drift from them;
Terraform's is the one the README's quick start promises (1.5; cdktf alone documents 1.2).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from packaging.version import VERSION_PATTERN, InvalidVersion, Version

from ops.doctor.context import DoctorContext
from ops.doctor.model import CheckResult

MIN_TERRAFORM = (1, 5)
_DEFAULT_MIN_PYTHON = (3, 11)
_DEFAULT_MIN_NODE = 20
# `make setup` skips npm when its marker is newer than the lock file: remove the marker first.
_REINSTALL = "run `rm -f node_modules/.synced && make setup`"
# packaging's own version grammar, found anywhere in a tool's output ("Terraform v1.11.4", "v20.11.1").
_VERSION_IN_TEXT = re.compile(VERSION_PATTERN, re.VERBOSE | re.IGNORECASE)


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first version in a tool's output, as (major, minor, patch); None when there is none."""
    for match in _VERSION_IN_TEXT.finditer(text):
        release = Version(match[0]).release
        if len(release) >= 2:
            return release[0], release[1], release[2] if len(release) > 2 else 0
    return None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def min_python(project_root: Path) -> tuple[int, int]:
    """`[requires] python_version` of the Pipfile."""
    try:
        with (project_root / "Pipfile").open("rb") as pipfile:
            wanted = str(tomllib.load(pipfile).get("requires", {}).get("python_version", ""))
        release = Version(wanted).release
    except (OSError, tomllib.TOMLDecodeError, InvalidVersion):
        return _DEFAULT_MIN_PYTHON
    return (release[0], release[1]) if len(release) >= 2 else _DEFAULT_MIN_PYTHON


def _package_json(project_root: Path) -> dict[str, object]:
    try:
        document = json.loads((project_root / "package.json").read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def min_node(project_root: Path) -> int:
    """`engines.node` (`>=20`) of package.json: the major after `>=`, read by hand because npm's range
    syntax (`^20`, `>=20 <23`, `||`) is not Python's (packaging reads PEP 440 only), and one `>=N` is
    all the doctor needs."""
    engines = _package_json(project_root).get("engines")
    wanted = engines.get("node", "") if isinstance(engines, dict) else ""
    match = re.search(r">=\s*(\d+)", str(wanted))
    return int(match[1]) if match else _DEFAULT_MIN_NODE


def run_tool(ctx: DoctorContext, command: list[str]) -> subprocess.CompletedProcess[str] | str:
    """Run a tool found on the learner's PATH; the finished process, or why it could not run."""
    executable = shutil.which(command[0], path=ctx.env.get("PATH"))
    if executable is None:
        return f"{command[0]} not found on PATH"
    try:
        return subprocess.run(
            [executable, *command[1:]],
            env=dict(ctx.env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ctx.command_timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`{' '.join(command)}` failed: {error}"


def _run(ctx: DoctorContext, command: list[str]) -> tuple[str | None, str]:
    """(stdout, problem): stdout None when the command is missing or failed."""
    completed = run_tool(ctx, command)
    if isinstance(completed, str):
        return None, completed
    if completed.returncode != 0:
        return None, f"`{' '.join(command)}` exited with {completed.returncode}"
    return completed.stdout, ""


def check_python(ctx: DoctorContext) -> CheckResult:
    wanted = min_python(ctx.project_root)
    found = ctx.python_version
    if tuple(found[:2]) < wanted:
        return CheckResult.fail(
            "python",
            "Python",
            f"{_dotted(found)} is older than {_dotted(wanted)}, which the Pipfile requires",
            f"install Python {_dotted(wanted)}, delete .venv and run `make setup`",
        )
    return CheckResult.ok("python", "Python", f"{_dotted(found)} (>= {_dotted(wanted)})")


def check_node(ctx: DoctorContext) -> CheckResult:
    wanted = min_node(ctx.project_root)
    fix = f"install Node.js {wanted} or newer (an LTS release from nodejs.org), then run `make setup`"
    output, problem = _run(ctx, ["node", "--version"])
    if output is None:
        return CheckResult.fail("node", "Node.js", problem, fix)
    found = parse_version(output)
    if found is None:
        return CheckResult.fail("node", "Node.js", f"cannot read a version in {output.strip()!r}", fix)
    if found[0] < wanted:
        return CheckResult.fail("node", "Node.js", f"{_dotted(found)} is older than {wanted} (package.json)", fix)
    return CheckResult.ok("node", "Node.js", f"{_dotted(found)} (>= {wanted})")


def check_terraform(ctx: DoctorContext) -> CheckResult:
    # cdktf itself honours TERRAFORM_BINARY_NAME (e.g. for tofu or a versioned binary).
    binary = ctx.env.get("TERRAFORM_BINARY_NAME") or "terraform"
    fix = f"install Terraform {_dotted(MIN_TERRAFORM)} or newer (developer.hashicorp.com/terraform/install)"
    output, problem = _run(ctx, [binary, "version", "-json"])
    if output is None:
        return CheckResult.fail("terraform", "Terraform", problem, fix)
    try:
        text = str(json.loads(output).get("terraform_version", ""))
    except (ValueError, AttributeError):
        text = output
    found = parse_version(text)
    if found is None:
        return CheckResult.fail("terraform", "Terraform", f"cannot read a version in {text.strip()[:60]!r}", fix)
    if found[:2] < MIN_TERRAFORM:
        too_old = f"{_dotted(found)} is older than {_dotted(MIN_TERRAFORM)} (the README's minimum)"
        return CheckResult.fail("terraform", "Terraform", too_old, fix)
    return CheckResult.ok("terraform", "Terraform", f"{_dotted(found)} (>= {_dotted(MIN_TERRAFORM)})")


def check_cdktf_cli(ctx: DoctorContext) -> CheckResult:
    """The CLI pinned in package.json must be the one installed in node_modules/."""
    title = "cdktf CLI"
    dev = _package_json(ctx.project_root).get("devDependencies")
    pinned = str(dev.get("cdktf-cli", "")) if isinstance(dev, dict) else ""
    installed_file = ctx.project_root / "node_modules" / "cdktf-cli" / "package.json"
    try:
        installed = str(json.loads(installed_file.read_text()).get("version", ""))
    except (OSError, ValueError):
        return CheckResult.fail("cdktf", title, "not installed in node_modules/", _REINSTALL)
    if pinned and installed != pinned:
        return CheckResult.fail(
            "cdktf", title, f"node_modules/ has {installed}, package.json pins {pinned}", _REINSTALL
        )
    return CheckResult.ok("cdktf", title, f"{installed} (pinned in package.json)")
