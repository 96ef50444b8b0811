"""The local stack's share of the GCP work: the GCP KV values and the learner's credentials.

Both come from settings alone, so `cdktf deploy local` needs neither the gcp stack nor the
google provider; without a project the KV values are left out with a note, never a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cdktf
import pytest

from stacks.app import build_app
from stacks.gcp import target as gcp_target
from stacks.local.gcp_access import CONTAINER_CREDENTIALS
from stacks.settings import PROJECT_ROOT, Settings
from tests.support.synth import BASE_ENV, resources

GCP_KEYS = {"GCP_PROJECT_ID", "GCP_LOCATION", "GCP_BUCKET_NAME", "GCP_DATASET"}


def synth_local(env: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The local stack's JSON and its synth-time warnings."""
    app = build_app(Settings.from_env({**BASE_ENV, **env}), app=cdktf.Testing.app())
    stack = app.node.find_child("local")
    synth = json.loads(cdktf.Testing.synth(stack))  # type: ignore[arg-type]
    warnings = [entry.data for entry in stack.node.metadata if entry.type == "@cdktf/warn"]
    return synth, warnings


def kv(synth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["key"]: entry for entry in resources(synth, "kestra_kv").values()}


def kestra(synth: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in resources(synth, "docker_container").values() if c["name"].endswith("-kestra"))


def test_local_kestra_gets_the_gcp_kv_values_of_the_gcp_settings(local_synth: dict[str, Any]) -> None:
    values = kv(local_synth)
    assert {key: values[key]["value"] for key in GCP_KEYS} == {
        "GCP_PROJECT_ID": "zoomcamp-test-project",
        "GCP_LOCATION": "europe-west2",
        "GCP_BUCKET_NAME": "zoomcamp-test-project-zoomcamp-data",
        "GCP_DATASET": "zoomcamp",
    }
    for key in GCP_KEYS:
        assert values[key]["namespace"] == "zoomcamp"
        assert values[key]["depends_on"] == ["docker_container.kestra"]
    assert not any("CREDS" in key or "KEY" in key for key in values), "no credentials in KV"


def test_settings_change_the_local_kv_values_too() -> None:
    synth, _ = synth_local({"GCP_REGION": "us-central1", "GCP_DATASET": "ny_taxi", "GCP_BUCKET_NAME": "my-lake-2026"})
    values = {key: entry["value"] for key, entry in kv(synth).items() if key in GCP_KEYS}
    assert values["GCP_LOCATION"] == "us-central1"
    assert (values["GCP_BUCKET_NAME"], values["GCP_DATASET"]) == ("my-lake-2026", "ny_taxi")


def test_no_git_repository_in_the_kv_even_when_one_is_set() -> None:
    """The dbt flows run the namespace files the stack ships, not a clone: nothing reads a
    repository URL from the KV any more, so a stale one must not linger there."""
    synth, _ = synth_local({"ZOOMCAMP_GIT_URL": "https://github.com/me/fork.git", "ZOOMCAMP_GIT_BRANCH": "dev"})
    assert not {key for key in kv(synth) if key.startswith("ZOOMCAMP_GIT")}


def test_without_a_project_the_kv_values_are_skipped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcp_target, "adc_project", lambda: None)
    synth, warnings = synth_local({"GCP_PROJECT_ID": ""})
    assert GCP_KEYS.isdisjoint(kv(synth))
    assert {"ZOOMCAMP_PG_URL", "ZOOMCAMP_PG_USER"} <= set(kv(synth))
    (note,) = warnings
    assert note.startswith("GCP KV values (GCP_PROJECT_ID, GCP_LOCATION, GCP_BUCKET_NAME, GCP_DATASET) not set")
    assert "set GCP_PROJECT_ID=<your-project-id>" in note


def test_with_a_project_there_is_no_note() -> None:
    _, warnings = synth_local({})
    assert warnings == []


def test_credentials_file_is_mounted_read_only_and_named_in_the_environment(tmp_path: Path) -> None:
    key = tmp_path / "application_default_credentials.json"
    key.write_text('{"type": "external_account"}', encoding="utf-8")  # federated: no long-lived secret
    synth, _ = synth_local({"GOOGLE_APPLICATION_CREDENTIALS": str(key), "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "true"})
    container = kestra(synth)
    mounts = [v for v in container["volumes"] if v.get("container_path") == CONTAINER_CREDENTIALS]
    assert mounts == [{"host_path": str(key), "container_path": CONTAINER_CREDENTIALS, "read_only": True}]
    assert f"GOOGLE_APPLICATION_CREDENTIALS={CONTAINER_CREDENTIALS}" in container["env"]
    assert "external_account" not in json.dumps(synth), "the file's content never enters the Terraform JSON"


def test_no_credentials_file_means_no_mount(local_synth: dict[str, Any]) -> None:
    container = kestra(local_synth)
    assert all(v.get("container_path") != CONTAINER_CREDENTIALS for v in container["volumes"])
    assert not any(e.startswith("GOOGLE_APPLICATION_CREDENTIALS=") for e in container["env"])


def test_building_the_local_stack_never_loads_the_google_provider() -> None:
    code = (
        "import sys, stacks; from cdktf import Testing; from stacks.app import build_app; "
        "from stacks.settings import Settings; "
        "app = build_app(Settings.from_env({'ZOOMCAMP_STACKS': 'local', 'GCP_PROJECT_ID': 'zoomcamp-test-project'}), "
        "app=Testing.app()); Testing.synth(app.node.find_child('local')); "
        "print(sorted(m for m in sys.modules if m.startswith('cdktf_cdktf_provider_google')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20,22,24"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
