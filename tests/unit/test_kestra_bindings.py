"""The hand-written Kestra bindings synthesize exactly what the provider's schema allows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cdktf
import pytest

from stacks import versions
from stacks.kestra import (
    KestraFlow,
    KestraFlowProps,
    KestraKv,
    KestraKvProps,
    KestraNamespaceFile,
    KestraNamespaceFileProps,
    KestraProvider,
    KestraProviderProps,
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "kestra_provider_schema.json"
META_ARGUMENTS = {"depends_on", "provider", "lifecycle", "count", "for_each", "//"}
PY_TYPES = {"string": str, "bool": bool, "number": (int, float)}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())["provider_schemas"]["registry.terraform.io/kestra-io/kestra"]


@pytest.fixture(scope="module")
def bindings_synth() -> dict[str, Any]:
    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "bindings")
    KestraProvider(
        stack, "kestra", props=KestraProviderProps(url="http://localhost:8080", username="a@b.co", timeout=30)
    )
    KestraFlow(stack, "flow", props=KestraFlowProps(namespace="zoomcamp", flow_id="f", content="id: f\n"))
    KestraKv(stack, "kv", props=KestraKvProps(namespace="zoomcamp", key="K", value="v", description="d"))
    KestraNamespaceFile(
        stack, "file", props=KestraNamespaceFileProps(namespace="zoomcamp", filename="sql/q.sql", content="select 1")
    )
    return json.loads(cdktf.Testing.synth(stack))


def _check_block(attributes: dict[str, Any], synthesized: dict[str, Any], what: str) -> None:
    for name, value in synthesized.items():
        if name in META_ARGUMENTS:
            continue
        assert name in attributes, f"{what}: '{name}' is not in the provider schema"
        spec = attributes[name]
        assert spec.get("required") or spec.get("optional"), f"{what}: '{name}' is read-only"
        if isinstance(spec["type"], str) and not (isinstance(value, str) and value.startswith("${")):
            assert isinstance(value, PY_TYPES[spec["type"]]), f"{what}: '{name}' must be a {spec['type']}"
        if "one_of" in spec:
            assert value in spec["one_of"], f"{what}: '{name}'={value!r} not in {spec['one_of']}"
    for name, spec in attributes.items():
        if spec.get("required"):
            assert name in synthesized, f"{what}: required '{name}' missing"


def test_provider_block_matches_schema(bindings_synth: dict[str, Any], schema: dict[str, Any]) -> None:
    (provider,) = bindings_synth["provider"]["kestra"]
    _check_block(schema["provider"]["block"]["attributes"], provider, "provider kestra")
    assert provider == {"url": "http://localhost:8080", "username": "a@b.co", "timeout": 30}


@pytest.mark.parametrize("resource_type", ["kestra_flow", "kestra_kv", "kestra_namespace_file"])
def test_resources_match_schema(bindings_synth: dict[str, Any], schema: dict[str, Any], resource_type: str) -> None:
    synthesized = bindings_synth["resource"][resource_type]
    assert len(synthesized) == 1
    attributes = schema["resource_schemas"][resource_type]["block"]["attributes"]
    _check_block(attributes, next(iter(synthesized.values())), resource_type)


def test_required_provider_is_pinned(bindings_synth: dict[str, Any]) -> None:
    assert bindings_synth["terraform"]["required_providers"]["kestra"] == {
        "source": "kestra-io/kestra",
        "version": versions.KESTRA_PROVIDER_VERSION,
    }


def test_schema_check_catches_unknown_and_missing_attributes(schema: dict[str, Any]) -> None:
    attributes = schema["resource_schemas"]["kestra_flow"]["block"]["attributes"]
    with pytest.raises(AssertionError, match="not in the provider schema"):
        _check_block(attributes, {"namespace": "n", "flow_id": "f", "content": "c", "flow": "x"}, "t")
    with pytest.raises(AssertionError, match="required 'content' missing"):
        _check_block(attributes, {"namespace": "n", "flow_id": "f"}, "t")
    with pytest.raises(AssertionError, match="read-only"):
        _check_block(attributes, {"namespace": "n", "flow_id": "f", "content": "c", "revision": 2}, "t")
