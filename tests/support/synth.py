"""Synthesize stacks in-process with cdktf's Testing helpers, from an explicit environment.

Tests never read the developer's real environment: each passes the variables it means, so
results are the same on every machine and in CI.

A broken flow file must fail its own checker's test, once, and nothing else: the local stack
is not synthesized from flows that do not load, and every test that needs it is skipped with
one line naming the test that says why (tests/flows/test_flow_lint.py, one test per file).
`TEST_FLOWS_DIR` points the tests at another folder of flows (tests/unit/test_flow_catalog.py
proves that behaviour on a copy of flows/ with broken files).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cdktf import TerraformStack, Testing

from flowcheck.flow_catalog import FlowFile, check_flow_catalog
from stacks.app import build_app
from stacks.settings import LOCAL_STACK, PROJECT_ROOT, Settings

# What the tests deploy unless they say otherwise.
BASE_ENV: dict[str, str] = {"ZOOMCAMP_STACKS": LOCAL_STACK, "GCP_PROJECT_ID": "zoomcamp-test-project"}
# The flows the tests check and the local stack ships.
FLOWS_DIR = Path(os.environ.get("TEST_FLOWS_DIR") or PROJECT_ROOT / "flows").resolve()
FLOW_CHECKER_TEST = "tests/flows/test_flow_lint.py::test_repository_flow_is_valid"


@functools.cache
def _catalog(flows_dir: Path) -> tuple[tuple[FlowFile, ...], str | None]:
    verdict = check_flow_catalog(flows_dir)
    if not verdict.problems:
        return verdict.flows, None
    first = next(iter(verdict.problems))
    return (), f"{len(verdict.problems)} file(s) of {flows_dir} do not load: see {FLOW_CHECKER_TEST}[{first.name}]"


def repository_catalog(flows_dir: Path = FLOWS_DIR) -> tuple[FlowFile, ...]:
    """The flows of `flows_dir`; skips the calling test when they do not load (their checker fails)."""
    flows, problem = _catalog(flows_dir.resolve())
    if problem:
        pytest.skip(problem)
    return flows


def _stack(stack_name: str, env: Mapping[str, str] | None) -> TerraformStack:
    merged = {**BASE_ENV, "ZOOMCAMP_STACKS": stack_name, **(env or {})}
    settings = dataclasses.replace(Settings.from_env(merged), flows_dir=FLOWS_DIR)
    if LOCAL_STACK in settings.stacks:
        repository_catalog(settings.flows_dir)
    app = build_app(settings, app=Testing.app())
    return app.node.find_child(stack_name)  # type: ignore[return-value]


def synth_stack(stack_name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stack's Terraform JSON as `cdktf synth` writes it, without cdktf's `//` metadata."""
    return json.loads(Testing.synth(_stack(stack_name, env)))


def synth_with_paths(stack_name: str, env: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON of synth_stack, and each resource's construct path by its address.

    The path (`local/kestra`, `gcp/lake/data/bucket`) is what cdktf writes in each block's
    `//` metadata: the construct tree, without the hash suffix of the logical id
    (`google_storage_bucket.lake_data_bucket_7B8AF6DE`).
    """
    stack = _stack(stack_name, env)
    synth = json.loads(Testing.synth(stack))  # invokes the aspects, once
    raw = json.loads(json.dumps(stack.to_terraform()))  # the same configuration, metadata kept
    paths = {
        f"{resource_type}.{name}": body["//"]["metadata"]["path"]
        for resource_type, blocks in raw.get("resource", {}).items()
        for name, body in blocks.items()
    }
    return synth, paths


def resources(synth: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return dict(synth.get("resource", {}).get(resource_type, {}))


def only(synth: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources(synth, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))
