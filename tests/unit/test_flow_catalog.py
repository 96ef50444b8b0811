"""Every flows/*.yaml becomes one flow; anything Kestra would reject stops synth, naming the file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from cdktf import Testing as CdktfTesting
from synth import resources

from stacks.app import build_app
from stacks.flow_catalog import READ_ONLY_LABEL, FlowCatalogError, load_flow_catalog, parse_flow_file
from stacks.settings import PROJECT_ROOT, Settings

GOOD = (
    "id: {id}\nnamespace: zoomcamp\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_flows_load_and_match_their_files() -> None:
    flows = load_flow_catalog(PROJECT_ROOT / "flows")
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
    assert flows[0].construct_id == "flow_a_flow"


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
    for flow in load_flow_catalog(PROJECT_ROOT / "flows"):
        assert flow.document.get("labels", {}).get(READ_ONLY_LABEL) == "true", flow.path.name


def test_the_local_stack_ships_editable_flows(local_synth: dict[str, Any]) -> None:
    """The course's exercises are UI edits: no flow deployed locally carries system.readOnly."""
    contents = [flow["content"] for flow in resources(local_synth, "kestra_flow").values()]
    assert len(contents) == len(load_flow_catalog(PROJECT_ROOT / "flows"))
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
