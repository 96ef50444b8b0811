"""Shared fixtures: each stack is synthesized once per test run, PostgreSQL started once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# tests.support imports `stacks` first: that silences the jsii banner before cdktf loads.
from tests.support.gcp_env import GCP_ENV
from tests.support.kestra_judge import KestraUnavailable
from tests.support.kestra_render import KestraRenderer
from tests.support.postgres_server import PostgresServer
from tests.support.synth import synth_stack


@pytest.fixture(scope="session")
def local_synth() -> dict[str, Any]:
    """The default local stack, synthesized once for every test that reads it."""
    return synth_stack("local")


@pytest.fixture(scope="session")
def gcp_synth() -> dict[str, Any]:
    """The gcp stack, synthesized once per run: loading the google provider costs ~13 s and ~1.35 GB."""
    return synth_stack("gcp", GCP_ENV)


@pytest.fixture(scope="session")
def local_sandbox_synth() -> dict[str, Any]:
    """The local stack in sandbox mode (ZOOMCAMP_SANDBOX=true), synthesized once."""
    return synth_stack("local", {"ZOOMCAMP_SANDBOX": "true"})


@pytest.fixture(scope="session")
def gcp_sandbox_synth() -> dict[str, Any]:
    """The gcp stack in sandbox mode; once the google provider is loaded a synthesis costs ~0.1 s."""
    return synth_stack("gcp", {**GCP_ENV, "ZOOMCAMP_SANDBOX": "true"})


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL (>= 15) for the whole run, started only if a test asks for it."""
    with PostgresServer() as server:
        yield server


# The secrets the flows read, as a deployed stack provides them (SECRET_* environment variables).
TEST_SECRETS = {"ZOOMCAMP_DB_PASSWORD": "test-password", "GEMINI_API_KEY": "test-gemini-key"}


@pytest.fixture(scope="session")
def kestra_renderer() -> Iterator[KestraRenderer]:
    """Kestra's own template renderer, one JVM for the whole run (started only if a test asks)."""
    try:
        renderer = KestraRenderer(secrets=TEST_SECRETS).start()
    except KestraUnavailable as error:
        pytest.fail(f"Kestra's renderer is not available: {error}", pytrace=False)
    yield renderer
    renderer.close()
