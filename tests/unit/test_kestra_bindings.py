"""What the stacks send to the kestra-io/kestra provider is what its pinned release accepts.

The schema is tests/fixtures/kestra_provider_schema.json, read from the provider's Go source at
the pinned tag by `python -m ops.kestra_provider_schema` (no registry, so no `terraform providers
schema -json`, here). Three checks against it: every attribute any stack variant synthesizes on
the kestra provider block or a kestra_* resource exists and is settable, and the required ones are
there; every field of the typed bindings is a settable attribute, and every required attribute a
field without default; and the provider is required at exactly the release the schema was read from.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import cdktf
import pytest

from ops.kestra_provider_schema import FIXTURE, PROVIDER_ADDRESS, parse_schema_map
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
from stacks.settings import PROJECT_ROOT
from tests.support.inventory import Inventory, inventory_files
from tests.support.synth import synth_stack

META_ARGUMENTS = {"depends_on", "provider", "lifecycle", "count", "for_each", "//"}
PY_TYPES = {"string": str, "bool": bool, "number": (int, float)}
BINDINGS = {
    "kestra_flow": (KestraFlow, KestraFlowProps),
    "kestra_kv": (KestraKv, KestraKvProps),
    "kestra_namespace_file": (KestraNamespaceFile, KestraNamespaceFileProps),
}
VARIANTS = inventory_files()
ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"
TABLE_HEADING = "### Provider attributes we set"


@functools.cache
def synth_of(path: Path) -> dict[str, Any]:
    """The variant's synthesized JSON, once per test session (read, never changed)."""
    inventory = Inventory.load(path)
    return synth_stack(inventory.stack, inventory.env)


@pytest.fixture(scope="module")
def fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def schema(fixture: dict[str, Any]) -> dict[str, Any]:
    return fixture["provider_schemas"][PROVIDER_ADDRESS]


def block_problems(block: dict[str, Any], synthesized: dict[str, Any], what: str) -> list[str]:
    """What the provider would refuse in one synthesized block, one line each."""
    attributes, nested = block["attributes"], block.get("block_types", {})
    problems = []
    for name, value in synthesized.items():
        if name in META_ARGUMENTS:
            continue
        if name in nested:
            items = value if isinstance(value, list) else [value]
            problems += [p for item in items for p in block_problems(nested[name]["block"], item, f"{what}.{name}")]
            continue
        spec = attributes.get(name)
        if spec is None:
            problems.append(
                f"{what}: '{name}' is not an argument of provider v{versions.KESTRA_PROVIDER_VERSION} "
                f"(Terraform: Unsupported argument); settable: {', '.join(settable(block))}"
            )
        elif not spec.get("optional") and not spec.get("required"):
            problems.append(f"{what}: '{name}' is computed by the provider ({spec['source']}); do not set it")
        elif wrong_type(spec["type"], value):
            problems.append(f"{what}: '{name}' must be a {spec['type']}, not {value!r}")
    for name, spec in attributes.items():
        if spec.get("required") and name not in synthesized:
            problems.append(f"{what}: required '{name}' is missing")
    return problems


def wrong_type(terraform_type: Any, value: Any) -> bool:
    """A primitive of the wrong Python type (true is not a number); references are Terraform's to check."""
    if not isinstance(terraform_type, str) or (isinstance(value, str) and value.startswith("${")):
        return False
    return not isinstance(value, PY_TYPES[terraform_type]) or isinstance(value, bool) != (terraform_type == "bool")


def settable(block: dict[str, Any]) -> list[str]:
    attributes = block["attributes"]
    return sorted(
        name
        for name, spec in attributes.items()
        if (spec.get("optional") or spec.get("required")) and spec["source"].startswith("internal/")
    )


def kestra_blocks(synth: dict[str, Any]) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(resource type or None for the provider, address, body) of every kestra block of a synth."""
    blocks = [("provider kestra", None, body) for body in synth.get("provider", {}).get("kestra", [])]
    for resource_type, resources in synth.get("resource", {}).items():
        if resource_type.startswith("kestra_"):
            blocks += [(f"{resource_type}.{name}", resource_type, body) for name, body in resources.items()]
    return blocks


def problems_of(synth: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    problems = []
    for address, resource_type, body in kestra_blocks(synth):
        if resource_type is None:
            problems += block_problems(schema["provider"]["block"], body, address)
        elif resource_type not in schema["resource_schemas"]:
            problems.append(f"{address}: the provider has no resource type {resource_type}")
        else:
            problems += block_problems(schema["resource_schemas"][resource_type]["block"], body, address)
    return problems


@pytest.mark.parametrize("path", VARIANTS, ids=[path.stem for path in VARIANTS])
def test_every_stack_variant_sends_only_what_the_provider_accepts(path: Path, schema: dict[str, Any]) -> None:
    synth = synth_of(path)
    problems = problems_of(synth, schema)
    assert not problems, "\n".join(problems)
    if Inventory.load(path).stack == "local":
        assert {resource_type for _, resource_type, _ in kestra_blocks(synth)} >= {None, *BINDINGS}


def test_the_check_refuses_an_unknown_a_computed_and_a_missing_attribute(schema: dict[str, Any]) -> None:
    kv = {"namespace": "zoomcamp", "key": "K", "value": "v", "type": "STRING"}
    synth = {
        "provider": {"kestra": [{"url": "http://localhost:8080", "keep_original_source": True}]},
        "resource": {
            # What stacks/local/flow_resources.py sent before provider v1.3.2 was read.
            "kestra_kv": {"described": {**kv, "description": "JDBC URL"}},
            "kestra_flow": {
                "tenanted": {"namespace": "n", "flow_id": "f", "content": "id: f", "tenant_id": "main"},
                "kept": {"namespace": "n", "flow_id": "f", "content": "id: f", "keep_original_source": True},
                "empty": {"namespace": "n", "flow_id": "f"},
            },
            "kestra_namespace_file": {"typed": {"namespace": "n", "filename": "a.sql", "content": 1}},
        },
    }
    assert problems_of(synth, schema) == [
        "kestra_kv.described: 'description' is not an argument of provider v1.3.2 (Terraform: Unsupported "
        "argument); settable: key, namespace, type, value",
        "kestra_flow.tenanted: 'tenant_id' is computed by the provider (internal/provider/resource_flow.go); "
        "do not set it",
        "kestra_flow.kept: 'keep_original_source' is not an argument of provider v1.3.2 (Terraform: Unsupported "
        "argument); settable: content, flow_id, namespace",
        "kestra_flow.empty: required 'content' is missing",
        "kestra_namespace_file.typed: 'content' must be a string, not 1",
    ]


def test_nested_blocks_are_checked_inside(schema: dict[str, Any]) -> None:
    role = {"name": "r", "permissions": [{"type": "FLOW", "permissions": ["READ"], "scope": "all"}]}
    assert problems_of({"resource": {"kestra_role": {"r": role}}}, schema) == [
        "kestra_role.r.permissions: 'scope' is not an argument of provider v1.3.2 (Terraform: Unsupported "
        "argument); settable: permissions, type",
    ]


@pytest.mark.parametrize("resource_type", sorted(BINDINGS))
def test_each_binding_takes_exactly_settable_attributes(schema: dict[str, Any], resource_type: str) -> None:
    binding, props = BINDINGS[resource_type]
    assert binding.resource_type == resource_type
    block = schema["resource_schemas"][resource_type]["block"]
    fields = dataclasses.fields(props)
    extra = sorted({field.name for field in fields} - set(settable(block)))
    assert not extra, f"{props.__name__}: {extra} are not settable attributes of {resource_type} (see {FIXTURE.name})"
    no_default = {
        field.name
        for field in fields
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }
    required = {name for name, spec in block["attributes"].items() if spec.get("required")}
    assert required <= no_default, f"{props.__name__}: a required attribute must be a field without default"


def test_the_provider_binding_takes_only_provider_attributes(schema: dict[str, Any]) -> None:
    block = schema["provider"]["block"]
    extra = sorted({field.name for field in dataclasses.fields(KestraProviderProps)} - set(settable(block)))
    assert not extra, f"KestraProviderProps: {extra} are not attributes of the provider block"


def test_bindings_synthesize_their_props_and_nothing_else(schema: dict[str, Any]) -> None:
    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "bindings")
    KestraProvider(
        stack, "kestra", props=KestraProviderProps(url="http://localhost:8080", username="a@b.co", timeout=30)
    )
    KestraFlow(stack, "flow", props=KestraFlowProps(namespace="zoomcamp", flow_id="f", content="id: f\n"))
    KestraKv(stack, "kv", props=KestraKvProps(namespace="zoomcamp", key="K", value="v"))
    KestraNamespaceFile(
        stack, "file", props=KestraNamespaceFileProps(namespace="zoomcamp", filename="sql/q.sql", content="select 1")
    )
    synth = json.loads(cdktf.Testing.synth(stack))
    assert synth["provider"]["kestra"] == [
        {"url": "http://localhost:8080", "username": "a@b.co", "timeout": 30, "keep_original_source": True}
    ]
    assert synth["resource"]["kestra_kv"]["kv"] == {"namespace": "zoomcamp", "key": "K", "value": "v", "type": "STRING"}
    assert problems_of(synth, schema) == []


def test_the_plan_diff_replaces_kestra_resources_on_exactly_their_force_new_attributes(schema: dict[str, Any]) -> None:
    from plan_diff.replacement import RULES

    for resource_type in sorted(name for name in RULES if name.startswith("kestra_")):
        where = f"plan_diff/replacement.py: {resource_type}"
        assert resource_type in schema["resource_schemas"], f"{where} is not a resource of the provider"
        attributes = schema["resource_schemas"][resource_type]["block"]["attributes"]
        force_new = {name for name, spec in attributes.items() if spec.get("force_new")}
        assert RULES[resource_type].force_new == force_new, f"{where}: ForceNew is {sorted(force_new)}"
    assert {"kestra_flow", "kestra_kv", "kestra_namespace_file"} <= set(RULES)


def test_the_schema_is_of_the_pinned_provider(fixture: dict[str, Any]) -> None:
    assert fixture["provider_version"] == versions.KESTRA_PROVIDER_VERSION, (
        "regenerate the fixture at the pinned tag: python -m ops.kestra_provider_schema --git-dir <provider clone> "
        f"--tag v{versions.KESTRA_PROVIDER_VERSION}"
    )


def documented_attributes() -> set[tuple[str, str, str]]:
    """(block, attribute, source file) rows of the table in docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split(TABLE_HEADING, 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (provider `kestra`|`kestra_\w+`) \| `(\w+)` \| `([\w/.]+)` \|$", section, re.M)
    return {(block.replace("`", ""), attribute, source) for block, attribute, source in rows}


def test_the_docs_trace_every_attribute_we_set_to_its_source(schema: dict[str, Any]) -> None:
    sent = set()
    for path in VARIANTS:
        for _address, resource_type, body in kestra_blocks(synth_of(path)):
            block = schema["provider"] if resource_type is None else schema["resource_schemas"][resource_type]
            where = "provider kestra" if resource_type is None else resource_type
            attributes = block["block"]["attributes"]
            sent |= {(where, name, attributes[name]["source"]) for name in body if name not in META_ARGUMENTS}
    documented = documented_attributes()
    assert documented == sent, (
        f"{ARCHITECTURE.name} '{TABLE_HEADING}': add {sorted(sent - documented)}, remove {sorted(documented - sent)}"
    )


@pytest.mark.parametrize("path", VARIANTS, ids=[path.stem for path in VARIANTS])
def test_every_provider_is_required_at_one_exact_version(path: Path) -> None:
    required = synth_of(path)["terraform"]["required_providers"]
    loose = {name: spec.get("version") for name, spec in required.items()}
    loose = {name: version for name, version in loose.items() if not re.fullmatch(r"\d+\.\d+\.\d+", version or "")}
    assert not loose, f"pin each provider to one version (no ~>, >=, ranges): {loose}"
    if "kestra" in required:
        assert required["kestra"] == {"source": "kestra-io/kestra", "version": versions.KESTRA_PROVIDER_VERSION}


GO_SNIPPET = """
Schema: map[string]*schema.Schema{
    "name": {
        Description: "a, b {c}", // a comment, with a comma
        Type:        schema.TypeString,
        Required:    true,
        ForceNew:    true,
    },
    "tags": &schema.Schema{
        Type:     schema.TypeList,
        Optional: true,
        Elem:     &schema.Schema{Type: schema.TypeString},
    },
    "rule": {
        Type:     schema.TypeList,
        Required: true,
        MaxItems: 1,
        Elem: &schema.Resource{
            Schema: map[string]*schema.Schema{
                "secret": {Type: schema.TypeString, Computed: true, Sensitive: true},
            },
        },
    },
},
"""


def test_the_generator_reads_attributes_flags_and_nested_blocks() -> None:
    body = GO_SNIPPET[GO_SNIPPET.index("{") + 1 : GO_SNIPPET.rindex("}")]
    block = parse_schema_map(body, "x.go", "t")
    spec = {"force_new": False, "source": "x.go"}
    assert block == {
        "attributes": {
            "name": {"type": "string", "required": True, "force_new": True, "source": "x.go"},
            "tags": {"type": ["list", "string"], "optional": True, **spec},
        },
        "block_types": {
            "rule": {
                "nesting_mode": "list",
                "block": {"attributes": {"secret": {"type": "string", "computed": True, "sensitive": True, **spec}}},
                "min_items": 1,
                "max_items": 1,
                **spec,
            }
        },
    }


def test_the_generator_refuses_what_it_cannot_read() -> None:
    from ops.kestra_provider_schema import GoSourceError

    with pytest.raises(GoSourceError, match=r"t\.name: Optional is 'isOptional\(\)'"):
        parse_schema_map('"name": {Type: schema.TypeString, Optional: isOptional()},', "x.go", "t")
    with pytest.raises(GoSourceError, match=r"fields this parser does not know: \['ConfigMode'\]"):
        parse_schema_map('"name": {Type: schema.TypeList, ConfigMode: schema.SchemaConfigModeAttr},', "x.go", "t")
