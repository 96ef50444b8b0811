"""No long-lived credential of the learner's own identity enters a container (issue 22 item 2).

The local Kestra runs any flow as root with the Docker socket: a mounted ADC file (a refresh token,
often a project owner's) is every flow's to read. By default nothing is mounted; on request only a
file without a long-lived credential is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdktf import Testing

from stacks.app import build_app
from stacks.local.gcp_access import CONTAINER_CREDENTIALS
from stacks.settings import Settings, SettingsError

LOGIN = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "1//never-expires"}
# The refusal reads only `type`; the key's own fields are left out, so nothing key-like is in Git.
KEY = {"type": "service_account", "client_email": "sa@p.iam"}
IMPERSONATION = {
    "type": "impersonated_service_account",
    "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/k@p",
    "source_credentials": LOGIN,
}
FEDERATED = {"type": "external_account", "audience": "//iam.googleapis.com/pool", "credential_source": {"file": "/t"}}


def adc_home(tmp_path: Path, document: dict[str, Any]) -> dict[str, str]:
    """A HOME whose gcloud ADC file holds `document`, as `gcloud auth application-default login` leaves it."""
    adc = tmp_path / "home" / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True, exist_ok=True)
    adc.write_text(json.dumps(document), encoding="utf-8")
    return {"HOME": str(tmp_path / "home")}


def kestra_container(env: dict[str, str]) -> dict[str, Any]:
    settings = Settings.from_env({**env, "ZOOMCAMP_STACKS": "local", "GCP_PROJECT_ID": "zoomcamp-test-project"})
    app = build_app(settings, app=Testing.app())
    synth = json.loads(Testing.synth(app.node.find_child("local")))
    return next(c for c in synth["resource"]["docker_container"].values() if c["name"].endswith("-kestra"))


def test_the_learners_adc_is_not_mounted_by_default(tmp_path: Path) -> None:
    container = kestra_container(adc_home(tmp_path, LOGIN))
    assert all(v.get("container_path") != CONTAINER_CREDENTIALS for v in container["volumes"])
    assert not any(e.startswith("GOOGLE_APPLICATION_CREDENTIALS=") for e in container["env"])
    assert "application_default_credentials" not in json.dumps(container)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (LOGIN, "your own Google login (a refresh token that never expires)"),
        (KEY, "a service-account key (a private key that does not expire)"),
        (IMPERSONATION, "an impersonation file whose source is your own Google login"),
        ({"not": "credentials"}, "a credentials file of type None"),
    ],
)
def test_asking_for_a_long_lived_credential_is_refused_in_one_line(
    tmp_path: Path, document: dict[str, Any], words: str
) -> None:
    home = adc_home(tmp_path, document)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**home, "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "true"})
    text = str(caught.value)
    assert len(text.splitlines()) == 1
    assert text.startswith(f"ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=true would mount {tmp_path}/home/")
    assert words in text and "unset ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS" in text
    assert "never-expires" not in text and "PRIVATE KEY" not in text, "the credential itself is never echoed"


def test_a_federated_credential_is_mounted_on_request(tmp_path: Path) -> None:
    home = adc_home(tmp_path, FEDERATED)
    container = kestra_container({**home, "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "true"})
    mounts = [v for v in container["volumes"] if v.get("container_path") == CONTAINER_CREDENTIALS]
    assert len(mounts) == 1 and mounts[0]["read_only"] is True


def test_with_the_token_broker_kestra_asks_the_host_and_holds_no_credential(tmp_path: Path) -> None:
    home = adc_home(tmp_path, LOGIN)
    container = kestra_container(
        {**home, "ZOOMCAMP_GCP_TOKEN_BROKER": "true", "ZOOMCAMP_GCP_TOKEN_BROKER_PORT": "8099"}
    )
    assert "GCE_METADATA_HOST=host.docker.internal:8099" in container["env"]
    assert "GCE_METADATA_IP=host.docker.internal:8099" in container["env"]
    assert container["host"] == [{"host": "host.docker.internal", "ip": "host-gateway"}]
    assert all(v.get("container_path") != CONTAINER_CREDENTIALS for v in container["volumes"])
    assert "application_default_credentials" not in json.dumps(container)


def test_without_the_token_broker_kestra_has_no_metadata_host(tmp_path: Path) -> None:
    container = kestra_container(adc_home(tmp_path, LOGIN))
    assert not any(e.startswith(("GCE_METADATA_HOST=", "GCE_METADATA_IP=")) for e in container["env"])
    assert "host" not in container


def test_the_token_broker_and_a_mounted_credential_are_refused_together(tmp_path: Path) -> None:
    home = adc_home(tmp_path, FEDERATED)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**home, "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "true", "ZOOMCAMP_GCP_TOKEN_BROKER": "true"})
    (line,) = str(caught.value).splitlines()
    assert line.startswith("ZOOMCAMP_GCP_TOKEN_BROKER=true and ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=true give")


def test_the_token_brokers_port_must_differ_from_the_stacks_ports() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ZOOMCAMP_GCP_TOKEN_BROKER": "true", "ZOOMCAMP_GCP_TOKEN_BROKER_PORT": "8080"})
    assert str(caught.value) == (
        "ZOOMCAMP_GCP_TOKEN_BROKER_PORT=8080 is also KESTRA_PORT: two services cannot share one host port; pick another"
    )
