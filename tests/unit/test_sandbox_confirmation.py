"""An exported ZOOMCAMP_SANDBOX=true deletes data only after the stack's name is typed, or with
--yes (make ... YES=1) in CI (issue 22 item 8)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common.errors import BundleError, run_cli
from ops.destroy import DestroyOptions, config_resources, destroy_stack
from ops.destroy import main as destroy_main
from ops.sandbox_reset import _main as reset_main
from ops.sandbox_reset import sandbox_reset
from stacks.settings import PROJECT_ROOT
from tests.support.destroy_fakes import FakeTools, fake_tools

NO_TERMINAL = (
    "refusing to delete the {stack} stack's data (ZOOMCAMP_SANDBOX=true) without a typed confirmation and there is "
    "no terminal to ask on; nothing was changed; to go on, run `{command} YES=1` (or pass --yes)"
)


def options(tools: FakeTools, answer: str | None, asked: list[str]) -> DestroyOptions:
    def ask(prompt: str) -> str | None:
        asked.append(prompt)
        return answer

    return DestroyOptions(commands=tools.commands, credentials_file=tools.credentials, ask=ask)


def sandbox_tools(tmp_path: Path, synth: Any) -> FakeTools:
    return fake_tools(tmp_path, synth, sorted(config_resources(synth)), True)


def destroyed(tools: FakeTools) -> bool:
    return any(call["args"][:1] == ["destroy"] for call in tools.calls())


def test_no_terminal_and_no_flag_refuses_in_one_line(tmp_path: Path, local_sandbox_synth: Any) -> None:
    tools = sandbox_tools(tmp_path, local_sandbox_synth)
    with pytest.raises(BundleError) as refused:
        destroy_stack("local", tools.env(ZOOMCAMP_SANDBOX="true"), io.StringIO(), options(tools, None, []))
    assert str(refused.value) == NO_TERMINAL.format(stack="local", command="ZOOMCAMP_SANDBOX=true make destroy-local")
    assert not destroyed(tools)


def test_a_wrong_name_refuses_and_the_right_one_destroys(tmp_path: Path, local_sandbox_synth: Any) -> None:
    tools = sandbox_tools(tmp_path, local_sandbox_synth)
    asked: list[str] = []
    with pytest.raises(BundleError, match=r"you typed 'yes', not 'local': nothing was changed"):
        destroy_stack("local", tools.env(ZOOMCAMP_SANDBOX="true"), io.StringIO(), options(tools, "yes", asked))
    assert not destroyed(tools)
    assert "the PostgreSQL volumes" in asked[0] and asked[0].endswith("Type the stack name (local) to go on: ")
    destroy_stack("local", tools.env(ZOOMCAMP_SANDBOX="true"), io.StringIO(), options(tools, " local\n", []))
    assert destroyed(tools)


def test_without_sandbox_mode_nothing_is_asked(tmp_path: Path, local_synth: Any) -> None:
    tools = fake_tools(tmp_path, local_synth, sorted(config_resources(local_synth)), True)
    asked: list[str] = []
    destroy_stack("local", tools.env(), io.StringIO(), options(tools, None, asked))
    assert asked == [] and destroyed(tools)  # the data volumes are kept: nothing to confirm


def test_a_reset_asks_before_anything_runs(tmp_path: Path, local_sandbox_synth: Any) -> None:
    tools = sandbox_tools(tmp_path, local_sandbox_synth)
    with pytest.raises(BundleError) as refused:
        sandbox_reset("local", tools.env(ZOOMCAMP_SANDBOX="true"), io.StringIO(), options(tools, None, []))
    command = "ZOOMCAMP_SANDBOX=true make sandbox-reset STACK=local"
    assert str(refused.value) == NO_TERMINAL.format(stack="local", command=command)
    assert tools.calls() == []
    asked: list[str] = []
    sandbox_reset("local", tools.env(ZOOMCAMP_SANDBOX="true"), io.StringIO(), options(tools, "local", asked))
    assert len(asked) == 1, "asked once, not again by the destroy step"
    assert [call["args"][0] for call in tools.calls()][-1] == "deploy"


def test_reset_refuses_on_the_command_line_without_a_terminal(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ZOOMCAMP_SANDBOX", "true")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    monkeypatch.setattr("ops.sandbox_reset.destroy_stack", lambda *a, **k: pytest.fail("destroy ran"))
    assert run_cli(lambda: reset_main(["local"])) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "without a typed confirmation" in err


@pytest.mark.parametrize(("argv", "confirmed"), [(["local"], False), (["local", "--yes"], True)])
def test_destroy_takes_yes_on_its_command_line(argv: list[str], confirmed: bool, monkeypatch) -> None:
    seen: list[DestroyOptions] = []
    monkeypatch.setattr("ops.destroy.destroy_stack", lambda stack, env, out, options: seen.append(options))
    assert destroy_main(argv) == 0
    assert seen[0].confirmed is confirmed


def test_no_terminal_is_no_answer() -> None:
    code = "from ops.destroy import ask_on_terminal; print(ask_on_terminal('Type: '))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert done.stdout == "None\n"


@pytest.mark.parametrize(
    ("target", "flag"), [("destroy-local", "--yes"), ("destroy-gcp", "--yes"), ("sandbox-reset STACK=local", "--yes")]
)
def test_make_passes_yes_only_when_asked(target: str, flag: str) -> None:
    def recipe(*extra: str) -> str:
        command = ["make", "-n", "-s", *target.split(), *extra]
        lines = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
        return [line for line in lines.splitlines() if "-m ops." in line][-1]

    assert recipe("YES=1").endswith(flag)
    assert flag not in recipe()


def test_the_e2e_sandbox_destroy_passes_yes() -> None:
    workflow = (PROJECT_ROOT / ".github" / "workflows" / "e2e.yml").read_text(encoding="utf-8")
    step = workflow.split("- name: The sandbox destroy removes everything", 1)[1].split("- name:", 1)[0]
    assert "ZOOMCAMP_SANDBOX" in step and "make destroy-local YES=1" in step
