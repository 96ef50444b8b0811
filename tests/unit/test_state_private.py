"""The local Terraform state holds the containers' environment, so the passwords: owner-only
after every deploy, born private, and flagged by the doctor when others can read it (issue 22 item 7)."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import pytest

from ops.deploy.cdktf_steps import Commands, cdktf_deploy
from ops.doctor.checks_settings import check_state_private
from ops.doctor.context import DoctorContext
from stacks.settings import Settings
from stacks.state_backend import make_state_private

# Like Terraform's local backend: creates the state and its backup with the process's umask (0666 & ~umask),
# and rewrites an existing one in place (its mode stays).
FAKE_CDKTF = """\
import os, sys
for name in ("terraform.local.tfstate", "terraform.local.tfstate.backup"):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.write(fd, b'{"resources": [{"env": ["POSTGRES_PASSWORD=secret"]}]}')
    os.close(fd)
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fake_cdktf(tmp_path: Path) -> Commands:
    script = tmp_path / "fake_cdktf.py"
    script.write_text(FAKE_CDKTF)
    return Commands(project_root=tmp_path, cdktf=(sys.executable, str(script)))


def test_a_deploy_creates_the_state_private(tmp_path: Path, fake_cdktf: Commands) -> None:
    old = os.umask(0o022)  # a learner's usual umask: Terraform alone would write 0644
    try:
        cdktf_deploy("local", {"PATH": os.environ["PATH"]}, fake_cdktf, io.StringIO(), auto_approve=True)
    finally:
        os.umask(old)
    for name in ("terraform.local.tfstate", "terraform.local.tfstate.backup"):
        assert mode(tmp_path / name) == 0o600, name


def test_a_deploy_makes_an_older_readable_state_private(tmp_path: Path, fake_cdktf: Commands) -> None:
    state = tmp_path / "terraform.local.tfstate"
    state.write_text("{}")
    state.chmod(0o644)  # what versions before this one left behind
    cdktf_deploy("local", {"PATH": os.environ["PATH"]}, fake_cdktf, io.StringIO(), auto_approve=True)
    assert mode(state) == 0o600


def test_synth_makes_a_readable_state_private(tmp_path: Path) -> None:
    """main.py calls this at every synth, so a plain `cdktf deploy local` fixes an old state too."""
    state = tmp_path / "terraform.local.tfstate"
    state.write_text("{}")
    state.chmod(0o644)
    assert make_state_private(tmp_path, "local", Settings.from_env({})) == [state]
    assert mode(state) == 0o600
    assert make_state_private(tmp_path, "local", Settings.from_env({})) == []


def doctor_state(tmp_path: Path, stack: str = "local"):
    return check_state_private(DoctorContext.build(stack, {}, project_root=tmp_path))


def test_the_doctor_flags_a_readable_state_with_the_chmod_fix(tmp_path: Path) -> None:
    assert doctor_state(tmp_path).message == "no local state file yet (or it is in the state bucket)"
    state = tmp_path / "terraform.local.tfstate"
    state.write_text("{}")
    state.chmod(0o644)
    (tmp_path / "terraform.local.tfstate.backup").write_text("{}")
    (tmp_path / "terraform.local.tfstate.backup").chmod(0o600)
    result = doctor_state(tmp_path)
    assert result.status.name == "FAIL"
    assert (
        result.message
        == "terraform.local.tfstate can be read by other users (mode 644): it holds the stack's passwords"
    )
    assert result.fix == "chmod 600 terraform.local.tfstate (the next make deploy-local does it too)"
    state.chmod(0o600)
    ok = doctor_state(tmp_path)
    assert ok.status.name == "OK" and "readable by you only" in ok.message


def test_the_doctor_runs_the_state_check_for_both_stacks(tmp_path: Path) -> None:
    from ops.doctor import runner

    for stack in ("local", "gcp"):
        ctx = DoctorContext.build(stack, {"PATH": ""}, project_root=tmp_path)
        assert "state" in [result.check for result in runner._common(ctx)]
