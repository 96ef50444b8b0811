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
from pathlib import Path

from stacks.doctor.context import DoctorContext
from stacks.doctor.model import CheckResult

MIN_TERRAFORM = (1, 5)
_DEFAULT_MIN_PYTHON = (3, 11)
_DEFAULT_MIN_NODE = 20
# `make setup` skips npm when its marker is newer than the lock file: remove the marker first.
_REINSTALL = "run `rm -f node_modules/.synced && make setup`"
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def min_python(project_root: Path) -> tuple[int, int]:
    """`[requires] python_version` of the Pipfile."""
    try:
        match = re.search(r'python_version\s*=\s*"(\d+)\.(\d+)"', (project_root / "Pipfile").read_text())
    except OSError:
        match = None
    return (int(match[1]), int(match[2])) if match else _DEFAULT_MIN_PYTHON


def _package_json(project_root: Path) -> dict[str, object]:
    try:
        document = json.loads((project_root / "package.json").read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def min_node(project_root: Path) -> int:
    """`engines.node` (`>=20`) of package.json."""
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
