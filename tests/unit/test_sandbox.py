"""Sandbox lifecycle: data is protected by default, and only ZOOMCAMP_SANDBOX lifts it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from gcp_env import GCP_ENV
from synth import BASE_ENV, resources, synth_stack

from stacks import sandbox
from stacks.errors import BundleError, run_cli
from stacks.sandbox import SandboxRefusal, data_protection, require_sandbox
from stacks.sandbox_reset import reset_steps, sandbox_reset
from stacks.settings import Settings

DATABASE_VOLUMES = {"zoomcamp-postgres-data", "zoomcamp-kestra-postgres-data"}


def prevent_destroy_by_volume(synth: Mapping[str, Any]) -> dict[str, bool]:
    return {
        volume["name"]: volume.get("lifecycle", {}).get("prevent_destroy", False)
        for volume in resources(synth, "docker_volume").values()
    }


def test_database_volumes_cannot_be_destroyed_by_default(local_synth: dict[str, Any]) -> None:
    protected = {name for name, flag in prevent_destroy_by_volume(local_synth).items() if flag}
    assert protected == DATABASE_VOLUMES  # Kestra's file storage is not data a learner loaded


def test_sandbox_mode_makes_database_volumes_destroyable() -> None:
    flags = prevent_destroy_by_volume(synth_stack("local", {"ZOOMCAMP_SANDBOX": "true"}))
    assert set(flags) >= DATABASE_VOLUMES
    assert not any(flags.values())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("false", sandbox.DataProtection(prevent_destroy=True, force_destroy=False, delete_contents_on_destroy=False)),
        ("true", sandbox.DataProtection(prevent_destroy=False, force_destroy=True, delete_contents_on_destroy=True)),
    ],
)
def test_protective_flags_for_both_modes(value: str, expected: sandbox.DataProtection) -> None:
    assert data_protection(Settings.from_env({**BASE_ENV, "ZOOMCAMP_SANDBOX": value})) == expected


def test_gcp_bucket_and_dataset_keep_their_contents_unless_sandbox(gcp_synth: dict[str, Any]) -> None:
    # A second gcp synth in the same process is cheap: the google provider is already loaded.
    sandboxed = synth_stack("gcp", {**GCP_ENV, "ZOOMCAMP_SANDBOX": "true"})
    for synth, sandbox_mode in ((gcp_synth, False), (sandboxed, True)):
        expected = data_protection(Settings.from_env({**BASE_ENV, "ZOOMCAMP_SANDBOX": str(sandbox_mode)}))
        buckets = resources(synth, "google_storage_bucket").values()
        datasets = resources(synth, "google_bigquery_dataset").values()
        assert buckets and datasets
        assert {bucket["force_destroy"] for bucket in buckets} == {expected.force_destroy}
        assert {dataset["delete_contents_on_destroy"] for dataset in datasets} == {expected.delete_contents_on_destroy}


class FakeCdktf:
    """Records the commands a reset runs instead of running them."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[tuple[str, ...], dict[str, str]]] = []
        self.fail_at = fail_at

    def __call__(self, command: Sequence[str], env: Mapping[str, str]) -> int:
        self.calls.append((tuple(command), dict(env)))
        return 1 if len(self.calls) == self.fail_at else 0


@pytest.mark.parametrize(("stack", "loses"), [("local", "PostgreSQL volumes"), ("gcp", "GCS bucket")])
def test_reset_refuses_without_sandbox_and_says_how_to_opt_in(stack: str, loses: str, tmp_path: Path) -> None:
    fake = FakeCdktf()
    with pytest.raises(SandboxRefusal) as refused:
        sandbox_reset(stack, dict(BASE_ENV), run=fake, say=lambda _: None, credentials=tmp_path / "local.env")
    message = str(refused.value)
    assert "\n" not in message
    assert loses in message and "nothing was changed" in message
    assert message.endswith(f"opt in: ZOOMCAMP_SANDBOX=true make sandbox-reset STACK={stack}")
    assert fake.calls == []  # refused before anything ran
    assert not (tmp_path / "local.env").exists()


def test_destroy_guard_names_the_destroy_command(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("ZOOMCAMP_SANDBOX", raising=False)
    assert run_cli(lambda: sandbox._main(["check", "destroy", "local"])) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: refusing to destroy the local stack")
    assert "ZOOMCAMP_SANDBOX=true make destroy-local" in error
    monkeypatch.setenv("ZOOMCAMP_SANDBOX", "true")
    assert run_cli(lambda: sandbox._main(["check", "destroy", "local"])) == 0


def test_unknown_stack_is_one_clear_line() -> None:
    with pytest.raises(BundleError, match=r"STACK='prod' is not a stack; use STACK=local or STACK=gcp"):
        require_sandbox("prod", Settings.from_env({**BASE_ENV, "ZOOMCAMP_SANDBOX": "true"}))


def test_local_reset_destroys_then_deploys_with_progress(tmp_path: Path) -> None:
    fake, said = FakeCdktf(), []
    env = {**BASE_ENV, "ZOOMCAMP_SANDBOX": "true", "PATH": "/usr/bin"}
    sandbox_reset("local", env, run=fake, say=said.append, credentials=tmp_path / "local.env")
    assert [call[0][3:5] for call in fake.calls] == [("destroy", "local"), ("deploy", "local")]
    assert all(call[0][-1] == "--auto-approve" for call in fake.calls)
    step_env = fake.calls[0][1]
    assert step_env["ZOOMCAMP_STACKS"] == "local" and step_env["ZOOMCAMP_SANDBOX"] == "true"
    assert {"TF_VAR_kestra_password", "TF_VAR_zoomcamp_db_password"} <= set(step_env)
    assert said[0].startswith("==> [1/2] destroying the local stack")
    assert said[2].startswith("==> [2/2] creating the local stack again")
    assert said[-1].startswith("==> local stack reset in")


def test_gcp_reset_records_sandbox_flags_in_state_before_destroying() -> None:
    assert [step.command[3] for step in reset_steps("gcp")] == ["deploy", "destroy", "deploy"]


def test_reset_stops_at_the_first_failed_step(tmp_path: Path) -> None:
    fake = FakeCdktf(fail_at=1)
    env = {**BASE_ENV, "ZOOMCAMP_SANDBOX": "true"}
    with pytest.raises(BundleError, match=r"step 1/3 \(recording sandbox mode.*\) failed with exit code 1"):
        sandbox_reset("gcp", env, run=fake, say=lambda _: None, credentials=tmp_path / "local.env")
    assert len(fake.calls) == 1
