"""Synthesize stacks in-process with cdktf's Testing helpers, from an explicit environment.

Tests never read the developer's real environment: each passes the variables it means, so
results are the same on every machine and in CI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cdktf import Testing

from stacks.app import build_app
from stacks.settings import Settings

# What the tests deploy unless they say otherwise.
BASE_ENV: dict[str, str] = {"ZOOMCAMP_STACKS": "local", "GCP_PROJECT_ID": "zoomcamp-test-project"}


def synth_stack(stack_name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    merged = {**BASE_ENV, "ZOOMCAMP_STACKS": stack_name, **(env or {})}
    app = build_app(Settings.from_env(merged), app=Testing.app())
    stack = app.node.find_child(stack_name)
    return json.loads(Testing.synth(stack))  # type: ignore[arg-type]


def resources(synth: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return dict(synth.get("resource", {}).get(resource_type, {}))


def only(synth: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources(synth, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))
