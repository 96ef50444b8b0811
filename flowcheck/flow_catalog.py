"""The flow catalog: every YAML file in flows/ is one Kestra flow, read and checked once.

The file is the single source of truth (Kestra's own flows-as-code advice): id and
namespace come from inside it, and Terraform ships its text verbatim. Anything Kestra
would reject at deploy time (checked structurally here, then by flowcheck/flow_lint.py), or
that would make two files fight over one flow, stops synth with one line per problem
naming the file and the fix.

This is the one verdict on a folder of flows: synth, the doctor, `make check-flows`
(`python -m flowcheck.flow_catalog`) and the tests all ask `check_flow_catalog`, so a file
whose name is not its id, or a second file with the same id, is refused by every one of them.

Each file is parsed once (flowcheck/strict_yaml.py, which also notes repeated keys for the flow
checker) and checked once per run: the verdict on a file is kept for its path and text, so a
process that asks again (a gcp synth builds both stacks, the tests ask often) reads the file but
neither parses nor checks it again while its text is the same.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.errors import BundleError, CommandLine, run_cli
from flowcheck import DEFAULT_FLOWS_DIR, flow_paths, strict_yaml
from flowcheck.flow_lint import lint_report_parsed
from flowcheck.kestra_ids import KESTRA_ID_MAX_LENGTH, KESTRA_ID_PATTERN, KESTRA_NAMESPACE_PATTERN

READ_ONLY_LABEL = "system.readOnly"
# One label line `system.readOnly: "true"` (quotes optional, a trailing comment allowed).
_READ_ONLY_LINE = re.compile(
    r"""^[ \t]+["']?system\.readOnly["']?[ \t]*:[ \t]*["']?true["']?[ \t]*(?:#.*)?(?:\r?\n|\Z)""",
    re.MULTILINE,
)
# A `labels:` header left empty, with the blank line after it (so pull_flows can put it back as it was).
_EMPTY_LABELS = re.compile(r"^labels:[ \t]*(?:#.*)?(?:\r?\n|\Z)(?:[ \t]*\r?\n)?", re.MULTILINE)


class FlowCatalogError(BundleError):
    """A flow file Kestra would reject, or that conflicts with another."""


@dataclass(frozen=True)
class FlowFile:
    path: Path
    namespace: str
    flow_id: str
    content: str
    document: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.flow_id}"

    @functools.cached_property
    def editable_content(self) -> str:
        """The file's text without its `system.readOnly: "true"` label, for the local stack.

        The label turns Kestra's editor off, which is right where Git is the truth (the GCE
        stack syncs these files from Git) and wrong on a learner's laptop, where the course's
        exercises are edits in the UI. The text is edited line by line so comments and layout
        stay as written; the result is re-parsed and must equal the file minus that one label.
        """
        labels = self.document.get("labels")
        if not isinstance(labels, dict) or READ_ONLY_LABEL not in labels:
            return self.content
        text = _READ_ONLY_LINE.sub("", self.content, count=1)
        remaining = {k: v for k, v in labels.items() if k != READ_ONLY_LABEL}
        if not remaining:
            text = _EMPTY_LABELS.sub("", text, count=1)
        expected = {k: v for k, v in self.document.items() if k != "labels"}
        if remaining:
            expected["labels"] = remaining
        if yaml.safe_load(text) != expected:
            raise _fail(self.path, f'write the label on its own line as {READ_ONLY_LABEL}: "true" under labels:')
        return text


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _fail(path: Path, problem: str) -> FlowCatalogError:
    return FlowCatalogError(f"{_display(path)}: {problem}")


def _parse(path: Path, content: str) -> tuple[dict[str, Any], list[strict_yaml.DuplicateKeyError]]:
    try:
        document, duplicates = strict_yaml.load_noting_duplicates(content)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise _fail(path, f"invalid YAML at {where}: {error.problem}; fix the syntax there") from None
    except yaml.YAMLError as error:
        raise _fail(path, f"invalid YAML: {error}") from None
    if not isinstance(document, dict):
        raise _fail(path, "must be a YAML mapping with id, namespace and tasks at the top level")
    return document, duplicates


def _required_string(path: Path, document: dict[str, Any], field: str) -> str:
    value = document.get(field)
    if value is None:
        raise _fail(path, f"missing required field '{field}'; add `{field}: ...` at the top level")
    if not isinstance(value, str) or not value:
        raise _fail(path, f"field '{field}' must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class _Verdict:
    """One file's verdict: the flow (None when refused), its problems and its warnings, one line each."""

    flow: FlowFile | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text; save it as UTF-8") from None


@functools.lru_cache(maxsize=512)
def _verdict(path: Path, content: str, label: str) -> _Verdict:
    """The checks of one file's text, in the order synth has always reported them: structure first
    (one problem), then the flow checker's errors; warnings whenever the text parses as a mapping."""
    try:
        document, duplicates = _parse(path, content)
    except FlowCatalogError as error:
        return _Verdict(None, (str(error),), ())
    # The full static validation (plugin types, required properties, inputs, triggers, Pebble
    # references): a flow Kestra would reject, or that fails at its first run, stops synth here.
    report = lint_report_parsed(document, duplicates, label)
    warnings = tuple(report.warnings)
    try:
        flow = _structure(path, content, document)
    except FlowCatalogError as error:
        return _Verdict(None, (str(error),), warnings)
    if report.errors:
        return _Verdict(None, tuple(report.errors), warnings)
    return _Verdict(flow, (), warnings)


def _structure(path: Path, content: str, document: dict[str, Any]) -> FlowFile:
    flow_id = _required_string(path, document, "id")
    namespace = _required_string(path, document, "namespace")
    tasks = document.get("tasks")
    if tasks is None:
        raise _fail(path, "missing required field 'tasks'; a flow needs a non-empty list of tasks")
    if not isinstance(tasks, list) or not tasks:
        raise _fail(path, "field 'tasks' must be a non-empty list of tasks")
    if not KESTRA_ID_PATTERN.match(flow_id) or len(flow_id) > KESTRA_ID_MAX_LENGTH:
        raise _fail(
            path,
            f"id {flow_id!r} is not a valid Kestra id: use letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, at most {KESTRA_ID_MAX_LENGTH} characters",
        )
    if not KESTRA_NAMESPACE_PATTERN.match(namespace):
        raise _fail(
            path,
            f"namespace {namespace!r} is not a valid Kestra namespace: use lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit",
        )
    if path.stem != flow_id:
        raise _fail(path, f"file name does not match its id {flow_id!r}; rename the file to {flow_id}{path.suffix}")
    return FlowFile(path=path, namespace=namespace, flow_id=flow_id, content=content, document=document)


def _check_file(path: Path) -> _Verdict:
    try:
        content = _read(path)
    except FlowCatalogError as error:
        return _Verdict(None, (str(error),), ())
    return _verdict(path, content, _display(path))


def parse_flow_file(path: Path) -> FlowFile:
    """Read one flow file and check what Kestra and the catalog need of it."""
    verdict = _check_file(path)
    if verdict.flow is None:
        raise FlowCatalogError("\n".join(verdict.problems))
    return verdict.flow


@dataclass(frozen=True)
class CatalogVerdict:
    flows: tuple[FlowFile, ...]  # the files that passed, in file-name order
    problems: dict[Path, list[str]] = field(default_factory=dict)  # file -> its problems, one line each
    warnings: dict[Path, list[str]] = field(default_factory=dict)  # file -> the flow checker's warnings

    def lines(self) -> list[str]:
        return [line for lines in self.problems.values() for line in lines]


def check_flow_catalog(flows_dir: Path) -> CatalogVerdict:
    """Every flow file of `flows_dir` checked: alone (structure, Kestra's rules) and against the
    others (one file per flow id); each file's problems, not only the first file's."""
    if not flows_dir.is_dir():
        raise FlowCatalogError(f"{_display(flows_dir)}: flows folder not found; create it or point to it")
    flows: list[FlowFile] = []
    problems: dict[Path, list[str]] = {}
    warnings: dict[Path, list[str]] = {}
    seen: dict[str, Path] = {}
    for path in flow_paths(flows_dir):
        verdict = _check_file(path)
        if verdict.warnings:
            warnings[path] = list(verdict.warnings)
        flow = verdict.flow
        if flow is None:
            problems[path] = "\n".join(verdict.problems).splitlines()
            continue
        if flow.key in seen:
            problems[path] = [
                f"{_display(path)}: flow {flow.key} is already defined by {_display(seen[flow.key])}; "
                "give one of them another id"
            ]
            continue
        seen[flow.key] = path
        flows.append(flow)
    for flow in flows:
        for where, flow_id in _called_flows(flow.document, flow.namespace):
            if f"{flow.namespace}/{flow_id}" not in seen:
                problems.setdefault(flow.path, []).append(
                    f"{_display(flow.path)}: {where} calls flow {flow.namespace}.{flow_id}, which no file of "
                    f"{_display(flows_dir)} defines; fix the flowId or add {flow_id}.yaml"
                )
    return CatalogVerdict(tuple(f for f in flows if f.path not in problems), problems, warnings)


def _called_flows(value: Any, namespace: str, where: str = "flow") -> list[tuple[str, str]]:
    """Every literal `flowId` naming a flow of the same namespace (a Subflow, a flow trigger's
    condition), with where it is: Kestra accepts a call to a missing flow and fails only when it runs."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        flow_id = value.get("flowId")
        if isinstance(flow_id, str) and "{{" not in flow_id and value.get("namespace", namespace) == namespace:
            found.append((where, flow_id))
        for key, inner in value.items():
            found.extend(_called_flows(inner, namespace, f"{where}.{key}"))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_called_flows(inner, namespace, f"{where}[{index}]"))
    return found


def load_flow_catalog(flows_dir: Path) -> tuple[FlowFile, ...]:
    """All flows in `flows_dir` (not recursive), sorted by file name, with no duplicates; else one
    FlowCatalogError with a line per problem of every file."""
    verdict = check_flow_catalog(flows_dir)
    if verdict.problems:
        raise FlowCatalogError("\n".join(verdict.lines()))
    return verdict.flows


def main(argv: list[str] | None = None) -> int:
    """`python -m flowcheck.flow_catalog [FOLDER]` (`make check-flows`): warnings on stderr; the errors
    synth would stop on, one line each and exit 1; else a summary. FOLDER defaults to flows/."""
    parser = CommandLine(
        prog="python -m flowcheck.flow_catalog",
        description="Validate a folder of flows offline, with synth's own verdict (make check-flows).",
    )
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FLOWS_DIR, help="default: flows/")
    flows_dir = parser.parse_args(argv).folder
    verdict = check_flow_catalog(flows_dir)
    for warning in (w for lines in verdict.warnings.values() for w in lines):
        print(warning, file=sys.stderr)
    if verdict.problems:
        raise FlowCatalogError("\n".join(verdict.lines()))
    print(f"{len(verdict.flows)} flow file(s) valid: {', '.join(_display(f.path) for f in verdict.flows)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
