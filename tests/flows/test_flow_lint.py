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
from flowcheck import flow_catalog, flow_lint, flow_paths, kestra_cron, kestra_plugins
from stacks.settings import PROJECT_ROOT
from tests.support.kestra_judge import KestraUnavailable, judge
from tests.support.synth import FLOWS_DIR, repository_catalog, resources, synth_stack

FLOWS = flow_paths(FLOWS_DIR)
BAD = sorted((PROJECT_ROOT / "tests" / "fixtures" / "bad_flows").glob("*.yaml"))


def expectations(path: Path, kind: str = "expect") -> list[str]:
    return re.findall(rf"^# {kind}: (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


@pytest.fixture(scope="module")
def stack_kv_and_secrets(local_synth: dict[str, Any]) -> tuple[set[str], set[str]]:
    """KV keys and secret names the local stack really creates (synthesized, not listed by hand),
    the optional Gemini key included (the stack provides it when the learner gives one)."""
    kv = {entry["key"] for entry in resources(local_synth, "kestra_kv").values()}
    with_key = synth_stack("local", {"GEMINI_API_KEY": "AIzaTestOnlyKey0123456789abcdefghijklm"})
    secrets = {
        m.group(1)
        for synth in (local_synth, with_key)
        for e in resources(synth, "docker_container")["kestra"]["env"]
        if (m := re.match(r"SECRET_(\w+)=", e))
    }
    return kv, secrets


# KV pairs the learner adds in the UI as the course's videos show (the stack writes no secret to KV):
# the AI flows' Gemini key (docs/flows.md, "AI flows and the AI Copilot").
LEARNER_KV = frozenset({"GEMINI_API_KEY"})


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
def test_repository_flow_has_no_warnings(path: Path, stack_kv_and_secrets: tuple[set[str], set[str]]) -> None:
    """Warnings never block a flow, but the course's own flows have none (KV and secrets the stack creates),
    apart from the scheduled flows' time zone: the course sets none, homework question 6 has the learner add it."""
    kv, secrets = stack_kv_and_secrets
    warnings = flow_lint.lint_report_file(path, known_kv=kv | LEARNER_KV, known_secrets=secrets).warnings
    if path.stem.endswith("_scheduled"):
        warnings = [w for w in warnings if "set an explicit timezone" not in w]
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
    assert len(str(error.value).splitlines()) == 1  # its pluginDefaults typo is a warning: Kestra saves the flow


def test_cli_prints_each_problem_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    bad = PROJECT_ROOT / "tests" / "fixtures" / "bad_flows" / "unknown_type.yaml"
    assert run_cli(lambda: flow_lint.main([str(bad)])) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "unknown_type.yaml: task 'hello'" in err[0]


def test_check_flows_accepts_the_repository_flows(capsys: pytest.CaptureFixture[str]) -> None:
    repository_catalog()  # skipped when they do not load: test_repository_flow_is_valid says why
    assert run_cli(lambda: flow_catalog.main([str(FLOWS_DIR)])) == 0
    assert f"{len(FLOWS)} flow file(s) valid" in capsys.readouterr().out


def test_kv_and_secret_names_are_checked_against_what_the_stacks_create() -> None:
    text = (
        "id: kv_check\nnamespace: zoomcamp\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: \"{{ kv('GCP_BUCKET') }} {{ secret('DB_PASSWORD') }} "
        "{{ kv('OPTIONAL', errorOnMissing=false) ?? 'x' }}\"\n"
    )
    report = flow_lint.lint_report_text(
        text, "kv.yaml", known_kv={"GCP_BUCKET_NAME"}, known_secrets={"ZOOMCAMP_DB_PASSWORD"}
    )
    assert report == flow_lint.LintReport(
        [],
        [
            "kv.yaml: warning (runtime): task 'hello' property message: kv('GCP_BUCKET') is not created by the "
            "stacks (known: GCP_BUCKET_NAME)",
            "kv.yaml: warning (runtime): task 'hello' property message: secret('DB_PASSWORD') is not provided by "
            "the stacks (known: ZOOMCAMP_DB_PASSWORD)",
        ],
    )


def test_a_schedule_that_fixes_no_hour_or_day_needs_no_timezone() -> None:
    text = (
        "id: every_quarter_hour\nnamespace: system\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: hi\ntriggers:\n  - id: often\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '*/15 * * * *'\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '@daily'\n"
    )
    assert flow_lint.lint_report_text(text, "f.yaml").warnings == [
        "f.yaml: warning (policy): trigger 'daily': set an explicit timezone (e.g. timezone: America/New_York); "
        "otherwise the schedule and its backfills follow the server's zone"
    ]


# Each verdict here is Kestra's own: test_the_cron_table_is_kestra_s_verdict asks its Schedule trigger.
CRON_CASES = [
    ("0 9 1 * *", False, None),
    ("@monthly", False, None),
    ("*/15 0-6 1,15 JAN-MAR MON", False, None),
    ("0 9 1 jan mon-fri", False, None),
    ("0 9 * * 0-7", False, None),
    ("0 9 * JAN/2 *", False, None),
    ("0 0 9 1 * *", True, None),
    ("0 24 1 * *", False, "value 24 out of range for 'hour'"),
    ("0 9 1 13 *", False, "value 13 out of range for 'month'"),
    ("0 9 0 * *", False, "value 0 out of range for 'day'"),
    ("60 0 9 1 * *", True, "value 60 out of range for 'second'"),
    ("0 9 1 * * *", False, "needs 5 fields"),
    ("0 9 1 * *", True, "needs 6 fields"),
    ("@DAILY", False, "needs 5 fields"),
    ("@reboot", False, "needs 5 fields"),
    ("*/x * * * *", False, "invalid interval step value 'x' for 'minute'"),
    ("*/0 * * * *", False, "invalid interval step value '0' for 'minute'"),
    ("5-1 * * * *", False, "max range is less than min range in '5-1'"),
    ("0 9 ? * *", False, "invalid value '?'"),
    ("0 9 L * *", False, "invalid value 'L'"),
    ("0 9 1W * *", False, "invalid value '1W'"),
    ("0 9 * * 5#2", False, "invalid value '5#2'"),
]


@pytest.mark.parametrize(("cron", "with_seconds", "problem"), CRON_CASES)
def test_cron_rules(cron: str, with_seconds: bool, problem: str | None) -> None:
    found = kestra_cron.cron_problem(cron, with_seconds=with_seconds)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_the_cron_table_is_kestra_s_verdict(tmp_path: Path) -> None:
    """kestra_cron imitates Kestra's cron rules: every case above goes to Kestra's own validation
    (a Schedule trigger with that cron and withSeconds), which must accept or refuse it alike."""
    paths = []
    for number, (cron, with_seconds, _) in enumerate(CRON_CASES):
        path = tmp_path / f"cron_{number}.yaml"
        path.write_text(
            f"id: cron_{number}\nnamespace: zoomcamp\ntasks:\n  - id: hello\n"
            "    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n  - id: schedule\n"
            f"    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '{cron}'\n"
            f"    withSeconds: {str(with_seconds).lower()}\n    timezone: America/New_York\n",
            encoding="utf-8",
        )
        paths.append(path)
    try:
        verdicts = judge(paths)
    except KestraUnavailable as error:
        pytest.fail(f"Kestra could not be asked: {error}")
    disagreements = [
        (cron, with_seconds, problem, verdicts[path].first_line)
        for path, (cron, with_seconds, problem) in zip(paths, CRON_CASES, strict=True)
        if verdicts[path].accepted != (problem is None)
    ]
    assert disagreements == [], disagreements


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
        '        message: "{{ outputs.helo.value }}"\n'
    )
    assert flow_lint.lint_report_text(text, "f.yaml").warnings == [
        "f.yaml: warning (runtime): task 'alert' property message: expression uses outputs.helo, "
        "but the flow has no task 'helo'"
    ]


def test_working_directory_output_files_are_readable_as_uris() -> None:
    text = (
        "id: wdir_outputs\nnamespace: zoomcamp\ntasks:\n"
        "  - id: wdir\n    type: io.kestra.plugin.core.flow.WorkingDirectory\n"
        "    outputFiles: [out.txt]\n    tasks:\n      - id: hello\n        type: io.kestra.plugin.core.log.Log\n"
        "        message: hi\n  - id: show\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: \"{{ outputs.wdir.uris['out.txt'] }} {{ outputs.wdir.files }}\"\n"
    )
    assert flow_lint.lint_report_text(text, "f.yaml").warnings == [
        "f.yaml: warning (runtime): task 'show' property message: expression uses outputs.wdir.files, but "
        "io.kestra.plugin.core.flow.WorkingDirectory outputs: uris"
    ]
