"""Every expression of every flow is rendered by Kestra itself, with the values Kestra would pass.

Kestra does not check expressions when a flow is saved: a typo (`inputs.taxo`, `outputs.extarct`)
shows up as a failed task in the middle of a learner's run. So each flow of flows/ and each system
flow the gcp stack writes is rendered here by Kestra's own renderer (tests/support/kestra_render.py)
for the representative executions of tests/flows/render_cases.yaml: its inputs, a trigger date for
the scheduled flows, the outputs of the tasks an expression reads. Every templated string must
render in at least one of its flow's cases, and a failure is Kestra's own message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.gcp_env import GCP_ENV
from tests.support.kestra_render import KestraRenderer, flow_variables, strings_with_templates
from tests.support.synth import repository_catalog, resources, synth_stack

CASES_FILE = Path(__file__).with_name("render_cases.yaml")
# Rendered by no one (free text), or not a template at all.
_NOT_RENDERED = {"id", "type", "description", "namespace"}


def _templated(node: Any, path: str = "") -> dict[str, str]:
    """Templated strings of a flow part, skipping the keys Kestra never renders."""
    if isinstance(node, dict):
        found: dict[str, str] = {}
        for key, value in node.items():
            if key in _NOT_RENDERED:
                continue
            found.update(_templated(value, f"{path}.{key}" if path else str(key)))
        return found
    if isinstance(node, list):
        found = {}
        for index, value in enumerate(node):
            found.update(_templated(value, f"{path}[{index}]"))
        return found
    return strings_with_templates(node, path)


def templates_of(flow: dict[str, Any]) -> dict[str, str]:
    """What Kestra renders in a flow: its tasks, triggers, plugin defaults, outputs and labels, and
    each flow variable as the flow reads it (`render(vars.x)`)."""
    parts = {key: flow.get(key) for key in ("tasks", "errors", "finally", "triggers", "pluginDefaults", "outputs")}
    found = _templated({k: v for k, v in parts.items() if v is not None})
    found.update(_templated(flow.get("labels") or {}, "labels"))
    for name in flow.get("variables") or {}:
        found[f"variables.{name}"] = f"{{{{ render(vars['{name}']) }}}}"
    return found


@pytest.fixture(scope="module")
def stack_kv() -> dict[str, str]:
    """The KV values the local stack really creates, its GCP ones included (as with a project set)."""
    return {entry["key"]: entry["value"] for entry in resources(synth_stack("local", GCP_ENV), "kestra_kv").values()}


def cases() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8")) or {}


def unrendered(
    renderer: KestraRenderer, flow: dict[str, Any], flow_cases: list[dict[str, Any]], stack_kv: dict[str, str]
) -> list[str]:
    """The templated strings of `flow` that Kestra renders in none of its cases, with Kestra's message."""
    templates = templates_of(flow)
    failures: dict[str, str] = {}
    rendered: set[str] = set()
    for case in flow_cases:
        variables = flow_variables(
            flow,
            case.get("inputs") or {},
            outputs=case.get("outputs"),
            trigger=case.get("trigger"),
            labels=case.get("labels"),
        )
        variables.update(case.get("extra") or {})
        kv = {flow["namespace"]: {**stack_kv, **(case.get("kv") or {})}}
        done, errors = renderer.render_all(templates, variables, kv)
        rendered |= set(done)
        for name, message in errors.items():
            failures.setdefault(name, message.splitlines()[0])
    return [f"{name}: {failures[name]}" for name in templates if name not in rendered]


def repository_flows() -> list[dict[str, Any]]:
    return [flow.document for flow in repository_catalog()]


def test_every_flow_has_render_cases() -> None:
    known = cases()
    missing = sorted(f["id"] for f in repository_flows() if templates_of(f) and f["id"] not in known)
    assert not missing, f"add representative executions of {missing} to {CASES_FILE.name}"


@pytest.mark.parametrize("flow_id", [f["id"] for f in repository_flows()])
def test_kestra_renders_every_expression_of_the_flow(
    flow_id: str, kestra_renderer: KestraRenderer, stack_kv: dict[str, str]
) -> None:
    flow = next(f for f in repository_flows() if f["id"] == flow_id)
    problems = unrendered(kestra_renderer, flow, cases().get(flow_id, [{}]), stack_kv)
    if problems:
        pytest.fail(f"{flow_id}: Kestra cannot render " + "; ".join(problems), pytrace=False)


def test_a_typo_in_a_flow_fails_with_kestras_message(kestra_renderer: KestraRenderer, stack_kv: dict[str, str]) -> None:
    """A broken copy of a real flow: the typo is reported by Kestra, naming the string and the name."""
    flow = next(f for f in repository_flows() if f["id"] == "01_hello_world")
    broken = yaml.safe_load(yaml.safe_dump(flow).replace("inputs.name }}!", "inputs.nmae }}!", 1))
    problems = unrendered(kestra_renderer, broken, cases()["01_hello_world"], stack_kv)
    assert len(problems) == 1 and "Unable to find `nmae` used in the expression" in problems[0], problems


def test_kestra_renders_every_expression_of_the_system_flows(stack_kv: dict[str, str]) -> None:
    """The flows the gcp stack writes for Kestra on the VM (stacks/gce/system_flows.py), with the
    secret the VM gives Kestra (the webhook key; kestra-boot writes SECRET_GIT_SYNC_WEBHOOK_KEY)."""
    from stacks.gce import system_flows

    source = system_flows.GitSource("https://github.com/example/x.git", "main", "flows", "dbt", "*/15 * * * *", True)
    flows = [
        system_flows.git_sync_flow(source, "zoomcamp"),
        system_flows.kv_flow({"GCP_DATASET": ("zoomcamp", "d")}, "zoomcamp"),
    ]
    renderer = KestraRenderer(secrets={system_flows.WEBHOOK_SECRET_NAME: "test-webhook-key"}).start()
    try:
        for flow in flows:
            problems = unrendered(renderer, yaml.safe_load(flow.content), [{}], stack_kv)
            assert not problems, f"{flow.flow_id}: Kestra cannot render " + "; ".join(problems)
    finally:
        renderer.close()
