"""Static validation: every flow in flows/ is clean, and every rule is proven by a broken fixture.

A broken file in flows/ fails `test_repository_flow_is_valid[<file>]`, with synth's own
message (flowcheck/flow_catalog.py's verdict) as the first line; the tests that need the flows or
the local stack are skipped then, with one line pointing here (tests/support/synth.py).

Adding a rule is adding one file under tests/fixtures/bad_flows/: a minimal flow that breaks
only that rule, with `# expect: <text>` lines for errors (Kestra rejects the flow) and
`# warn: <text>` lines for warnings (Kestra saves it). The harness asserts the validator reports
exactly those (no more, no fewer), each prefixed with the fixture's path, so a message that stops
naming the file or the task fails here. Which of the two a rule is, Kestra decides:
tests/flows/test_kestra_judge.py runs every fixture through Kestra's own validation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from common.errors import run_cli
from flowcheck import flow_catalog, flow_lint, flow_paths, kestra_plugins
from stacks.settings import PROJECT_ROOT
from tests.support.synth import FLOWS_DIR, repository_catalog

FLOWS = flow_paths(FLOWS_DIR)
BAD = sorted((PROJECT_ROOT / "tests" / "fixtures" / "bad_flows").glob("*.yaml"))


def expectations(path: Path, kind: str = "expect") -> list[str]:
    return re.findall(rf"^# {kind}: (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


@pytest.fixture(scope="module")
def catalog_verdict() -> flow_catalog.CatalogVerdict:
    return flow_catalog.check_flow_catalog(FLOWS_DIR)


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_repository_flow_is_valid(path: Path, catalog_verdict: flow_catalog.CatalogVerdict) -> None:
    """Synth's verdict on the file, alone and beside the others (name = id, one file per id)."""
    problems = catalog_verdict.problems.get(path, [])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_repository_flow_has_no_warnings(path: Path) -> None:
    """Warnings never block a flow, but the course's own flows have none."""
    warnings = flow_lint.lint_report_file(path).warnings
    if warnings:
        pytest.fail("\n".join(warnings), pytrace=False)


def test_the_course_flows_are_all_there() -> None:
    names = {p.stem for p in FLOWS}
    expected = {
        "03_getting_started_data_pipeline",
        "04_postgres_taxi",
        "05_postgres_taxi_scheduled",
        "08_gcp_taxi",
        "09_gcp_taxi_scheduled",
    }
    assert expected <= names, f"missing flows: {sorted(expected - names)}"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_broken_fixture_fails_with_its_message(path: Path) -> None:
    report = flow_lint.lint_report_file(path)
    assert expectations(path) or expectations(path, "warn"), f"{path.name} needs a '# expect:' or '# warn:' line"
    label = flow_lint.display_path(path)
    for kind, found in (("expect", report.errors), ("warn", report.warnings)):
        expected = expectations(path, kind)
        assert all(p.startswith(f"{label}: ") for p in found), found
        for text in expected:
            assert any(text in p for p in found), f"expected {text!r} ({kind}) in {found}"
        assert len(found) == len(expected), f"{path.name} should break only its own rule(s) ({kind}): {found}"
    assert all(": warning (" in w for w in report.warnings), report.warnings


def test_check_flow_file_raises_one_line_per_problem() -> None:
    path = PROJECT_ROOT / "tests" / "fixtures" / "bad_flows" / "plugin_defaults_typo.yaml"
    with pytest.raises(flow_lint.FlowLintError) as error:
        flow_lint.check_flow_file(path)
    assert len(str(error.value).splitlines()) == 1


def test_cli_prints_each_problem_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    bad = PROJECT_ROOT / "tests" / "fixtures" / "bad_flows" / "unknown_type.yaml"
    assert run_cli(lambda: flow_lint.main([str(bad)])) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "unknown_type.yaml: task 'hello'" in err[0]


def test_check_flows_accepts_the_repository_flows(capsys: pytest.CaptureFixture[str]) -> None:
    repository_catalog()  # skipped when they do not load: test_repository_flow_is_valid says why
    assert run_cli(lambda: flow_catalog.main([str(FLOWS_DIR)])) == 0
    assert f"{len(FLOWS)} flow file(s) valid" in capsys.readouterr().out


def _plugin_types(node: Any, *, skip: frozenset[str] = frozenset({"pluginDefaults", "inputs"})) -> set[str]:
    """Every `type:` of a task, trigger or task runner in a parsed flow (not inputs, not pluginDefaults)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and "." in node["type"]:  # not a value such as `type: USER`
            found.add(node["type"])
        for key, value in node.items():
            if key not in skip:
                found |= _plugin_types(value)
    elif isinstance(node, list):
        for item in node:
            found |= _plugin_types(item)
    return found


def test_every_plugin_the_flows_use_has_its_property_list() -> None:
    """So a misspelt or invented property in any course flow is reported, not found by Kestra at deploy."""
    used = set().union(*(_plugin_types(flow.document) for flow in repository_catalog()))
    unchecked = sorted(t for t in used if kestra_plugins.PLUGINS[t].properties is None)
    assert not unchecked, f"add the documented properties of {unchecked} to flowcheck/kestra_plugins.py"


def test_tasks_in_error_and_finally_branches_of_flowable_tasks_are_checked() -> None:
    text = (
        "id: branches\nnamespace: zoomcamp\ntasks:\n  - id: steps\n    type: io.kestra.plugin.core.flow.Sequential\n"
        "    tasks:\n      - id: hello\n        type: io.kestra.plugin.core.log.Log\n        message: hi\n"
        "    errors:\n      - id: alert\n        type: io.kestra.plugin.core.log.Log\n"
        "        mesage: oops\n"
    )
    assert flow_lint.lint_report_text(text, "f.yaml").errors == [
        "f.yaml: task 'alert': io.kestra.plugin.core.log.Log requires message; add message "
        "(or set it in pluginDefaults)",
        "f.yaml: task 'alert': 'mesage' is not a property of io.kestra.plugin.core.log.Log; Kestra rejects the flow "
        "(check its plugin page)",
    ]


def test_every_plugin_type_is_traced_to_the_release_its_properties_were_read_from() -> None:
    """Kestra cannot load the plugins here, so each plugin's property list names its source release."""
    untraced = sorted(
        t
        for t, spec in kestra_plugins.PLUGINS.items()
        if not kestra_plugins.is_core(t) and (spec.properties is None or kestra_plugins.source_of(t) is None)
    )
    assert not untraced, f"give {untraced} a property list and a SOURCES entry in flowcheck/kestra_plugins.py"
