"""Inventories: what each stack variant must create, one YAML file per variant, read by one test.

The model is Cloud Foundation Fabric's inventory tests (`tests/modules/*/examples/*.yaml` there):
a variant is an environment, and what it must produce is written down as data rather than as
Python assertions. A file of tests/inventories/ holds, in this order:

    stack: local | gcp      the stack synthesized
    env: {NAME: value}      the settings' environment, all of it (tests.support.synth.BASE_ENV
                            is below it; nothing of the machine's environment is read)
    complete: true          optional: the file lists everything the stack holds (see below)
    counts: {type: n}       the exact number of resources of each type; a type not listed: none
    values: {path: {...}}   per resource, by its construct path (cdktf's `//` metadata.path, e.g.
                            local/kestra or gcp/lake/data/bucket, never the hash-suffixed logical
                            id), the attributes that matter
    outputs, providers, variables, terraform: the stack's other blocks, by name

Everything listed is a subset: a block names the keys it means, at any depth; a list is compared
item by item and must have as many items; `null` means "not set" (the key is absent). Strings,
numbers and booleans must be equal, type included (true is not 1). A `complete` file also fails
on what it does not list (a resource, an attribute, an output, a block), so nothing can change
unseen. Flow texts and dbt namespace-file texts are never listed (OMITTED): other tests compare
them with their files.

`make inventory-update` (`python -m tests.support.inventory`) rewrites the files from the code:
the counts; in a complete file everything; otherwise the values of exactly the keys the file
lists (a resource whose path is gone is dropped, and said so). The comment at the top of a file
is kept, nothing else of its formatting. Review the diff like code.

Hand-written on purpose: snapshot libraries (syrupy, pytest-regressions' data_regression) compare
and rewrite whole documents; none compares a subset the file chooses and rewrites just that.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.errors import BundleError, CommandLine, run_cli
from flowcheck import strict_yaml
from stacks.settings import PROJECT_ROOT, STACK_NAMES
from tests.support.synth import synth_with_paths

INVENTORIES = PROJECT_ROOT / "tests" / "inventories"
# Attributes never listed, and the test that checks them against their source files instead.
OMITTED: dict[str, dict[str, str]] = {
    "kestra_flow": {"content": "tests/unit/test_local_stack.py::test_one_kestra_flow_per_file_with_the_file_text"},
    "kestra_namespace_file": {
        "content": "tests/unit/test_dbt_namespace_files.py::test_local_stack_ships_exactly_the_catalog"
    },
}
# Inventory section -> the top-level key of the Terraform JSON it reads.
SECTIONS = {"outputs": "output", "providers": "provider", "variables": "variable", "terraform": "terraform"}
KEYS = ("stack", "env", "complete", "counts", "values", *SECTIONS)
UPDATE_COMMAND = "make inventory-update"


class InventoryError(BundleError):
    """An inventory file that cannot be read as one."""


def stack_view(synth: Mapping[str, Any], paths: Mapping[str, str]) -> dict[str, Any]:
    """The synthesized stack as an inventory lists it: counts, resources by construct path, blocks."""
    resources = synth.get("resource", {})
    values = {
        paths[f"{resource_type}.{name}"]: {
            key: value for key, value in body.items() if key not in OMITTED.get(resource_type, {})
        }
        for resource_type, blocks in resources.items()
        for name, body in blocks.items()
    }
    view: dict[str, Any] = {
        "counts": {resource_type: len(blocks) for resource_type, blocks in sorted(resources.items())},
        "values": dict(sorted(values.items())),
    }
    view |= {section: synth[key] for section, key in SECTIONS.items() if key in synth}
    # Anything else cdktf could write (data sources, locals, modules): listed nowhere, so a
    # complete inventory reports it.
    view["other"] = {key: value for key, value in synth.items() if key not in {"resource", *SECTIONS.values()}}
    return view


@dataclass(frozen=True)
class Inventory:
    path: Path
    header: str  # the comment lines at the top of the file, kept when it is rewritten
    data: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Inventory:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        count = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        where = _relative(path)
        try:
            data = strict_yaml.load_unique(text) or {}  # a repeated key would hide what the file meant
        except strict_yaml.DuplicateKeyError as error:
            line = f"line {error.problem_mark.line + 1}: " if error.problem_mark else ""
            raise InventoryError(f"{where}: {line}{error.problem}; keep one") from None
        except yaml.YAMLError as error:
            raise InventoryError(f"{where}: not YAML: {error}".replace("\n", " ")) from None
        if not isinstance(data, dict) or data.get("stack") not in STACK_NAMES:
            raise InventoryError(f"{where}: `stack:` must be one of {', '.join(STACK_NAMES)}")
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise InventoryError(f"{where}: unknown key(s) {', '.join(unknown)}; an inventory holds {', '.join(KEYS)}")
        env = data.get("env") or {}
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in env.items()):
            raise InventoryError(f"{where}: `env:` maps variable names to strings (quote true, numbers)")
        return cls(path, "".join(lines[:count]), data)

    @property
    def stack(self) -> str:
        return str(self.data["stack"])

    @property
    def env(self) -> dict[str, str]:
        return dict(self.data.get("env") or {})

    @property
    def complete(self) -> bool:
        return self.data.get("complete") is True

    def problems(self, view: Mapping[str, Any]) -> list[str]:
        """One readable entry per difference between the stack's view and this file; none: it holds."""
        got, wanted = view["counts"], self.data.get("counts") or {}
        problems = [
            f"counts.{kind}: expected {wanted.get(kind, 'none')}, got {got.get(kind, 'none')}"
            for kind in sorted(set(got) | set(wanted))
            if got.get(kind, 0) != wanted.get(kind, 0)
        ]
        listed = self.data.get("values") or {}
        for path, expected in listed.items():
            if path not in view["values"]:
                problems.append(f"{path}: not in the stack")
            else:
                problems += differences(expected, view["values"][path], path, self.complete)
        if self.complete:
            problems += [f"{path}: not in the inventory" for path in view["values"] if path not in listed]
        for section in SECTIONS:
            if section in self.data or self.complete:
                problems += differences(self.data.get(section) or {}, view.get(section, {}), section, self.complete)
        if self.complete:
            problems += [f"{key}: not in the inventory ({_short(value)})" for key, value in view["other"].items()]
        return problems

    def regenerated(self, view: Mapping[str, Any], *, full: bool = False) -> tuple[dict[str, Any], list[str]]:
        """This file's data rewritten from the stack's view, and one line per resource dropped."""
        data: dict[str, Any] = {"stack": self.stack, "env": self.env}
        if self.complete:
            data["complete"] = True
        data["counts"] = dict(view["counts"])
        listed = self.data.get("values") or {}
        if self.complete or full:
            data["values"] = dict(view["values"])
        else:
            data["values"] = {
                path: _project(value, view["values"][path]) for path, value in listed.items() if path in view["values"]
            }
        dropped = [f"{path}: not in the stack any more, dropped" for path in listed if path not in view["values"]]
        if not data["values"]:
            del data["values"]
        for section in SECTIONS:
            if self.complete or full:
                if section in view:
                    data[section] = view[section]
            elif section in self.data:
                data[section] = _project(self.data[section], view.get(section, {}))
        return data, dropped

    def text(self, data: Mapping[str, Any]) -> str:
        """The file as `make inventory-update` writes it: the header, then the data."""
        return self.header + dump(data)


def differences(expected: Any, actual: Any, where: str, complete: bool = False) -> list[str]:
    """Where `actual` does not hold `expected` (a subset; `null`: not set), one entry each."""
    if expected is None or actual is None:
        if expected is None and actual is None:
            return []
        if expected is None:
            return [f"{where}: expected not set, got {_short(actual)}"]
        return [f"{where}: not set, expected {_short(expected)}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a block, got {_short(actual)}"]
        problems = [
            p for key, value in expected.items() for p in differences(value, actual.get(key), _at(where, key), complete)
        ]
        if complete:
            problems += [
                f"{_at(where, key)}: not in the inventory ({_short(value)})"
                for key, value in actual.items()
                if key not in expected
            ]
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {_short(actual)}"]
        if len(expected) != len(actual):
            return _list_diff(expected, actual, where, complete)
        return [
            p
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for p in differences(e, a, f"{where}[{i}]", complete)
        ]
    if type(expected) is type(actual) and expected == actual:
        return []
    if isinstance(expected, str) and isinstance(actual, str) and "\n" in expected + actual:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "expected", "got", n=1, lineterm="")
        return [f"{where}: the text differs", *(f"    {line}" for line in diff)]
    return [f"{where}: expected {_short(expected)}, got {_short(actual)}"]


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _list_diff(expected: Sequence[Any], actual: Sequence[Any], where: str, complete: bool) -> list[str]:
    """Lists of different lengths: the items aligned (difflib), then what differs, added or went."""
    keys = (
        [json.dumps(item, sort_keys=True) for item in expected],
        [json.dumps(item, sort_keys=True) for item in actual],
    )
    problems = [f"{where}: expected {len(expected)} item(s), got {len(actual)}"]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *keys, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            problems += [
                f"    {line}"
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                for line in differences(expected[i], actual[j], f"{where}[{j}]", complete)
            ]
        elif tag != "equal":
            problems += [f"    - {_short(expected[i])}" for i in range(i1, i2)]
            problems += [f"    + {_short(actual[j])}" for j in range(j1, j2)]
    return problems


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _project(expected: Any, actual: Any) -> Any:
    """`actual` cut to the keys `expected` lists (what a subset inventory keeps when rewritten)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {key: _project(value, actual.get(key)) for key, value in expected.items()}
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [_project(e, a) for e, a in zip(expected, actual, strict=True)]
    return actual


# ---- YAML as people read it: short scalar collections on one line, texts as literal blocks ----


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _one_line(value: Mapping[str, Any] | Sequence[Any]) -> bool:
    items = value.values() if isinstance(value, Mapping) else value
    scalars = all(item is None or isinstance(item, (bool, int, float, str)) for item in items)
    return (
        scalars and not any(isinstance(item, str) and "\n" in item for item in items) and len(_short(value, 999)) <= 90
    )


_Dumper.add_representer(
    dict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=_one_line(v))
)
_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=_one_line(v)))
_Dumper.add_representer(
    str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None)
)


class _Block(dict):  # type: ignore[type-arg]
    """A mapping always written one key a line (the environment, the counts)."""


_Dumper.add_representer(_Block, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=False))


def dump(data: Mapping[str, Any]) -> str:
    blocks = {key: _Block(value) for key in ("env", "counts") if isinstance(value := data.get(key), dict) and value}
    return yaml.dump({**data, **blocks}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


# ---- reading the files and synthesizing their stacks ----------------------------------------


def inventory_files() -> list[Path]:
    return sorted(INVENTORIES.glob("*.yaml"))


def synthesized_view(inventory: Inventory) -> dict[str, Any]:
    return stack_view(*synth_with_paths(inventory.stack, inventory.env))


def failure_report(inventory: Inventory, problems: Sequence[str]) -> str:
    return "\n".join(
        [
            f"{_relative(inventory.path)}: {sum(not line.startswith(' ') for line in problems)} difference(s) "
            f"from the {inventory.stack} stack synthesized "
            f"with its env; if the change is intended, run `{UPDATE_COMMAND}` and review the diff",
            *problems,
        ]
    )


def _relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def update(paths: Sequence[Path], *, full: bool = False) -> list[str]:
    """Rewrite each file from the code; one line per file (and per resource dropped)."""
    report = []
    for path in paths:
        inventory = Inventory.load(path)
        data, dropped = inventory.regenerated(synthesized_view(inventory), full=full)
        text = inventory.text(data)
        changed = text != path.read_text(encoding="utf-8")
        if changed:
            path.write_text(text, encoding="utf-8")
        report += [f"{_relative(path)}: {'rewritten' if changed else 'unchanged'}", *(f"  {line}" for line in dropped)]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m tests.support.inventory",
        description="Rewrite the stack inventories (tests/inventories/*.yaml) from the current code.",
    )
    parser.add_argument("files", nargs="*", type=Path, help="inventory files (default: all of tests/inventories/)")
    parser.add_argument(
        "--full", action="store_true", help="list every resource with all its attributes (to start a new file)"
    )
    args = parser.parse_args(argv)
    try:
        lines = update([path.resolve() for path in args.files] or inventory_files(), full=args.full)
    except pytest.skip.Exception as error:  # the flow catalog's verdict: the flows do not load
        raise BundleError(error.msg) from None
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
