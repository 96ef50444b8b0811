"""tests/fixtures/kestra_provider_schema.json: the kestra-io/kestra provider's schema, read from its Go source.

No Terraform registry is reachable here, so `terraform providers schema -json` cannot run. The
provider's schema is plain Go literals instead (terraform-plugin-sdk v2 `map[string]*schema.Schema{...}`
in internal/provider/provider.go and resource_*.go), and this reads them from a checkout of the
provider at a tag: the provider block and every resource that provider.go's `ResourcesMap`
registers. The output has the shape of `terraform providers schema -json` (attributes with
type/required/optional/computed/sensitive, nested blocks as block_types, the `id` attribute the
SDK adds to every resource), plus two keys of ours per attribute: `force_new` and `source` (the
file at the tag it was read from). A literal this parser does not understand is an error naming
the file and the text, never a guess.

    python -m ops.kestra_provider_schema --git-dir PROVIDER.git --tag v1.3.2   # rewrites the fixture

PROVIDER.git is a clone (bare or not) of github.com/kestra-io/terraform-provider-kestra; the tag
must be the pinned provider version (stacks/versions.py), which tests/unit/test_kestra_bindings.py checks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from common.errors import BundleError, CommandLine, run_cli
from stacks.settings import PROJECT_ROOT

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "kestra_provider_schema.json"
PROVIDER_ADDRESS = "registry.terraform.io/kestra-io/kestra"
PROVIDER_FILE = "internal/provider/provider.go"
SOURCE_DIR = "internal/provider"
SCHEMA_MAP = "map[string]*schema.Schema{"
# terraform-plugin-sdk v2 adds this attribute to every resource (schema.Resource.CoreConfigSchema).
SDK_ID = {"type": "string", "optional": True, "computed": True, "source": "terraform-plugin-sdk/v2 (every resource)"}

PRIMITIVES = {"TypeString": "string", "TypeBool": "bool", "TypeInt": "number", "TypeFloat": "number"}
COLLECTIONS = {"TypeList": "list", "TypeSet": "set", "TypeMap": "map"}
FLAGS = ("Required", "Optional", "Computed", "ForceNew", "Sensitive")
# Fields that change nothing in the schema's shape (behaviour, docs, validation).
IGNORED = {
    "Description",
    "Default",
    "DefaultFunc",
    "DiffSuppressFunc",
    "DiffSuppressOnRefresh",
    "StateFunc",
    "ValidateFunc",
    "ValidateDiagFunc",
}


class GoSourceError(BundleError):
    """A literal of the provider's source this parser does not understand."""


def _skip_literal(text: str, index: int) -> int:
    """The index just past the string, rune or comment starting at `index` (or `index` itself)."""
    char = text[index]
    if char in "\"'":
        end = index + 1
        while text[end] != char:
            end += 2 if text[end] == "\\" else 1
        return end + 1
    if char == "`":
        return text.index("`", index + 1) + 1
    if text.startswith("//", index):
        newline = text.find("\n", index)
        return len(text) if newline < 0 else newline
    if text.startswith("/*", index):
        return text.index("*/", index) + 2
    return index


def _closing(text: str, open_index: int) -> int:
    """The index of the bracket closing the one at `open_index` (strings and comments skipped)."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack: list[str] = []
    index = open_index
    while index < len(text):
        skipped = _skip_literal(text, index)
        if skipped != index:
            index = skipped
            continue
        char = text[index]
        if char in pairs:
            stack.append(pairs[char])
        elif char in ")]}":
            if stack.pop() != char:
                raise GoSourceError(f"unbalanced {char!r} at offset {index}")
            if not stack:
                return index
        index += 1
    raise GoSourceError(f"no closing bracket for offset {open_index}")


def _top_level_items(body: str) -> list[str]:
    """The comma-separated items of a composite literal's body, outside nested brackets."""
    items, start, index = [], 0, 0
    while index < len(body):
        skipped = _skip_literal(body, index)
        if skipped != index:
            index = skipped
            continue
        char = body[index]
        if char in "{([":
            index = _closing(body, index) + 1
            continue
        if char == ",":
            items.append(body[start:index])
            start = index + 1
        index += 1
    items.append(body[start:])
    return [item.strip() for item in items if _strip_comments(item).strip()]


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)


def _schema_map_body(text: str, start: int, where: str) -> str:
    """The body of the first `map[string]*schema.Schema{...}` at or after `start`."""
    found = text.find(SCHEMA_MAP, start)
    if found < 0:
        raise GoSourceError(f"{where}: no {SCHEMA_MAP}...}} found")
    open_index = found + len(SCHEMA_MAP) - 1
    return text[open_index + 1 : _closing(text, open_index)]


def _fields(literal: str, where: str) -> dict[str, str]:
    """`Key: value` pairs of a `{...}` or `&schema.Schema{...}` literal."""
    match = re.match(r"(?:&schema\.Schema)?\{", literal)
    if not match or _closing(literal, match.end() - 1) != len(literal) - 1:
        raise GoSourceError(f"{where}: expected a schema.Schema literal, got {literal[:60]!r}")
    fields = {}
    for item in _top_level_items(literal[match.end() : -1]):
        key, sep, value = _strip_comments(item).strip().partition(":")
        if not sep or not re.fullmatch(r"[A-Z]\w*", key.strip()):
            raise GoSourceError(f"{where}: expected `Field: value`, got {item[:60]!r}")
        fields[key.strip()] = value.strip()
    return fields


def _type_of(fields: dict[str, str], where: str) -> str:
    match = re.fullmatch(r"schema\.(Type\w+)", fields.get("Type", ""))
    if not match or (match[1] not in PRIMITIVES and match[1] not in COLLECTIONS):
        raise GoSourceError(f"{where}: unknown Type {fields.get('Type')!r}")
    return match[1]


def _flag(fields: dict[str, str], name: str, where: str) -> bool:
    value = fields.get(name, "false")
    if value not in ("true", "false"):
        raise GoSourceError(f"{where}: {name} is {value!r}, not a literal true/false")
    return value == "true"


def _element_type(fields: dict[str, str], where: str) -> Any:
    """The Terraform type of a collection's element (`Elem: &schema.Schema{Type: ...}`)."""
    elem = fields.get("Elem")
    if elem is None:
        return "string"  # the SDK's default element of a map; a list or set must say
    inner = _fields(elem, f"{where}.Elem")
    return _terraform_type(inner, f"{where}.Elem")


def _terraform_type(fields: dict[str, str], where: str) -> Any:
    kind = _type_of(fields, where)
    if kind in PRIMITIVES:
        return PRIMITIVES[kind]
    if kind != "TypeMap" and "Elem" not in fields:
        raise GoSourceError(f"{where}: a {kind} without Elem")
    return [COLLECTIONS[kind], _element_type(fields, where)]


def _object_type(block: dict[str, Any]) -> list[Any]:
    """A nested block as the SDK reports it when it is computed-only: an object attribute."""
    attributes = {name: spec["type"] for name, spec in block["attributes"].items()}
    for name, nested in block.get("block_types", {}).items():
        attributes[name] = [nested["nesting_mode"], _object_type(nested["block"])]
    return ["object", attributes]


def parse_schema_map(body: str, source: str, where: str) -> dict[str, Any]:
    """A Terraform JSON `block` ({attributes, block_types}) from a schema map's body."""
    attributes: dict[str, Any] = {}
    block_types: dict[str, Any] = {}
    for entry in _top_level_items(body):
        match = re.match(r'"([a-z0-9_]+)"\s*:\s*', _strip_comments(entry).strip())
        if not match:
            raise GoSourceError(f'{where}: expected `"name": {{...}}`, got {entry[:60]!r}')
        name, here = match[1], f"{where}.{match[1]}"
        fields = _fields(_strip_comments(entry).strip()[match.end() :].strip(), here)
        unknown = set(fields) - set(FLAGS) - IGNORED - {"Type", "Elem", "MaxItems", "MinItems"}
        if unknown:
            raise GoSourceError(f"{here}: fields this parser does not know: {sorted(unknown)}")
        flags = {flag: _flag(fields, flag, here) for flag in FLAGS}
        if flags["Required"] and "DefaultFunc" in fields:
            raise GoSourceError(f"{here}: Required with a DefaultFunc (the SDK may report it optional)")
        kind = _type_of(fields, here)
        elem = fields.get("Elem", "")
        if kind in ("TypeList", "TypeSet") and elem.startswith("&schema.Resource{"):
            nested = _fields(elem.removeprefix("&schema.Resource"), f"{here}.Elem")
            if set(nested) != {"Schema"}:
                raise GoSourceError(f"{here}.Elem: a schema.Resource with more than Schema: {sorted(nested)}")
            block = parse_schema_map(_schema_map_body(elem, 0, here), source, here)
            if flags["Computed"] and not flags["Optional"]:
                attributes[name] = _spec([COLLECTIONS[kind], _object_type(block)], flags, source)
                continue
            min_items = int(fields.get("MinItems", "0"))
            if flags["Required"] and min_items == 0:
                min_items = 1
            if flags["Optional"]:
                min_items = 0
            nested_block: dict[str, Any] = {"nesting_mode": COLLECTIONS[kind], "block": block}
            if min_items:
                nested_block["min_items"] = min_items
            if int(fields.get("MaxItems", "0")):
                nested_block["max_items"] = int(fields["MaxItems"])
            nested_block.update({"force_new": flags["ForceNew"], "source": source})
            block_types[name] = nested_block
            continue
        attributes[name] = _spec(_terraform_type(fields, here), flags, source)
    result: dict[str, Any] = {"attributes": dict(sorted(attributes.items()))}
    if block_types:
        result["block_types"] = dict(sorted(block_types.items()))
    return result


def _spec(terraform_type: Any, flags: dict[str, bool], source: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": terraform_type}
    for flag in ("Required", "Optional", "Computed", "Sensitive"):
        if flags[flag]:
            spec[flag.lower()] = True
    spec["force_new"] = flags["ForceNew"]
    spec["source"] = source
    return spec


def _registered(provider_go: str, map_name: str) -> dict[str, str]:
    """`"kestra_flow": resourceFlow(),` entries of provider.go's ResourcesMap -> constructor names."""
    start = provider_go.index(f"{map_name}: map[string]*schema.Resource{{")
    open_index = provider_go.index("{", start)
    body = provider_go[open_index + 1 : _closing(provider_go, open_index)]
    return dict(re.findall(r'"(kestra_\w+)"\s*:\s*(\w+)\(\)', body))


def build(files: dict[str, str], tag: str) -> dict[str, Any]:
    """The fixture's content from the provider's Go files (path at the tag -> text)."""
    provider_go = files[PROVIDER_FILE]
    provider_block = parse_schema_map(_schema_map_body(provider_go, 0, PROVIDER_FILE), PROVIDER_FILE, "provider")
    resources = {}
    for resource_type, constructor in sorted(_registered(provider_go, "ResourcesMap").items()):
        pattern = re.compile(rf"^func {constructor}\(\) \*schema\.Resource \{{", re.M)
        hits = [(path, found) for path, text in files.items() if (found := pattern.search(text))]
        if len(hits) != 1:
            raise GoSourceError(f"{resource_type}: {len(hits)} definitions of func {constructor}() found")
        path, found = hits[0]
        block = parse_schema_map(_schema_map_body(files[path], found.end(), path), path, resource_type)
        block["attributes"].setdefault("id", SDK_ID)
        block["attributes"] = dict(sorted(block["attributes"].items()))
        resources[resource_type] = {"block": block}
    return {
        "//": (
            f"Generated by `python -m ops.kestra_provider_schema --tag {tag}` from the Go source of "
            f"kestra-io/terraform-provider-kestra at {tag}; do not edit. Shape of `terraform providers "
            "schema -json`, plus force_new and source (the file each attribute is defined in) per attribute."
        ),
        "format_version": "1.0",
        "provider_version": tag.removeprefix("v"),
        "provider_schemas": {
            PROVIDER_ADDRESS: {"provider": {"block": provider_block}, "resource_schemas": resources},
        },
    }


def read_tag(git_dir: Path, tag: str) -> dict[str, str]:
    """The non-test Go files of internal/provider at the tag."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, text=True)
        if done.returncode:
            raise BundleError(f"git --git-dir={git_dir} {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    paths = git("ls-tree", "-r", "--name-only", tag, "--", SOURCE_DIR).split()
    return {path: git("show", f"{tag}:{path}") for path in paths if path.endswith(".go") and "_test" not in path}


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(prog="python -m ops.kestra_provider_schema", description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", type=Path, required=True, help="a clone of kestra-io/terraform-provider-kestra")
    parser.add_argument("--tag", required=True, help="the pinned provider version's tag, e.g. v1.3.2")
    parser.add_argument("--output", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)
    git_dir = args.git_dir / ".git" if (args.git_dir / ".git").is_dir() else args.git_dir
    schema = build(read_tag(git_dir, args.tag), args.tag)
    args.output.write_text(json.dumps(schema, indent=2) + "\n")
    print(f"wrote {args.output} ({len(schema['provider_schemas'][PROVIDER_ADDRESS]['resource_schemas'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
