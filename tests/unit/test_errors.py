"""User-facing failures: one line on stderr, exit code 1, a traceback only with DEBUG=1."""

from __future__ import annotations

import pytest

from stacks.errors import BundleError, explain_interrupt, run_cli


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
