"""Every flows/*.yaml becomes one flow; anything Kestra would reject stops synth, naming the file.

`make check-flows`, synth and the doctor give one verdict (flowcheck/flow_catalog.py), and a
broken flow fails exactly one test per broken file, its checker's, without a cascade.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cdktf import Testing as CdktfTesting

from common.errors import run_cli
from flowcheck import strict_yaml
from flowcheck.flow_catalog import (
    READ_ONLY_LABEL,
    FlowCatalogError,
    check_flow_catalog,
    load_flow_catalog,
    main,
    parse_flow_file,
)
from stacks.app import build_app
from stacks.local.flow_resources import flow_construct_id
from stacks.settings import PROJECT_ROOT, Settings
from tests.support.synth import FLOWS_DIR, repository_catalog, resources

GOOD = (
    "id: {id}\nnamespace: zoomcamp\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_flows_load_and_match_their_files() -> None:
    flows = repository_catalog()  # a file that does not load fails test_repository_flow_is_valid[<file>]
    assert flows, "flows/ must hold the course flows"
    for flow in flows:
        assert flow.content == flow.path.read_text(encoding="utf-8")
        assert flow.path.stem == flow.flow_id
        assert flow.namespace == "zoomcamp"


def test_good_flows_are_sorted_and_keyed(tmp_path: Path) -> None:
    write(tmp_path, "b_flow.yaml", GOOD.format(id="b_flow"))
    write(tmp_path, "a_flow.yml", GOOD.format(id="a_flow"))
    write(tmp_path, "notes.md", "not a flow")
    flows = load_flow_catalog(tmp_path)
    assert [flow.key for flow in flows] == ["zoomcamp/a_flow", "zoomcamp/b_flow"]
    assert flow_construct_id(flows[0]) == "flow_a_flow"  # its Terraform address part in the local stack


BAD_FLOWS = [
    ("broken.yaml", "id: broken\nnamespace: zoomcamp\ntasks: [\n", "invalid YAML at line 4"),
    ("scalar.yaml", "just a string\n", "must be a YAML mapping with id, namespace and tasks"),
    ("no_id.yaml", "namespace: zoomcamp\ntasks:\n  - id: t\n    type: x\n", "missing required field 'id'"),
    ("no_ns.yaml", "id: no_ns\ntasks:\n  - id: t\n    type: x\n", "missing required field 'namespace'"),
    ("no_tasks.yaml", "id: no_tasks\nnamespace: zoomcamp\n", "missing required field 'tasks'"),
    ("empty_tasks.yaml", "id: empty_tasks\nnamespace: zoomcamp\ntasks: []\n", "'tasks' must be a non-empty list"),
    ("numeric.yaml", "id: 42\nnamespace: zoomcamp\ntasks:\n  - id: t\n", "field 'id' must be a non-empty string"),
    ("bad id.yaml", "id: bad id\nnamespace: zoomcamp\ntasks:\n  - id: t\n", "id 'bad id' is not a valid Kestra id"),
    ("bad_ns.yaml", "id: bad_ns\nnamespace: Zoom.Camp\ntasks:\n  - id: t\n", "namespace 'Zoom.Camp' is not a valid"),
    ("renamed.yaml", GOOD.format(id="original"), "file name does not match its id 'original'; rename the file"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FLOWS, ids=[name for name, _, _ in BAD_FLOWS])
def test_bad_flow_stops_with_file_and_problem(tmp_path: Path, name: str, text: str, message: str) -> None:
    write(tmp_path, name, text)
    with pytest.raises(FlowCatalogError) as caught:
        load_flow_catalog(tmp_path)
    error = str(caught.value)
    assert len(error.splitlines()) == 1
    assert name in error
    assert message in error


def test_duplicate_namespace_and_id_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "dup.yaml", GOOD.format(id="dup"))
    write(tmp_path, "dup.yml", GOOD.format(id="dup"))
    with pytest.raises(FlowCatalogError, match=r"dup\.yml: flow zoomcamp/dup is already defined by .*dup\.yaml"):
        load_flow_catalog(tmp_path)


CALLER = """id: caller
namespace: zoomcamp
tasks:
  - id: run_it
    type: io.kestra.plugin.core.flow.Subflow
    namespace: zoomcamp
    flowId: {callee}
"""


def test_a_subflow_must_call_a_flow_of_the_folder(tmp_path: Path) -> None:
    """Kestra saves a Subflow naming a missing flow and fails only when it runs; the catalog says so at synth."""
    write(tmp_path, "callee.yaml", GOOD.format(id="callee"))
    write(tmp_path, "caller.yaml", CALLER.format(callee="callee"))
    assert [flow.flow_id for flow in load_flow_catalog(tmp_path)] == ["callee", "caller"]
    write(tmp_path, "caller.yaml", CALLER.format(callee="02_postgres_taxi"))
    with pytest.raises(FlowCatalogError) as caught:
        load_flow_catalog(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/caller.yaml: flow.tasks[0] calls flow zoomcamp.02_postgres_taxi, which no file of "
        f"{tmp_path} defines; fix the flowId or add 02_postgres_taxi.yaml"
    )


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("id: latin\nnamespace: zoomcamp\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(FlowCatalogError, match=r"latin\.yaml: is not UTF-8 text"):
        load_flow_catalog(tmp_path)


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FlowCatalogError, match="flows folder not found"):
        load_flow_catalog(tmp_path / "nowhere")


def test_a_bad_flow_stops_synth_of_the_local_stack(tmp_path: Path) -> None:
    write(tmp_path, "no_tasks.yaml", "id: no_tasks\nnamespace: zoomcamp\n")
    settings = dataclasses.replace(Settings.from_env({"ZOOMCAMP_STACKS": "local"}), flows_dir=tmp_path)
    with pytest.raises(FlowCatalogError, match=r"no_tasks\.yaml: missing required field 'tasks'"):
        build_app(settings, app=CdktfTesting.app())


def test_synth_also_runs_the_full_flow_validator(tmp_path: Path) -> None:
    """Structurally fine, but Kestra 1.x rejects the misspelt task type: synth must stop too."""
    write(tmp_path, "typo.yaml", GOOD.format(id="typo").replace("plugin.core.log.Log", "plugin.core.log.Logg"))
    with pytest.raises(FlowCatalogError) as caught:
        load_flow_catalog(tmp_path)
    assert "typo.yaml: task 'hello': type io.kestra.plugin.core.log.Logg is not a Kestra 1.x plugin type" in str(
        caught.value
    )


def test_a_warning_never_stops_synth(tmp_path: Path) -> None:
    """Kestra saves a flow with a deprecated alias (tests/flows/test_kestra_judge.py): so does synth."""
    write(tmp_path, "old_alias.yaml", GOOD.format(id="old_alias").replace("plugin.core.log.Log", "core.tasks.log.Log"))
    assert [flow.flow_id for flow in load_flow_catalog(tmp_path)] == ["old_alias"]


def test_every_flow_file_is_read_only_where_git_is_the_truth() -> None:
    """The GCE stack syncs the files as they are: each carries the label that turns the editor off."""
    for flow in repository_catalog():
        assert flow.document.get("labels", {}).get(READ_ONLY_LABEL) == "true", flow.path.name


def test_the_local_stack_ships_editable_flows(local_synth: dict[str, Any]) -> None:
    """The course's exercises are UI edits: no flow deployed locally carries system.readOnly."""
    contents = [flow["content"] for flow in resources(local_synth, "kestra_flow").values()]
    assert len(contents) == len(repository_catalog())
    for content in contents:
        assert READ_ONLY_LABEL not in yaml.safe_load(content).get("labels", {}), content[:80]


@pytest.mark.parametrize(
    ("labels", "left"),
    [
        ('labels:\n  system.readOnly: "true"\n', None),
        ("labels:\n  owner: me\n  system.readOnly: 'true'  # Git is the truth\n", {"owner": "me"}),
    ],
)
def test_editable_content_drops_only_the_read_only_label(tmp_path: Path, labels: str, left: Any) -> None:
    text = GOOD.format(id="editable").replace("tasks:", labels + "tasks:", 1)
    flow = parse_flow_file(write(tmp_path, "editable.yaml", text))
    edited = yaml.safe_load(flow.editable_content)
    assert edited.get("labels") == left
    assert {k: v for k, v in edited.items() if k != "labels"} == {
        k: v for k, v in flow.document.items() if k != "labels"
    }


def test_a_read_only_label_that_cannot_be_removed_line_by_line_is_reported(tmp_path: Path) -> None:
    text = GOOD.format(id="inline").replace("tasks:", 'labels: {system.readOnly: "true"}\ntasks:', 1)
    flow = parse_flow_file(write(tmp_path, "inline.yaml", text))
    with pytest.raises(FlowCatalogError, match=r"inline\.yaml: write the label on its own line"):
        _ = flow.editable_content


# --- one verdict: synth, `make check-flows`, the doctor and the tests ------------------


def test_every_broken_file_is_named_at_once(tmp_path: Path) -> None:
    write(tmp_path, "a_good.yaml", GOOD.format(id="a_good"))
    write(tmp_path, "b_renamed.yaml", GOOD.format(id="original"))
    write(tmp_path, "c_no_tasks.yaml", "id: c_no_tasks\nnamespace: zoomcamp\n")
    verdict = check_flow_catalog(tmp_path)
    assert [flow.flow_id for flow in verdict.flows] == ["a_good"]
    assert [path.name for path in verdict.problems] == ["b_renamed.yaml", "c_no_tasks.yaml"]
    with pytest.raises(FlowCatalogError) as caught:
        load_flow_catalog(tmp_path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2 and "b_renamed.yaml: file name does not match" in lines[0] and "c_no_tasks" in lines[1]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"renamed.yaml": GOOD.format(id="original")}, "renamed.yaml: file name does not match its id 'original'"),
        (
            {"dup.yaml": GOOD.format(id="dup"), "dup.yml": GOOD.format(id="dup")},
            "dup.yml: flow zoomcamp/dup is already defined by",
        ),
        (
            {"typo.yaml": GOOD.format(id="typo").replace("log.Log", "log.Logg")},
            "typo.yaml: task 'hello': type io.kestra.plugin.core.log.Logg is not a Kestra 1.x plugin type",
        ),
    ],
    ids=["name-is-not-the-id", "two-files-one-id", "unknown-type"],
)
def test_check_flows_refuses_what_synth_refuses(
    tmp_path: Path, files: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make check-flows` said "valid" for the first two, which synth then refused."""
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(FlowCatalogError, match=re.escape(message)):
        build_app(dataclasses.replace(Settings.from_env({"ZOOMCAMP_STACKS": "local"}), flows_dir=tmp_path))
    assert run_cli(lambda: main([str(tmp_path)])) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_check_flows_prints_warnings_and_accepts_a_flow_kestra_saves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "old_alias.yaml", GOOD.format(id="old_alias").replace("plugin.core.log.Log", "core.tasks.log.Log"))
    assert run_cli(lambda: main([str(tmp_path)])) == 0
    captured = capsys.readouterr()
    assert "1 flow file(s) valid" in captured.out
    assert "old_alias.yaml: warning (deprecated)" in captured.err


def test_check_flows_is_the_make_target() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    (recipe,) = re.findall(r"^check-flows:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe.strip() == "$(PY) -m flowcheck.flow_catalog"


def _break_flow(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer contains {old!r}: pick another line to break"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.slow
def test_a_broken_flow_fails_one_test_per_broken_rule_and_nothing_cascades(tmp_path: Path) -> None:
    """A copy of flows/ with one rule broken in each of two files: exactly two failures, each showing the
    checker's message first; the tests that need the local stack are skipped, none errors."""
    repository_catalog()  # it starts from flows that load
    flows = Path(shutil.copytree(FLOWS_DIR, tmp_path / "flows"))
    _break_flow(flows / "03_getting_started_data_pipeline.yaml", "core.http.Download\n", "core.http.Downlaod\n")
    _break_flow(flows / "postgres_dbt.yaml", "id: postgres_dbt\n", "id: 03_postgres_dbt_v2\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")}
    env["TEST_FLOWS_DIR"] = str(flows)
    selection = ["tests/unit/test_local_stack.py", "tests/flows/test_flow_lint.py"]
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = completed.stdout.splitlines()
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert re.fullmatch(r"2 failed, \d+ passed, \d+ skipped in [\d.]+s", lines[-1]), lines[-1]
    checker = "tests/flows/test_flow_lint.py::test_repository_flow_is_valid"
    assert [line.split(" - ")[0] for line in lines if line.startswith("FAILED ")] == [
        f"FAILED {checker}[03_getting_started_data_pipeline.yaml]",
        f"FAILED {checker}[postgres_dbt.yaml]",
    ]
    failures = lines[lines.index(next(line for line in lines if " FAILURES " in line)) + 1 :]
    assert "test_repository_flow_is_valid[03_getting_started_data_pipeline.yaml]" in failures[0]
    assert failures[1] == (
        f"{flows}/03_getting_started_data_pipeline.yaml: task 'extract': type io.kestra.plugin.core.http.Downlaod "
        "is not a Kestra 1.x plugin type we know (flowcheck/kestra_plugins.py); check the spelling"
    )
    assert "test_repository_flow_is_valid[postgres_dbt.yaml]" in failures[2]
    assert failures[3].startswith(f"{flows}/postgres_dbt.yaml: file name does not match its id '03_postgres_dbt_v2'")
    skipped = [line for line in lines if line.startswith("SKIPPED ")]
    assert skipped and all(f"see {checker}[03_getting_started_data_pipeline.yaml]" in line for line in skipped)
    assert "Traceback" not in completed.stdout and "jsii" not in completed.stdout


def test_each_flow_file_is_parsed_once_per_run_until_its_text_changes(tmp_path: Path, monkeypatch) -> None:
    """Synth of both stacks, the doctor and the tests ask for the catalog again and again: a file is
    read each time, but parsed (and checked) again only when its text changed."""
    path = write(tmp_path, "once.yaml", GOOD.format(id="once"))
    parsed: list[str] = []
    real = strict_yaml.load_noting_duplicates
    monkeypatch.setattr(strict_yaml, "load_noting_duplicates", lambda text: parsed.append(text) or real(text))
    first = load_flow_catalog(tmp_path)
    assert load_flow_catalog(tmp_path) == first and check_flow_catalog(tmp_path).flows == first
    assert parse_flow_file(path) is first[0]
    assert len(parsed) == 1
    path.write_text(GOOD.format(id="once").replace("message: hi", "message: hello"), encoding="utf-8")
    assert "hello" in load_flow_catalog(tmp_path)[0].content
    assert len(parsed) == 2
