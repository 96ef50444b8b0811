"""Offline checks of one flow file: only what Kestra cannot judge on this machine.

Kestra judges the flows itself in the tests: its FlowService validates every file
(tests/flows/test_kestra_judge.py), its renderer renders every expression
(tests/flows/test_kestra_renders_flows.py) and its task code runs the core-only flows. What Kestra
cannot load here are the plugins (their Maven artifacts are not served), and a learner's machine
has no Kestra at synth time. So this module keeps three things:

- errors, each one Kestra refuses when the flow is saved and each knowable offline: a task, trigger,
  task runner or nested plugin whose type is not one we know, that misses a required property or
  has an unknown one (flowcheck/kestra_plugins.py: the plugins' lists traced to their source, the
  core types' lists as Kestra itself reports them). They stop `cdktf synth` and `make check-flows`.
- warnings of this project's policy, named `policy`, that never block: container images pinned,
  label values written as strings; `deprecated` for old type aliases Kestra still maps;
  `runtime` for a repeated YAML key (Kestra keeps only the last value).
- the file-level rules (file name = id, one file per id, namespace) live in flowcheck/flow_catalog.py.

    from flowcheck.flow_lint import check_flow_file, lint_report_file
    lint_report_file(Path("flows/04_postgres_taxi.yaml"))   # LintReport(errors, warnings)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from common.errors import BundleError, CommandLine, run_cli
from flowcheck import DEFAULT_FLOWS_DIR, flow_paths, strict_yaml
from flowcheck import kestra_plugins as kp


class FlowLintError(BundleError):
    """A flow file Kestra would reject."""


WarningKind = Literal["policy", "runtime", "deprecated"]


@dataclass(frozen=True)
class LintReport:
    """One flow's verdict: errors (Kestra rejects it) and warnings (it does not; see the docstring)."""

    errors: list[str]
    warnings: list[str]


@dataclass
class _Flow:
    label: str
    doc: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    defaults: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{self.label}: {where}: {message}")

    def warn(self, kind: WarningKind, where: str, message: str) -> None:
        self.warnings.append(f"{self.label}: warning ({kind}): {where}: {message}")


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---- public API ---------------------------------------------------------------------------------


def lint_report_text(text: str, label: str) -> LintReport:
    """Errors and warnings of one flow's YAML text, one line each, prefixed with `label`."""
    try:
        document, duplicates = strict_yaml.load_noting_duplicates(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        return LintReport([f"{label}: {where}: invalid YAML: {error.problem or error.context}"], [])
    except yaml.YAMLError as error:
        return LintReport([f"{label}: invalid YAML: {error}"], [])
    return lint_report_parsed(document, duplicates, label)


def lint_report_parsed(document: Any, duplicates: Sequence[strict_yaml.DuplicateKeyError], label: str) -> LintReport:
    """The same verdict for a flow already parsed by `strict_yaml.load_noting_duplicates`, so that a
    caller which needs the document too (the flow catalog) parses the file once."""
    warnings = [
        f"{label}: warning (runtime): line {duplicate.problem_mark.line + 1}, {duplicate.problem}; "
        "Kestra keeps only the last value"
        for duplicate in duplicates
        if duplicate.problem_mark is not None
    ]
    if not isinstance(document, dict):
        return LintReport([f"{label}: a flow must be a YAML mapping with id, namespace and tasks"], warnings)
    flow = _Flow(label, document, warnings=warnings)
    _check_flow(flow)
    return LintReport(flow.problems, flow.warnings)


def lint_flow_text(text: str, label: str) -> list[str]:
    """The errors of one flow's YAML text (what Kestra would reject), one line each."""
    return lint_report_text(text, label).errors


def lint_report_file(path: Path) -> LintReport:
    """Errors and warnings of one flow file; messages start with the file's path."""
    label = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return LintReport([f"{label}: cannot read the file ({error}); save it as UTF-8 text"], [])
    return lint_report_text(text, label)


def lint_flow_file(path: Path) -> list[str]:
    """The errors of one flow file (what Kestra would reject); messages start with the file's path."""
    return lint_report_file(path).errors


def check_flow_file(path: Path) -> None:
    """Raise FlowLintError (one line per problem) if Kestra would reject the flow file."""
    problems = lint_flow_file(path)
    if problems:
        raise FlowLintError("\n".join(problems))


def main(argv: list[str] | None = None) -> int:
    """`python -m flowcheck.flow_lint [FILE ...]`: warnings on stderr; exit 1 and one line per error, else a summary."""
    parser = CommandLine(
        prog="python -m flowcheck.flow_lint",
        description="Check flow files offline: errors (Kestra rejects the flow) exit 1; warnings never do.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="flow files (default: flows/*.yaml)")
    paths = parser.parse_args(argv).files or flow_paths(DEFAULT_FLOWS_DIR)
    reports = [lint_report_file(path) for path in paths]
    for warning in (w for report in reports for w in report.warnings):
        print(warning, file=sys.stderr)
    problems = [p for report in reports for p in report.errors]
    if problems:
        raise FlowLintError("\n".join(problems))
    print(f"{len(paths)} flow file(s) valid: {', '.join(display_path(p) for p in paths)}")
    return 0


# ---- rules --------------------------------------------------------------------------------------


def _check_flow(flow: _Flow) -> None:
    _check_labels(flow)
    _collect_plugin_defaults(flow)
    for where, node in _tasks(flow.doc):
        _check_plugin(flow, where, node, "task")
    triggers = flow.doc.get("triggers")
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if isinstance(trigger, dict):
            _check_plugin(flow, f"trigger '{trigger.get('id', index)}'", trigger, "trigger")


def _check_labels(flow: _Flow) -> None:
    labels = flow.doc.get("labels")
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        if not isinstance(value, str):
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            flow.warn("policy", "labels", f"label '{key}' should be a string: quote it, e.g. {key}: \"{shown}\"")


def _collect_plugin_defaults(flow: _Flow) -> None:
    entries = flow.doc.get("pluginDefaults")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("type"), str) and isinstance(entry.get("values"), dict):
            flow.defaults.append((entry["type"], entry["values"]))


def _tasks(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every task of the flow with its place (`tasks[2].then[0]`), nested ones included."""

    def visit(tasks: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for index, node in enumerate(tasks if isinstance(tasks, list) else []):
            if not isinstance(node, dict):
                continue
            path = f"{where}[{index}]"
            yield path, node
            spec = kp.PLUGINS.get(node.get("type")) if isinstance(node.get("type"), str) else None
            for key in spec.task_lists if spec else ():
                yield from visit(node.get(key), f"{path}.{key}")
            for key in spec.task_maps if spec else ():
                cases = node.get(key)
                for case, children in cases.items() if isinstance(cases, dict) else ():
                    yield from visit(children, f"{path}.{key}.{case}")

    for section in ("tasks", "errors", "finally", "afterExecution"):
        yield from visit(doc.get(section), section)


def _check_plugin(flow: _Flow, where: str, node: dict[str, Any], kind: kp.Kind) -> None:
    """A task or trigger: a type Kestra knows, its required properties, no unknown one; then its
    task runner and nested plugins the same way, and the image policy."""
    if "id" in node and kind == "task":
        where = f"task '{node['id']}'"
    type_ = node.get("type")
    if not isinstance(type_, str) or not type_:
        flow.fail(where, "missing 'type'")
        return
    spec = kp.PLUGINS.get(type_)
    if spec is None or spec.kind != kind:
        _unknown_type(flow, where, type_, kind)
        return
    _check_required(flow, where, type_, node, spec)
    common = kp.COMMON_TASK_KEYS if kind == "task" else kp.COMMON_TRIGGER_KEYS
    _check_known_properties(flow, where, type_, node, spec, common | set(spec.task_lists) | set(spec.task_maps))
    if kind == "task":
        _check_runner(flow, where, node, spec)
        _check_nested_plugins(flow, where, node, spec)


def _check_required(flow: _Flow, where: str, type_: str, node: dict[str, Any], spec: kp.PluginSpec) -> None:
    """The plugin's required properties, given in the node or by a pluginDefaults entry for its type."""
    present = set(node)
    for default_type, values in flow.defaults:
        if type_ == default_type or type_.startswith(default_type + "."):
            present |= set(values)
    missing = sorted(spec.required - present)
    if missing:
        flow.fail(
            where, f"{type_} requires {', '.join(missing)}; add {' and '.join(missing)} (or set it in pluginDefaults)"
        )


def _check_known_properties(
    flow: _Flow, where: str, type_: str, node: dict[str, Any], spec: kp.PluginSpec, common: frozenset[str] | set[str]
) -> None:
    """Kestra rejects a property its plugin does not have ("Unrecognized field") when the flow is saved."""
    if spec.properties is None:
        return
    for key in node:
        if key not in common and key not in spec.properties:
            flow.fail(where, f"'{key}' is not a property of {type_}; Kestra rejects the flow (check its plugin page)")


def _unknown_type(flow: _Flow, where: str, type_: str, kind: str) -> None:
    """Kestra 1.x still maps the old aliases (it says so as a deprecation); any other unknown type it rejects."""
    if type_ in kp.ALIASES:
        flow.warn("deprecated", where, f"type {type_} is a deprecated alias; use {kp.ALIASES[type_]}")
    elif type_.startswith(kp.DEPRECATED_PREFIXES):
        flow.warn(
            "deprecated",
            where,
            f"type {type_} is a deprecated alias (io.kestra.core.*); use the io.kestra.plugin.core.* name",
        )
    elif (spec := kp.PLUGINS.get(type_)) is not None:
        flow.fail(where, f"type {type_} is a {spec.kind}, not a {kind}")
    else:
        flow.fail(
            where,
            f"type {type_} is not a Kestra 1.x plugin type we know (flowcheck/kestra_plugins.py); check the spelling",
        )


def _check_runner(flow: _Flow, where: str, node: dict[str, Any], spec: kp.PluginSpec) -> None:
    runner = node.get("taskRunner")
    runner_type = runner.get("type") if isinstance(runner, dict) else None
    if runner is not None:
        runner_spec = kp.PLUGINS.get(runner_type) if isinstance(runner_type, str) else None
        if runner_spec is None or runner_spec.kind != "runner":
            flow.fail(where, f"taskRunner type {runner_type!r} is not an allowed task runner")
        else:
            assert isinstance(runner, dict) and isinstance(runner_type, str)
            _check_known_properties(
                flow, f"{where} taskRunner", runner_type, runner, runner_spec, kp.COMMON_RUNNER_KEYS
            )
    image = node.get("containerImage")
    if image is None:
        if spec.container and runner_type != "io.kestra.plugin.core.runner.Process":
            flow.warn(
                "policy", where, "set containerImage to a pinned image (the plugin's default image is a moving tag)"
            )
        return
    if not isinstance(image, str) or "{{" in image or "@sha256:" in image:
        return
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if not tag or tag == "latest" or not any(ch.isdigit() for ch in tag):
        flow.warn(
            "policy",
            where,
            f"containerImage '{image}' is not pinned; use a versioned tag such as {name or image}:1.2.3",
        )


def _check_nested_plugins(flow: _Flow, where: str, node: dict[str, Any], spec: kp.PluginSpec) -> None:
    """A plugin inside a property (plugin-ai's `provider`, `embeddings`): Kestra needs a type it knows
    of the right kind, and rejects unknown properties of it as it does a task's."""
    for key, kind in spec.plugins:
        nested = node.get(key)
        if nested is None:
            continue  # a required one is reported with the task's required properties
        place = f"{where} {key}"
        type_ = nested.get("type") if isinstance(nested, dict) else None
        if not isinstance(nested, dict) or not isinstance(type_, str):
            flow.fail(place, f"must be a mapping with a 'type' (a {kind} plugin)")
            continue
        nested_spec = kp.PLUGINS.get(type_)
        if nested_spec is None or nested_spec.kind != kind:
            known = ", ".join(sorted(t for t, s in kp.PLUGINS.items() if s.kind == kind))
            flow.fail(
                place, f"type {type_} is not one of the {kind} plugins we know (flowcheck/kestra_plugins.py: {known})"
            )
            continue
        _check_required(flow, place, type_, nested, nested_spec)  # pluginDefaults reach nested plugins too
        _check_known_properties(flow, place, type_, nested, nested_spec, kp.COMMON_NESTED_KEYS)


if __name__ == "__main__":
    sys.exit(run_cli(main))
