"""Resources of one synthesized stack, addressed as Terraform addresses them.

The address (`type.name`) is what Terraform keys state by, so a renamed construct is a new
address: Terraform destroys the old resource and creates a new one, and so does this diff.
The construct path from cdktf's metadata is kept only to help a reader find the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Not part of what Terraform plans: cdktf's metadata and ordering-only meta-arguments.
IGNORED_KEYS = frozenset({"//", "depends_on"})


@dataclass(frozen=True)
class Resource:
    resource_type: str
    name: str
    construct_path: str | None
    attributes: Mapping[str, Any]

    @property
    def address(self) -> str:
        return f"{self.resource_type}.{self.name}"


def _construct_path(body: Mapping[str, Any]) -> str | None:
    metadata = body.get("//", {}).get("metadata", {})
    path = metadata.get("path") if isinstance(metadata, Mapping) else None
    return path if isinstance(path, str) else None


def resources_of(stack: Mapping[str, Any] | None) -> dict[str, Resource]:
    """Every managed resource of a synthesized stack (`cdk.tf.json`), by address."""
    found: dict[str, Resource] = {}
    for resource_type, by_name in (stack or {}).get("resource", {}).items():
        for name, body in by_name.items():
            resource = Resource(
                resource_type=resource_type,
                name=name,
                construct_path=_construct_path(body),
                attributes={key: value for key, value in body.items() if key not in IGNORED_KEYS},
            )
            found[resource.address] = resource
    return found


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested attributes as `a.b[0].c` paths; lists of scalars stay whole (they diff by item)."""
    if isinstance(value, Mapping):
        if not value and prefix:
            return {prefix: {}}
        flat: dict[str, Any] = {}
        for key in sorted(value):
            flat.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list) and value and not all(_is_scalar(item) for item in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def top_level(path: str) -> str:
    """The attribute a path starts in: `healthcheck.retries` -> `healthcheck`."""
    for index, char in enumerate(path):
        if char in ".[":
            return path[:index]
    return path
