"""Google's own clients take their Application Default Credentials from ops/token_broker.py.

The Java client is the one plugin-gcp's CredentialService asks (GoogleCredentials
.getApplicationDefault, then createScoped), at the versions Kestra's platform BOM manages
(tools/kestra/google-auth); the Python one is what a Python script task in Kestra would use. Each
runs in its own process with only GCE_METADATA_HOST (and, for Python, GCE_METADATA_IP) pointing at
the broker, no credentials file and an empty HOME, as in the local Kestra container; the broker
mints through the IAM stand-in of tests/support/token_broker_fixtures.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.kestra_judge import KESTRA_DIR, KestraUnavailable, java_for_kestra
from tests.support.token_broker_fixtures import ACCOUNT, running_broker

GOOGLE_AUTH_DIR = KESTRA_DIR / "google-auth"
BIGQUERY_SCOPE = "https://www.googleapis.com/auth/bigquery"


def container_like_env(home: Path, broker: str | None) -> dict[str, str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    if broker is not None:
        env |= {"GCE_METADATA_HOST": broker, "GCE_METADATA_IP": broker}
    return env


def java_adc(home: Path, broker: str | None, *scopes: str) -> dict[str, str]:
    try:
        java = java_for_kestra()
    except KestraUnavailable as error:
        pytest.fail(str(error))
    run = subprocess.run(
        [java, "-cp", f"{GOOGLE_AUTH_DIR / 'classes'}:{GOOGLE_AUTH_DIR / 'lib'}/*", "AdcCheck", *scopes],
        env=container_like_env(home, broker),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)


def test_the_java_client_plugin_gcp_uses_gets_the_brokers_token(tmp_path: Path) -> None:
    with running_broker() as broker:
        answer = java_adc(tmp_path, broker.address, BIGQUERY_SCOPE)
    assert "error" not in answer, answer["error"]
    assert answer["class"] == "ComputeEngineCredentials"
    assert answer["token"] == "minted-1"
    assert 3300 < int(answer["expires_in"]) <= 3600
    assert answer["universe"] == "googleapis.com"
    assert [request["scope"] for request in broker.iam.requests] == [[BIGQUERY_SCOPE]]  # the task's scopes


def test_without_the_broker_the_java_client_finds_no_credentials(tmp_path: Path) -> None:
    with running_broker() as broker:
        address = broker.address
    answer = java_adc(tmp_path, address)  # the broker has stopped: nothing answers there
    assert answer.get("error", "").startswith("IOException: Your default credentials were not found"), answer


PYTHON_ADC = """
import google.auth
from google.auth.transport.requests import Request
credentials, project = google.auth.default()
credentials.refresh(Request())
print(type(credentials).__name__, project, credentials.service_account_email, credentials.token)
"""


def test_the_python_client_gets_the_brokers_token(tmp_path: Path) -> None:
    with running_broker() as broker:
        run = subprocess.run(
            [sys.executable, "-c", PYTHON_ADC],
            env=container_like_env(tmp_path, broker.address),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 0, run.stderr.strip().splitlines()[-1:]
    assert run.stdout.split() == ["Credentials", "learner-project", ACCOUNT, "minted-1"]
