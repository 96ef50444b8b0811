"""Plan diffs as plain text (a terminal) and as Markdown (one pull-request comment).

Both share one body per stack in the shape of a unified diff: lines that start with `+` are
added, `-` removed, `-/+` replaced, `~` updated in place. In Markdown the body sits in a
```diff block, so GitHub colours it; flow YAML changes appear as their changed lines, not as
one huge string.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plan_diff.compare import ABSENT, AttributeChange, ResourceChange, StackDiff

INDENT = "    "
MAX_VALUE_CHARS = 240
SYMBOL = {"create": "+", "delete": "-", "update": "~", "replace": "-/+"}
VERB = {"create": "create", "delete": "destroy", "update": "update in place", "replace": "replace"}
CAVEAT = (
    "Offline: synthesized Terraform JSON compared resource by resource, without provider schemas "
    "or state; 'replace' is approximate (plan_diff/replacement.py). The real plan is `cdktf diff`."
)


@dataclass(frozen=True)
class Revisions:
    base: str
    head: str


def _value(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_VALUE_CHARS:
        return f"{text[:MAX_VALUE_CHARS]}… ({len(text)} characters)"
    return text


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value


def _text_diff(before: str, after: str, indent: str) -> list[str]:
    """Changed lines of a multi-line value, marker in column 0 so Markdown colours them."""
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2))[2:]
    if not lines:
        return [f" {indent}(only the line endings differ)"]
    return [f" {indent}{line}" if line.startswith("@@") else f"{line[0]}{indent}{line[1:]}" for line in lines]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _list_diff(before: list[Any], after: list[Any], indent: str) -> list[str]:
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=[_key(v) for v in before], b=[_key(v) for v in after], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        old, new = before[i1:i2], after[j1:j2]
        if op == "replace" and len(old) == len(new):
            for position, (item_old, item_new) in enumerate(zip(old, new, strict=True)):
                if _is_text(item_old) or _is_text(item_new):
                    out.append(f" {indent}[{j1 + position}]:")
                    out.extend(_text_diff(str(item_old), str(item_new), indent + "  "))
                else:
                    out += [f"-{indent}{_value(item_old)}", f"+{indent}{_value(item_new)}"]
            continue
        out += [f"-{indent}{_value(item)}" for item in old]
        out += [f"+{indent}{_value(item)}" for item in new]
    return out


def _attribute_lines(change: AttributeChange, action: str) -> list[str]:
    if action == "create":
        if _is_text(change.after):
            return [f"+{INDENT}{change.path} = <{change.after.count(chr(10)) + 1} lines of text>"]
        return [f"+{INDENT}{change.path} = {_value(change.after)}"]
    forces = "  # forces replacement" if change.forces_replacement else ""
    if change.sensitive:
        return [f"~{INDENT}{change.path} = (sensitive value changed){forces}"]
    before, after = change.before, change.after
    if _is_text(before) or _is_text(after):
        old = "" if before is ABSENT else str(before)
        new = "" if after is ABSENT else str(after)
        return [f" {INDENT}{change.path}:{forces}", *_text_diff(old, new, INDENT + "  ")]
    if isinstance(before, list) and isinstance(after, list):
        return [f" {INDENT}{change.path}:{forces}", *_list_diff(before, after, INDENT + "  ")]
    lines = []
    if before is not ABSENT:
        lines.append(f"-{INDENT}{change.path} = {_value(before)}")
    if after is not ABSENT:
        lines.append(f"+{INDENT}{change.path} = {_value(after)}")
    lines[-1] += forces
    return lines


def _resource_lines(change: ResourceChange) -> list[str]:
    where = f" ({change.construct_path})" if change.construct_path else ""
    header = f"{SYMBOL[change.action]} {change.address}{where}: {VERB[change.action]}"
    if change.action == "update" and not change.replacement_known:
        header += " (or replace: this type is not in plan_diff/replacement.py)"
    lines = [header]
    if change.note:
        lines.append(f" {INDENT}# {change.note}")
    for attribute in change.attributes:
        lines.extend(_attribute_lines(attribute, change.action))
    return lines


def summary(diff: StackDiff) -> str:
    if diff.presence == "absent":
        return "not synthesized on either side"
    counts = ", ".join(
        f"{diff.count(action)} to {VERB[action].split()[0]}" for action in ("create", "replace", "update", "delete")
    )
    if diff.presence == "added":
        return f"new stack (not at the base revision): {counts}"
    if diff.presence == "removed":
        return f"stack removed (only at the base revision): {counts}"
    return counts if diff.has_changes else "no changes"


def stack_body(diff: StackDiff) -> list[str]:
    lines: list[str] = []
    for change in diff.changes:
        lines.extend(line.rstrip() for line in _resource_lines(change))
    lines.extend(f"# not deployed: {note}" for note in diff.notes)
    return lines


def render_text(diffs: Sequence[StackDiff], revisions: Revisions) -> str:
    out = [f"Offline plan diff: {revisions.base} -> {revisions.head}", ""]
    for diff in diffs:
        out.append(f"== Stack {diff.stack}: {summary(diff)} ==")
        out.extend(stack_body(diff))
        out.append("")
    out.append(CAVEAT)
    return "\n".join(out) + "\n"


def _fence(lines: Sequence[str]) -> str:
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(diffs: Sequence[StackDiff], revisions: Revisions, max_chars: int | None = None) -> str:
    """One comment: a summary table, then each changed stack as a ```diff block.

    `max_chars` keeps the comment under GitHub's size limit by cutting the longest bodies;
    the note says how to see everything.
    """
    head = [
        "### Offline plan diff",
        "",
        f"Base `{revisions.base}` → `{revisions.head}`",
        "",
        "| Stack | Create | Replace | Update | Destroy | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for diff in diffs:
        note = {"added": "new stack", "removed": "stack removed", "absent": "not synthesized"}.get(diff.presence, "")
        if diff.presence == "both" and not diff.has_changes:
            note = "no changes"
        counts = " | ".join(str(diff.count(action)) for action in ("create", "replace", "update", "delete"))
        head.append(f"| `{diff.stack}` | {counts} | {note} |")
    tail = ["", f"<sub>{CAVEAT}</sub>", ""]
    budget = None if max_chars is None else max_chars - len("\n".join(head + tail)) - 200
    sections: list[str] = []
    for diff in diffs:
        body = stack_body(diff)
        if not body:
            continue
        if budget is not None:
            kept: list[str] = []
            for line in body:
                if budget - len(line) - 1 < 0:
                    break
                kept.append(line)
                budget -= len(line) + 1
            if len(kept) < len(body):
                omitted = len(body) - len(kept)
                body = [*kept, f"  … {omitted} more lines: run `make diff BASE={revisions.base}` for the full diff"]
        fence = _fence(body)
        sections += ["", f"#### `{diff.stack}`: {summary(diff)}", "", f"{fence}diff", *body, fence]
    return "\n".join(head + sections + tail)
