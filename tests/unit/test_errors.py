"""User-facing failures: one line on stderr, exit code 1, a traceback only with DEBUG=1; a wrong
command-line argument too, on every entry point."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import BundleError, CommandLine, explain_interrupt, run_cli
from stacks.settings import PROJECT_ROOT


def test_a_bundle_error_is_one_line_per_problem(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("DEBUG", raising=False)

    def fails() -> int:
        raise BundleError("first problem\nsecond problem")

    assert run_cli(fails) == 1
    assert capsys.readouterr().err == "error: first problem\nerror: second problem\n"


def test_debug_lets_the_traceback_through(monkeypatch) -> None:
    monkeypatch.setenv("DEBUG", "1")
    with pytest.raises(BundleError, match="boom"):
        run_cli(lambda: (_ for _ in ()).throw(BundleError("boom")))


def test_ctrl_c_becomes_a_line_that_says_how_to_finish(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("DEBUG", raising=False)

    def deploy() -> int:
        with explain_interrupt("rerun `make deploy-local` to finish it"):
            raise KeyboardInterrupt
        return 0

    assert run_cli(deploy) == 1
    assert capsys.readouterr().err == "error: interrupted: rerun `make deploy-local` to finish it\n"


def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(ValueError), explain_interrupt("never shown"):
        raise ValueError("a bug, not a user error")


def test_every_command_line_reports_a_wrong_argument_as_one_error_line(
    capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """The shared parser (argparse) of every entry point: `error: ...` and exit 1, like any other mistake."""
    monkeypatch.delenv("DEBUG", raising=False)
    parser = CommandLine(prog="python -m stacks.example", description="An example.")
    parser.add_argument("stack", choices=("local", "gcp"))
    assert run_cli(lambda: parser.parse_args(["aws"]) and 0) == 1
    assert capsys.readouterr().err == (
        "error: argument stack: invalid choice: 'aws' (choose from 'local', 'gcp') "
        "(usage: python -m stacks.example [-h] {local,gcp})\n"
    )
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--help"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m stacks.example [-h] {local,gcp}\n\nAn example.")


# Every `python -m` entry point of the repository (the Make targets' commands, the flow checker, the
# VM's renderer, the plan diff, the test tools behind `make inventory-update` / `make kestra-*`).
ENTRY_POINTS = [
    "ops.doctor",
    "ops.deploy",
    "ops.destroy",
    "ops.sandbox_reset",
    "ops.pull_flows",
    "ops.smoke",
    "ops.credentials",
    "ops.dbt_constraints",
    "ops.dbt_local",
    "ops.kestra_provider_schema",
    "ops.token_broker",
    "flowcheck.flow_lint",
    "flowcheck.flow_catalog",
    "plan_diff",
    "tests.support.inventory",
    "tests.support.kestra_judge",
]
# Where entry points live; main.py is cdktf's (tests/unit/test_cli.py).
ENTRY_POINT_PACKAGES = ("common", "flowcheck", "stacks", "ops", "plan_diff", "tests/support")


def _runs_as_main(path: Path) -> bool:
    """A `__main__.py`, or a module ending in `if __name__ == "__main__":`."""
    if path.name == "__main__.py":
        return True
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            operands = [node.test.left, *node.test.comparators]
            names = {o.id for o in operands if isinstance(o, ast.Name)}
            values = {o.value for o in operands if isinstance(o, ast.Constant)}
            if names == {"__name__"} and values == {"__main__"}:
                return True
    return False


def test_the_list_names_every_entry_point() -> None:
    """A new command is asked for its --help and its error style as soon as it exists."""
    found = set()
    for package in ENTRY_POINT_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "__pycache__" not in path.parts and _runs_as_main(path):
                module = path.relative_to(PROJECT_ROOT).with_suffix("").parts
                found.add(".".join(module[:-1] if module[-1] in ("__main__", "__init__") else module))
    assert found == set(ENTRY_POINTS)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_has_help_and_the_same_error_style(module: str) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
        command = [sys.executable, "-m", module, *args]
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)

    helped = run("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: "), helped.stderr
    wrong = run("--no-such-option")
    assert wrong.returncode == 1
    (line,) = wrong.stderr.splitlines()
    assert line.startswith("error: ") and line.endswith(")") and " (usage: " in line, line
