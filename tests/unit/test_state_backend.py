"""The gcp stack's state: local by default, in a GCS bucket when ZOOMCAMP_STATE_BUCKET is set."""

from __future__ import annotations

import json
from typing import Any

import cdktf
import pytest

from stacks.settings import Settings, SettingsError
from stacks.state_backend import configure_state_backend
from tests.support.synth import BASE_ENV


def backend_of(env: dict[str, str]) -> dict[str, Any]:
    """The `terraform.backend` block of a bare stack named gcp, configured like the real one."""
    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "gcp")
    configure_state_backend(stack, Settings.from_env({**BASE_ENV, **env}))
    return json.loads(cdktf.Testing.synth(stack)).get("terraform", {}).get("backend", {})


def test_state_stays_local_by_default() -> None:
    assert "gcs" not in backend_of({})


def test_state_bucket_moves_state_to_gcs_under_the_stack_name() -> None:
    assert backend_of({"ZOOMCAMP_STATE_BUCKET": "zoomcamp-team-tfstate"}) == {
        "gcs": {"bucket": "zoomcamp-team-tfstate", "prefix": "zoomcamp-kestra/gcp"}
    }


def test_bad_state_bucket_is_one_line_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"^ZOOMCAMP_STATE_BUCKET='Team_State' must be lower-case"):
        Settings.from_env({**BASE_ENV, "ZOOMCAMP_STATE_BUCKET": "Team_State"})
