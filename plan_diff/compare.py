"""Compare two syntheses of the stacks and say, per stack, what Terraform would do.

Actions follow Terraform's vocabulary: create, delete, replace (an attribute that forces a
new resource changed, see `replacement`), update (in place). Values are masked here, before
any renderer sees them, so no output format can leak a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from flowcheck.flow_equality import only_comments_or_layout_differ
from plan_diff.masking import mask_value
from plan_diff.replacement import rule_for
from plan_diff.resources import Resource, flatten, resources_of, top_level

Action = Literal["create", "replace", "update", "delete"]
ACTION_ORDER: tuple[Action, ...] = ("create", "replace", "update", "delete")
Presence = Literal["both", "added", "removed", "absent"]


class _Absent:
    """An attribute that is not set on one side."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class AttributeChange:
    path: str
    before: Any
    after: Any
    forces_replacement: bool = False
    # True when the raw values differ but the masked ones look alike.
    sensitive: bool = False


@dataclass(frozen=True)
class ResourceChange:
    action: Action
    resource_type: str
    name: str
    construct_path: str | None
    attributes: tuple[AttributeChange, ...] = ()
    replacement_known: bool = True
    note: str | None = None

    @property
    def address(self) -> str:
        return f"{self.resource_type}.{self.name}"


@dataclass(frozen=True)
class StackDiff:
    stack: str
    presence: Presence
    changes: tuple[ResourceChange, ...]
    # Edits Terraform will not plan, each one line (a flow whose comments or layout alone changed).
    notes: tuple[str, ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def _attribute_change(path: str, before: Any, after: Any, forces: bool) -> AttributeChange:
    shown_before = before if before is ABSENT else mask_value(path, before)
    shown_after = after if after is ABSENT else mask_value(path, after)
    return AttributeChange(
        path=path,
        before=shown_before,
        after=shown_after,
        forces_replacement=forces,
        sensitive=shown_before == shown_after,
    )


def _changed_resource(before: Resource, after: Resource) -> ResourceChange | None:
    old, new = flatten(before.attributes), flatten(after.attributes)
    rule = rule_for(after.resource_type)
    changes = tuple(
        _attribute_change(
            path,
            old.get(path, ABSENT),
            new.get(path, ABSENT),
            bool(rule and rule.forces_replacement(top_level(path))),
        )
        for path in sorted(old.keys() | new.keys())
        if old.get(path, ABSENT) != new.get(path, ABSENT)
    )
    if not changes:
        return None
    return ResourceChange(
        action="replace" if any(change.forces_replacement for change in changes) else "update",
        resource_type=after.resource_type,
        name=after.name,
        construct_path=after.construct_path,
        attributes=changes,
        replacement_known=rule is not None,
    )


def _not_deployed(before: Resource, after: Resource) -> str | None:
    """The note for a kestra_flow whose content changed in comments or layout only: the provider
    compares flows as YAML data (flowcheck/flow_equality.py), so Terraform plans nothing for it."""
    if after.resource_type != "kestra_flow":
        return None
    old, new = dict(before.attributes), dict(after.attributes)
    before_content, after_content = old.pop("content", None), new.pop("content", None)
    if old != new or not isinstance(before_content, str) or not isinstance(after_content, str):
        return None
    if not only_comments_or_layout_differ(before_content, after_content):
        return None
    flow = after.attributes.get("flow_id") or after.name
    return (
        f"{flow}: only comments or layout changed, which the Kestra provider ignores (it compares flows as "
        "YAML data), so Terraform plans no change and Kestra keeps the old text; change a value with it to "
        f"deploy it ({after.address})"
    )


def _created(resource: Resource, note: str | None = None) -> ResourceChange:
    attributes = tuple(
        _attribute_change(path, ABSENT, value, False) for path, value in flatten(resource.attributes).items()
    )
    return ResourceChange(
        "create", resource.resource_type, resource.name, resource.construct_path, attributes, note=note
    )


def _deleted(resource: Resource, note: str | None = None) -> ResourceChange:
    return ResourceChange("delete", resource.resource_type, resource.name, resource.construct_path, note=note)


def _renames(removed: list[Resource], added: list[Resource]) -> dict[str, str]:
    """Removed -> added address pairs with identical attributes: most likely a renamed construct."""
    pairs: dict[str, str] = {}
    taken: set[str] = set()
    for old in removed:
        twins = [
            new
            for new in added
            if new.address not in taken and new.resource_type == old.resource_type and new.attributes == old.attributes
        ]
        if len(twins) == 1:
            pairs[old.address] = twins[0].address
            taken.add(twins[0].address)
    return pairs


def _with_dependents(change: ResourceChange, resources: Mapping[str, Resource]) -> ResourceChange:
    """Name what reads a replaced resource: Terraform may replace those too (an image's new id
    replaces its container), which only a real plan can tell."""
    needle = f"{change.address}."
    readers = sorted(
        address
        for address, resource in resources.items()
        if address != change.address and needle in json.dumps(resource.attributes)
    )
    if not readers:
        return change
    note = f"read by {', '.join(readers)}: they may be replaced too (only a real plan knows)"
    return replace(change, note=f"{change.note}; {note}" if change.note else note)


def _presence(before: object, after: object) -> Presence:
    if before is None:
        return "absent" if after is None else "added"
    return "removed" if after is None else "both"


def diff_stack(stack: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> StackDiff:
    """What changes in one stack; a stack missing on one side is all-added or all-removed."""
    presence = _presence(before, after)
    old, new = resources_of(before), resources_of(after)
    removed = [old[address] for address in sorted(old.keys() - new.keys())]
    added = [new[address] for address in sorted(new.keys() - old.keys())]
    renames = _renames(removed, added)
    renamed_from = {new_address: old_address for old_address, new_address in renames.items()}
    changes: list[ResourceChange] = []
    notes: list[str] = []
    for resource in added:
        source = renamed_from.get(resource.address)
        changes.append(_created(resource, f"same attributes as removed {source}" if source else None))
    for address in sorted(old.keys() & new.keys()):
        not_deployed = _not_deployed(old[address], new[address])
        if not_deployed:
            notes.append(not_deployed)
            continue
        change = _changed_resource(old[address], new[address])
        if change:
            changes.append(change)
    for resource in removed:
        target = renames.get(resource.address)
        note = (
            f"looks renamed to {target}: Terraform destroys and re-creates it; "
            "to keep it, move it instead (cdktf moveTo/moveFromId)"
            if target
            else None
        )
        changes.append(_deleted(resource, note))
    changes = [_with_dependents(change, new) if change.action == "replace" else change for change in changes]
    changes.sort(key=lambda change: (ACTION_ORDER.index(change.action), change.address))
    return StackDiff(stack=stack, presence=presence, changes=tuple(changes), notes=tuple(notes))


def diff_stacks(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]], stacks: tuple[str, ...]
) -> list[StackDiff]:
    """One StackDiff per requested stack, in the order asked."""
    return [diff_stack(stack, before.get(stack), after.get(stack)) for stack in stacks]
