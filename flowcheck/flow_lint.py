"""Static validation of Kestra flow files: what Kestra would reject, caught before deploy.

A learner finds a broken flow when an execution fails halfway, often far from the cause (a
typo in `outputs.extarct.uri`, a deprecated type that the next Kestra drops, a schedule that
runs in the server's time zone). Every rule here names the file, the task (or input, trigger,
variable) and the fix in one line. Works on any flow file, not only this repository's:

    from flowcheck.flow_lint import check_flow_file, lint_flow_file
    problems = lint_flow_file(Path("flows/04_postgres_taxi.yaml"))   # list of one-line messages
    check_flow_file(path)                                              # raises FlowLintError

CLI: `python -m flowcheck.flow_lint [FILE ...]` (default: flows/*.yaml) checks files one by one; `make check-flows`
runs flowcheck.flow_catalog, which also checks the files against each other (names, ids).
The plugin types and their required properties live in `flowcheck.kestra_plugins`.

Two severities, decided by what Kestra itself does (tests/flows/test_kestra_judge.py runs every
broken fixture through Kestra's own validation and fails on any disagreement):
- errors: Kestra rejects the flow when it is saved. They stop `cdktf synth` and `make check-flows`.
- warnings, each named by its kind: `policy` (this project's rules Kestra does not enforce: pinned
  images, explicit schedule time zones), `runtime` (Kestra saves the flow, but the expression, input
  or default would fail or do nothing when it runs), `deprecated` (Kestra saves it and says the name is
  on its way out). Warnings never block a flow; `make check-flows` prints them.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from common.errors import BundleError, CommandLine, run_cli
from flowcheck import DEFAULT_FLOWS_DIR, flow_paths, kestra_cron, pebble, strict_yaml
from flowcheck import kestra_plugins as kp
from flowcheck.kestra_ids import KESTRA_ID_MAX_LENGTH, KESTRA_ID_PATTERN, KESTRA_NAMESPACE_PATTERN

TASK_ID_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")  # Kestra's Task.id
INPUT_ID_PATTERN = re.compile(r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$")  # Kestra's Input.id


class FlowLintError(BundleError):
    """A flow file Kestra would reject."""


WarningKind = Literal["policy", "runtime", "deprecated"]


@dataclass(frozen=True)
class LintReport:
    """One flow's verdict: errors (Kestra rejects it) and warnings (it does not; see the docstring)."""

    errors: list[str]
    warnings: list[str]


# ---- the flow model the rules walk -----------------------------------------------------------


@dataclass
class _Task:
    id: str
    node: dict[str, Any]
    where: str  # tasks[2].then[0]
    order: int
    spec: kp.PluginSpec | None
    provides: frozenset[str]


@dataclass
class _Flow:
    label: str
    doc: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tasks: list[_Task] = field(default_factory=list)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: frozenset[str] = frozenset()
    has_triggers: bool = False
    defaults: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    known_kv: frozenset[str] | None = None
    known_secrets: frozenset[str] | None = None
    schedule_zones: frozenset[str] = frozenset()

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{self.label}: {where}: {message}")

    def warn(self, kind: WarningKind, where: str, message: str) -> None:
        self.warnings.append(f"{self.label}: warning ({kind}): {where}: {message}")

    def task_order(self) -> dict[str, int]:
        return {task.id: task.order for task in self.tasks}


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---- public API ---------------------------------------------------------------------------------


def lint_report_text(
    text: str,
    label: str,
    *,
    known_kv: Collection[str] | None = None,
    known_secrets: Collection[str] | None = None,
) -> LintReport:
    """Errors and warnings of one flow's YAML text, one line each, prefixed with `label`."""
    try:
        document, duplicates = strict_yaml.load_noting_duplicates(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        return LintReport([f"{label}: {where}: invalid YAML: {error.problem or error.context}"], [])
    except yaml.YAMLError as error:
        return LintReport([f"{label}: invalid YAML: {error}"], [])
    return lint_report_parsed(document, duplicates, label, known_kv=known_kv, known_secrets=known_secrets)


def lint_report_parsed(
    document: Any,
    duplicates: Sequence[strict_yaml.DuplicateKeyError],
    label: str,
    *,
    known_kv: Collection[str] | None = None,
    known_secrets: Collection[str] | None = None,
) -> LintReport:
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
    flow = _Flow(
        label,
        document,
        warnings=warnings,
        known_kv=None if known_kv is None else frozenset(known_kv),
        known_secrets=None if known_secrets is None else frozenset(known_secrets),
    )
    _check_flow(flow)
    return LintReport(flow.problems, flow.warnings)


def lint_flow_text(text: str, label: str, **known: Collection[str] | None) -> list[str]:
    """The errors of one flow's YAML text (what Kestra would reject), one line each."""
    return lint_report_text(text, label, **known).errors  # type: ignore[arg-type]


def lint_report_file(path: Path, **known: Collection[str] | None) -> LintReport:
    """Errors and warnings of one flow file; messages start with the file's path."""
    label = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return LintReport([f"{label}: cannot read the file ({error}); save it as UTF-8 text"], [])
    return lint_report_text(text, label, **known)  # type: ignore[arg-type]


def lint_flow_file(path: Path, **known: Collection[str] | None) -> list[str]:
    """The errors of one flow file (what Kestra would reject); messages start with the file's path."""
    return lint_report_file(path, **known).errors


def check_flow_file(path: Path, **known: Collection[str] | None) -> None:
    """Raise FlowLintError (one line per problem) if Kestra would reject the flow file."""
    problems = lint_flow_file(path, **known)
    if problems:
        raise FlowLintError("\n".join(problems))


def main(argv: list[str] | None = None) -> int:
    """`python -m flowcheck.flow_lint [FILE ...]`: warnings on stderr; exit 1 and one line per error, else a summary."""
    parser = CommandLine(
        prog="python -m flowcheck.flow_lint",
        description="Check flow files as Kestra would: errors (Kestra rejects the flow) exit 1; warnings never do.",
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
    doc = flow.doc
    for key in doc:
        if key not in kp.FLOW_KEYS:
            hint = " (Kestra 1.x calls it pluginDefaults)" if key == "taskDefaults" else ""
            flow.fail("flow", f"unknown top-level key '{key}'{hint}; Kestra rejects the flow")
    _check_identity(flow)
    _check_labels(flow)
    _collect_inputs(flow)
    variables = doc.get("variables") or {}
    if not isinstance(variables, dict):
        flow.fail("variables", "must be a mapping of name: value")
        variables = {}
    flow.variables = frozenset(variables)
    triggers = doc.get("triggers") or []
    flow.has_triggers = bool(triggers)
    if isinstance(triggers, list):
        flow.schedule_zones = frozenset(
            t["timezone"]
            for t in triggers
            if isinstance(t, dict) and t.get("type") == "io.kestra.plugin.core.trigger.Schedule" and "timezone" in t
        )
    _collect_plugin_defaults(flow)
    _collect_tasks(flow)
    _check_concurrency(flow)
    for name, value in variables.items():
        _check_templates(flow, f"variables.{name}", value, scope=_Scope(flow, None))
    _check_checks(flow)
    for index, (type_, values) in enumerate(flow.defaults):
        _check_templates(flow, f"pluginDefaults[{index}] ({type_})", values, scope=_Scope(flow, None))
    for task in flow.tasks:
        _check_task(flow, task)
    _check_triggers(flow, triggers)
    for index, output in enumerate(doc.get("outputs") or []):
        _check_templates(flow, f"outputs[{index}]", output, scope=_Scope(flow, None))


def _check_identity(flow: _Flow) -> None:
    flow_id, namespace = flow.doc.get("id"), flow.doc.get("namespace")
    if not isinstance(flow_id, str) or not flow_id:
        flow.fail("flow", "missing 'id'; add `id: my_flow` at the top")
    elif not KESTRA_ID_PATTERN.match(flow_id) or len(flow_id) > KESTRA_ID_MAX_LENGTH:
        flow.fail(
            "flow", f"id {flow_id!r} is not a valid Kestra id: letters, digits, '.', '_', '-', first a letter/digit"
        )
    if not isinstance(namespace, str) or not namespace:
        flow.fail("flow", "missing 'namespace'; add `namespace: zoomcamp` at the top")
    elif not KESTRA_NAMESPACE_PATTERN.match(namespace):
        flow.fail("flow", f"namespace {namespace!r} is not valid: lower-case letters, digits, '.', '_', '-'")
    tasks = flow.doc.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        flow.fail("flow", "'tasks' must be a non-empty list of tasks")


def _check_labels(flow: _Flow) -> None:
    labels = flow.doc.get("labels")
    if labels is None:
        return
    pairs: list[tuple[Any, Any]]
    if isinstance(labels, dict):
        pairs = list(labels.items())
    elif isinstance(labels, list) and all(isinstance(i, dict) and {"key", "value"} <= set(i) for i in labels):
        pairs = [(i["key"], i["value"]) for i in labels]
    else:
        flow.fail("labels", "must be a mapping (key: value) or a list of {key, value}")
        return
    for key, value in pairs:
        if not isinstance(value, str):
            flow.warn(
                "policy", "labels", f"label '{key}' should be a string: quote it, e.g. {key}: \"{_yaml_scalar(value)}\""
            )


def _yaml_scalar(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _collect_inputs(flow: _Flow) -> None:
    inputs = flow.doc.get("inputs") or []
    if not isinstance(inputs, list):
        flow.fail("inputs", "must be a list of inputs")
        return
    for index, item in enumerate(inputs):
        where = f"inputs[{index}]"
        if not isinstance(item, dict):
            flow.fail(where, "must be a mapping with id and type")
            continue
        if "name" in item and "id" not in item:
            flow.warn("deprecated", where, "uses 'name', deprecated in Kestra 1.x; rename it to 'id'")
            continue
        input_id = item.get("id")
        if not isinstance(input_id, str) or not INPUT_ID_PATTERN.match(input_id):
            flow.fail(where, f"id {input_id!r} is not valid: letters, digits, '.', '_', '-', first a letter/digit")
            continue
        where = f"input '{input_id}'"
        if input_id in flow.inputs:
            flow.fail(where, "is defined twice; input ids must be unique")
        flow.inputs[input_id] = item
        _check_input(flow, where, item)


def _check_input(flow: _Flow, where: str, item: dict[str, Any]) -> None:
    input_type = item.get("type")
    if input_type in kp.DEPRECATED_INPUT_TYPES:
        flow.warn("deprecated", where, f"type {input_type} is deprecated; use {kp.DEPRECATED_INPUT_TYPES[input_type]}")
        return
    if input_type not in kp.INPUT_TYPES:
        flow.fail(
            where, f"type {input_type!r} is not a Kestra input type; use one of {', '.join(sorted(kp.INPUT_TYPES))}"
        )
        return
    defaults = item.get("defaults")
    if input_type in ("SELECT", "MULTISELECT"):
        values = item.get("values")
        if values is None and "expression" not in item:
            flow.warn("runtime", where, f"a {input_type} input needs 'values' (the choices)")
            return
        if values is not None:
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                flow.warn("runtime", where, "'values' must be a non-empty list of strings (quote numbers: \"2019\")")
                return
            if len(set(values)) != len(values):
                flow.warn("runtime", where, "'values' lists a choice twice")
            chosen = defaults if isinstance(defaults, list) else [] if defaults is None else [defaults]
            for value in chosen:
                if not (isinstance(value, str) and pebble.has_template(value)) and value not in values:
                    flow.warn("runtime", where, f"default {value!r} is not one of its values {values}")
    if input_type == "ARRAY" and "itemType" not in item:
        flow.fail(where, "an ARRAY input needs 'itemType' (e.g. STRING)")
    if "required" in item and not isinstance(item["required"], bool):
        flow.fail(where, "'required' must be true or false")


def _collect_plugin_defaults(flow: _Flow) -> None:
    entries = flow.doc.get("pluginDefaults") or []
    if not isinstance(entries, list):
        flow.fail("pluginDefaults", "must be a list of {type, values}")
        return
    for index, entry in enumerate(entries):
        where = f"pluginDefaults[{index}]"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("type"), str)
            or not isinstance(entry.get("values"), dict)
        ):
            flow.fail(where, "each entry needs 'type' (a plugin type or package) and 'values' (a mapping)")
            continue
        type_ = entry["type"]
        if not any(t == type_ or t.startswith(type_ + ".") for t in kp.PLUGINS):
            flow.warn(
                "runtime", where, f"type '{type_}' matches no known plugin type, so these defaults apply to nothing"
            )
        flow.defaults.append((type_, entry["values"]))


def _nested(spec: kp.PluginSpec | None, node: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if spec is None:
        return
    for key in spec.task_lists:
        if key in node:
            yield key, node[key]
    for key in spec.task_maps:
        cases = node.get(key)
        if isinstance(cases, dict):
            for case, tasks in cases.items():
                yield f"{key}.{case}", tasks


def _collect_tasks(flow: _Flow) -> None:
    seen: dict[str, str] = {}
    counter = 0

    def visit(tasks: Any, where: str, provides: frozenset[str]) -> None:
        nonlocal counter
        if tasks is None:
            return
        if not isinstance(tasks, list):
            flow.fail(where, "must be a list of tasks")
            return
        for index, node in enumerate(tasks):
            path = f"{where}[{index}]"
            if not isinstance(node, dict):
                flow.fail(path, "a task must be a mapping with id and type")
                continue
            task_id = node.get("id")
            if not isinstance(task_id, str) or not TASK_ID_PATTERN.match(task_id):
                flow.fail(path, f"task id {task_id!r} is not valid: letters, digits, '_' or '-', first a letter/digit")
                task_id = f"<{path}>"
            elif task_id in seen:
                flow.fail(
                    f"task '{task_id}'", f"id is used twice ({seen[task_id]} and {path}); task ids must be unique"
                )
            seen.setdefault(task_id, path)
            type_ = node.get("type")
            spec = kp.PLUGINS.get(type_) if isinstance(type_, str) else None
            task = _Task(task_id, node, path, counter, spec, provides | (spec.provides if spec else frozenset()))
            counter += 1
            flow.tasks.append(task)
            for key, children in _nested(spec, node):
                visit(children, f"{path}.{key}", task.provides)

    for section in ("tasks", "errors", "finally", "afterExecution"):
        visit(flow.doc.get(section), section, frozenset())


def _check_task(flow: _Flow, task: _Task) -> None:
    where = f"task '{task.id}'"
    type_ = task.node.get("type")
    if not isinstance(type_, str) or not type_:
        flow.fail(where, "missing 'type'")
        return
    if task.spec is None or task.spec.kind != "task":
        _unknown_type(flow, where, type_, "task")
        return
    _check_required(flow, where, type_, task.node, task.spec)
    nested_keys = set(task.spec.task_lists) | set(task.spec.task_maps)
    _check_known_properties(flow, where, type_, task.node, task.spec, kp.COMMON_TASK_KEYS | nested_keys)
    _check_container(flow, where, task)
    _check_nested_plugins(flow, where, task)
    for key, value in task.node.items():
        if key in kp.NOT_RENDERED_KEYS or key in nested_keys:
            continue
        _check_templates(flow, f"{where} property {key}", value, scope=_Scope(flow, task))


def _check_known_properties(
    flow: _Flow, where: str, type_: str, node: dict[str, Any], spec: kp.PluginSpec, common: frozenset[str]
) -> None:
    """Kestra rejects a property its plugin does not have ("Unrecognized field") when the flow is saved."""
    if spec.properties is None:
        return
    for key in node:
        if key not in common and key not in spec.properties:
            flow.fail(
                where,
                f"'{key}' is not a property of {type_}; Kestra rejects the flow (check its plugin page)",
            )


def _unknown_type(flow: _Flow, where: str, type_: str, kind: str) -> None:
    """Kestra 1.x still accepts the old aliases (it says so as a deprecation); any other unknown type it rejects."""
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


def _check_container(flow: _Flow, where: str, task: _Task) -> None:
    runner = task.node.get("taskRunner")
    runner_type = runner.get("type") if isinstance(runner, dict) else None
    if runner is not None:
        spec = kp.PLUGINS.get(runner_type) if isinstance(runner_type, str) else None
        if spec is None or spec.kind != "runner":
            flow.fail(where, f"taskRunner type {runner_type!r} is not an allowed task runner")
        else:
            assert isinstance(runner, dict) and isinstance(runner_type, str)
            _check_known_properties(flow, f"{where} taskRunner", runner_type, runner, spec, kp.COMMON_RUNNER_KEYS)
    image = task.node.get("containerImage")
    if image is None:
        if task.spec and task.spec.container and runner_type != "io.kestra.plugin.core.runner.Process":
            flow.warn(
                "policy", where, "set containerImage to a pinned image (the plugin's default image is a moving tag)"
            )
        return
    if not isinstance(image, str) or pebble.has_template(image):
        return
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if "@sha256:" in image:
        return
    if not tag or tag == "latest" or not any(ch.isdigit() for ch in tag):
        flow.warn(
            "policy",
            where,
            f"containerImage '{image}' is not pinned; use a versioned tag such as {name or image}:1.2.3",
        )


def _check_nested_plugins(flow: _Flow, where: str, task: _Task) -> None:
    """A plugin inside a property (plugin-ai's `provider`, `embeddings`): Kestra needs a type it knows
    of the right kind, and rejects unknown properties of it as it does a task's."""
    for key, kind in task.spec.plugins if task.spec else ():
        node = task.node.get(key)
        if node is None:
            continue  # a required one is reported with the task's required properties
        place = f"{where} {key}"
        type_ = node.get("type") if isinstance(node, dict) else None
        if not isinstance(node, dict) or not isinstance(type_, str):
            flow.fail(place, f"must be a mapping with a 'type' (a {kind} plugin)")
            continue
        spec = kp.PLUGINS.get(type_)
        if spec is None or spec.kind != kind:
            known = ", ".join(sorted(t for t, s in kp.PLUGINS.items() if s.kind == kind))
            flow.fail(
                place, f"type {type_} is not one of the {kind} plugins we know (flowcheck/kestra_plugins.py: {known})"
            )
            continue
        _check_required(flow, place, type_, node, spec)  # pluginDefaults reach nested plugins too
        _check_known_properties(flow, place, type_, node, spec, kp.COMMON_NESTED_KEYS)


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


def _check_concurrency(flow: _Flow) -> None:
    concurrency = flow.doc.get("concurrency")
    if concurrency is None:
        return
    if not isinstance(concurrency, dict) or not isinstance(concurrency.get("limit"), int) or concurrency["limit"] < 1:
        flow.fail("concurrency", "needs 'limit' as a whole number >= 1")
        return
    behavior = concurrency.get("behavior", "QUEUE")
    if behavior not in kp.CONCURRENCY_BEHAVIORS:
        flow.fail("concurrency", f"behavior {behavior!r} must be one of {', '.join(sorted(kp.CONCURRENCY_BEHAVIORS))}")


def _check_checks(flow: _Flow) -> None:
    checks = flow.doc.get("checks") or []
    if not isinstance(checks, list):
        flow.fail("checks", "must be a list of {condition, message}")
        return
    for index, check in enumerate(checks):
        where = f"checks[{index}]"
        if not isinstance(check, dict) or not check.get("condition") or not check.get("message"):
            flow.fail(where, "each check needs 'condition' and 'message'")
            continue
        if check.get("behavior", "BLOCK_EXECUTION") not in kp.CHECK_BEHAVIORS:
            flow.fail(where, f"behavior must be one of {', '.join(sorted(kp.CHECK_BEHAVIORS))}")
        if check.get("style", "INFO") not in kp.CHECK_STYLES:
            flow.fail(where, f"style must be one of {', '.join(sorted(kp.CHECK_STYLES))}")
        _check_templates(flow, where, check, scope=_Scope(flow, None))


def _check_triggers(flow: _Flow, triggers: Any) -> None:
    if not isinstance(triggers, list):
        flow.fail("triggers", "must be a list of triggers")
        return
    seen: set[str] = set()
    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, dict):
            flow.fail(f"triggers[{index}]", "a trigger must be a mapping with id and type")
            continue
        trigger_id = trigger.get("id")
        if not isinstance(trigger_id, str) or not TASK_ID_PATTERN.match(trigger_id):
            flow.fail(f"triggers[{index}]", f"trigger id {trigger_id!r} is not valid: letters, digits, '_' or '-'")
            continue
        where = f"trigger '{trigger_id}'"
        if trigger_id in seen:
            flow.fail(where, "id is used twice; trigger ids must be unique")
        seen.add(trigger_id)
        type_ = trigger.get("type")
        spec = kp.PLUGINS.get(type_) if isinstance(type_, str) else None
        if spec is None or spec.kind != "trigger":
            _unknown_type(flow, where, str(type_), "trigger")
            continue
        missing = sorted(spec.required - set(trigger))
        if missing:
            flow.fail(where, f"{type_} requires {', '.join(missing)}")
            continue
        _check_known_properties(flow, where, str(type_), trigger, spec, kp.COMMON_TRIGGER_KEYS)
        if type_ == "io.kestra.plugin.core.trigger.Schedule":
            _check_schedule(flow, where, trigger)
        _check_trigger_inputs(flow, where, trigger)
        for key, value in trigger.items():
            if key not in ("id", "type"):
                _check_templates(flow, f"{where} property {key}", value, scope=_Scope(flow, None))


def _check_schedule(flow: _Flow, where: str, trigger: dict[str, Any]) -> None:
    cron = trigger["cron"]
    problem = kestra_cron.cron_problem(cron, with_seconds=bool(trigger.get("withSeconds")))
    if problem:
        flow.fail(where, f"cron {cron!r} is invalid: {problem}")
    zone = trigger.get("timezone")
    if zone is None and _depends_on_zone(cron):
        flow.warn(
            "policy",
            where,
            "set an explicit timezone (e.g. timezone: America/New_York); otherwise the schedule and "
            "its backfills follow the server's zone",
        )
    elif zone is not None and (not isinstance(zone, str) or not _valid_zone(zone)):
        flow.fail(where, f"timezone {zone!r} is not an IANA time zone such as America/New_York")


def _depends_on_zone(cron: Any) -> bool:
    """A cron that fixes an hour or a day fires at different instants in different zones."""
    if not isinstance(cron, str):
        return False
    if cron.strip() in kestra_cron.NICKNAMES:
        return cron.strip() != "@hourly"
    fields = cron.split()
    if len(fields) < 5:
        return False
    hour, day_of_month, day_of_week = fields[-4], fields[-3], fields[-1]
    return not hour.startswith("*") or day_of_month != "*" or day_of_week != "*"


def _valid_zone(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_trigger_inputs(flow: _Flow, where: str, trigger: dict[str, Any]) -> None:
    given = trigger.get("inputs") or {}
    if not isinstance(given, dict):
        flow.warn("runtime", where, "'inputs' must be a mapping of input id: value")
        return
    for key, value in given.items():
        spec = flow.inputs.get(key)
        if spec is None:
            flow.warn("runtime", where, f"passes input '{key}', which the flow does not declare")
            continue
        values = spec.get("values")
        if (
            isinstance(values, list)
            and isinstance(value, str)
            and not pebble.has_template(value)
            and value not in values
        ):
            flow.warn("runtime", where, f"input '{key}' = {value!r} is not one of {values}")
    if trigger.get("type") != "io.kestra.plugin.core.trigger.Schedule":
        return
    for input_id, spec in flow.inputs.items():
        if spec.get("required", True) and "defaults" not in spec and input_id not in given:
            flow.warn("runtime", where, f"required input '{input_id}' has no default and the schedule does not pass it")


# ---- Pebble ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    flow: _Flow
    task: _Task | None


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}[{index}]")


def _check_templates(flow: _Flow, where: str, value: Any, *, scope: _Scope) -> None:
    for path, text in _strings(value):
        if not pebble.has_template(text):
            continue
        place = f"{where}{'.' + path if path else ''}"
        try:
            template = pebble.parse_template(text)
        except pebble.PebbleError as error:
            flow.warn("runtime", place, f"Pebble syntax error: {error}")
            continue
        for expression, bound in template.expressions():
            for problem in _references(expression, bound, scope):
                flow.warn("policy" if "trigger.date" in problem else "runtime", place, problem)


def _children(node: pebble.Node) -> Iterator[pebble.Node]:
    for value in vars(node).values():
        if isinstance(value, pebble.Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, pebble.Node):
                    yield item
                elif isinstance(item, tuple):
                    yield from (part for part in item if isinstance(part, pebble.Node))


def _references(node: pebble.Node, bound: frozenset[str], scope: _Scope) -> Iterator[str]:
    flow, task = scope.flow, scope.task
    provides = task.provides if task else frozenset()
    if isinstance(node, pebble.Name):
        if node.name not in bound and node.name not in kp.PEBBLE_ROOTS and node.name not in provides:
            extra = f" (only {', '.join(sorted(provides))} here)" if provides else ""
            yield f"expression uses unknown variable '{node.name}'{extra}"
        elif node.name == "trigger" and node.name not in bound and not flow.has_triggers:
            yield "uses 'trigger', but the flow has no triggers: it is undefined in every execution"
        return
    if isinstance(node, pebble.Attr | pebble.Item) and isinstance(node.target, pebble.Name):
        root, key = node.target.name, _key(node)
        if root not in bound and key is not None:
            if root == "inputs" and key not in flow.inputs:
                yield f"expression uses inputs.{key}, but the flow declares no input '{key}'"
            elif root == "vars" and key not in flow.variables:
                yield f"expression uses vars.{key}, but the flow has no variable '{key}'"
            elif root == "outputs":
                yield from _output_problem(flow, task, key, None)
    if isinstance(node, pebble.Attr | pebble.Item) and _is_output_ref(node.target):
        target = node.target
        assert isinstance(target, pebble.Attr | pebble.Item)
        task_id, attribute = _key(target), _key(node)
        if task_id is not None and attribute is not None:
            yield from _output_problem(flow, task, task_id, attribute)
            return
    if (
        isinstance(node, pebble.Item)
        and isinstance(node.target, pebble.Attr)
        and node.target.name == "outputFiles"
        and _is_output_ref(node.target.target)
    ):
        yield from _output_file_problem(flow, node)
    if isinstance(node, pebble.Call):
        if node.name not in kp.PEBBLE_FUNCTIONS:
            yield f"expression calls unknown function '{node.name}()'"
        yield from _kv_secret_problem(flow, node)
    if isinstance(node, pebble.Filter) and node.name not in kp.PEBBLE_FILTERS:
        yield f"expression uses unknown filter '| {node.name}'"
    if isinstance(node, pebble.Filter) and node.name == "date" and _mentions_trigger_date(node.target):
        yield from _trigger_date_zone_problem(flow, node)
    if isinstance(node, pebble.Test) and node.name not in kp.PEBBLE_TESTS:
        yield f"expression uses unknown test 'is {node.name}'"
    for child in _children(node):
        yield from _references(child, bound, scope)


def _mentions_trigger_date(node: pebble.Node) -> bool:
    if isinstance(node, pebble.Attr) and node.name == "date" and isinstance(node.target, pebble.Name):
        return node.target.name == "trigger"
    return any(_mentions_trigger_date(child) for child in _children(node))


def _trigger_date_zone_problem(flow: _Flow, node: pebble.Filter) -> Iterator[str]:
    """The timezone pitfall: trigger.date formatted in another zone than the schedule's can
    land on the previous day, and on the 1st that is the previous month's file."""
    zones = sorted(flow.schedule_zones)
    given = dict(node.kwargs).get("timeZone")
    zone = given.value if isinstance(given, pebble.Literal) else None
    if not zones:
        return
    if given is None:
        yield f"formats trigger.date without timeZone: add timeZone='{zones[0]}' (the schedule's zone)"
    elif zone is not None and (len(zones) > 1 or zone != zones[0]):
        yield f"formats trigger.date in timeZone '{zone}' but the schedule runs in {', '.join(zones)}"


def _key(node: pebble.Attr | pebble.Item) -> str | None:
    if isinstance(node, pebble.Attr):
        return node.name
    return node.key.value if isinstance(node.key, pebble.Literal) and isinstance(node.key.value, str) else None


def _is_output_ref(node: pebble.Node) -> bool:
    return (
        isinstance(node, pebble.Attr | pebble.Item)
        and isinstance(node.target, pebble.Name)
        and node.target.name == "outputs"
    )


def _output_problem(flow: _Flow, task: _Task | None, task_id: str, attribute: str | None) -> Iterator[str]:
    order = flow.task_order()
    if task_id not in order:
        yield f"expression uses outputs.{task_id}, but the flow has no task '{task_id}'"
        return
    if task is not None and order[task_id] >= task.order:
        yield f"expression uses outputs.{task_id} before task '{task_id}' has run"
        return
    if attribute is None:
        return
    source = next(t for t in flow.tasks if t.id == task_id)
    known = source.spec.outputs if source.spec else None
    if known is not None and attribute not in known:
        listed = ", ".join(sorted(known)) or "none"
        yield f"expression uses outputs.{task_id}.{attribute}, but {source.node.get('type')} outputs: {listed}"
        return


def _output_file_problem(flow: _Flow, node: pebble.Item) -> Iterator[str]:
    """outputs.x.outputFiles['name'] must name a file task x declares in its outputFiles."""
    files = node.target
    assert isinstance(files, pebble.Attr)
    task_id = _key(files.target) if isinstance(files.target, pebble.Attr | pebble.Item) else None
    name = node.key.value if isinstance(node.key, pebble.Literal) else None
    source = next((t for t in flow.tasks if t.id == task_id), None)
    declared = source.node.get("outputFiles") if source else None
    if not isinstance(name, str) or not isinstance(declared, list):
        return
    if not any(isinstance(p, str) and fnmatch.fnmatchcase(name, p) for p in declared):
        yield f"expression reads outputs.{task_id}.outputFiles['{name}'], but task '{task_id}' declares {declared}"


def _kv_secret_problem(flow: _Flow, node: pebble.Call) -> Iterator[str]:
    if not node.args or not isinstance(node.args[0], pebble.Literal):
        return
    optional = dict(node.kwargs).get("errorOnMissing")
    if isinstance(optional, pebble.Literal) and optional.value is False:
        return  # kv('X', errorOnMissing=false) ?? fallback: the key may be absent on purpose
    name = node.args[0].value
    if node.name == "kv" and flow.known_kv is not None and name not in flow.known_kv:
        yield f"kv('{name}') is not created by the stacks (known: {', '.join(sorted(flow.known_kv))})"
    if node.name == "secret" and flow.known_secrets is not None and name not in flow.known_secrets:
        yield f"secret('{name}') is not provided by the stacks (known: {', '.join(sorted(flow.known_secrets))})"


if __name__ == "__main__":
    sys.exit(run_cli(main))
