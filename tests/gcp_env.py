"""The environment the gcp stack is synthesized with in tests (with tests/synth.py's BASE_ENV).

A Git URL is given explicitly: a test must not depend on the checkout's `origin` remote.
"""

from __future__ import annotations

# `stacks` first: importing it silences the jsii Node banner before synth.py loads cdktf
# (conftest imports this module before anything else).
# isort: off
import stacks  # noqa: F401
from synth import BASE_ENV

# isort: on
from stacks.settings import Settings

GCP_ENV: dict[str, str] = {"ZOOMCAMP_GIT_URL": "https://github.com/example/zoomcamp-kestra.git"}


def gcp_settings(extra: dict[str, str] | None = None) -> Settings:
    return Settings.from_env({**BASE_ENV, "ZOOMCAMP_STACKS": "gcp", **GCP_ENV, **(extra or {})})
