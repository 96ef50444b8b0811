"""The environment the gcp stack is synthesized with in tests (with tests.support.synth's BASE_ENV).

A Git URL is given explicitly: a test must not depend on the checkout's `origin` remote.
"""

from __future__ import annotations

from stacks.settings import Settings
from tests.support.synth import BASE_ENV

GCP_ENV: dict[str, str] = {"ZOOMCAMP_GIT_URL": "https://github.com/example/zoomcamp-kestra.git"}


def gcp_settings(extra: dict[str, str] | None = None) -> Settings:
    return Settings.from_env({**BASE_ENV, "ZOOMCAMP_STACKS": "gcp", **GCP_ENV, **(extra or {})})
