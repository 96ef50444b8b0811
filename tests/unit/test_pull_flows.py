"""`make pull-flows`: UI edits written back into flows/, bad ones refused with the file untouched.

No Kestra server can start on these machines (its webserver module is not on Maven Central), so
the API is a small fake at the boundary (tests/support/fakes.py: FakeKestraState) speaking the endpoints
the command uses, shaped as Kestra's FlowController answers them (`GET /api/v1/main/flows/search`,
`GET .../{ns}/{id}?source=true`).
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from common.errors import BundleError, run_cli
from flowcheck.flow_catalog import READ_ONLY_LABEL, load_flow_catalog
from ops.deploy.kestra_health import KestraApi, local_kestra_api
from ops.pull_flows import main, pull_flows, with_read_only_label
from stacks.settings import PROJECT_ROOT, Settings
from stacks.versions import KESTRA_VERSION
from tests.support.fakes import FakeKestraState, fake_kestra_api

USER, PASSWORD = "admin@example.com", "Secret123pass"


@pytest.fixture
def kestra() -> Iterator[tuple[KestraApi, dict[str, str]]]:
    """A fake Kestra holding what `make deploy-local` deployed: every file's editable content."""
    deployed = {f.flow_id: f.editable_content for f in load_flow_catalog(PROJECT_ROOT / "flows")}
    with fake_kestra_api(FakeKestraState(USER, PASSWORD, flows=deployed)) as url:
        yield KestraApi(url, USER, PASSWORD, timeout=5), deployed


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows"))


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def test_nothing_edited_writes_nothing(kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path) -> None:
    api, _ = kestra
    before, out = snapshot(flows_dir), io.StringIO()
    assert pull_flows(api, flows_dir, "zoomcamp", out) == 0
    assert snapshot(flows_dir) == before
    assert out.getvalue().count(": unchanged") == len(before)


def test_a_ui_edit_is_written_back_with_the_read_only_label(
    kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path
) -> None:
    """The course's exercise: disable the purge task in the UI; the file gets the edit and keeps its label."""
    api, deployed = kestra
    (flows_dir / "04_postgres_taxi.yaml").chmod(0o640)  # whatever the file's mode, the rewrite keeps it
    original = (flows_dir / "04_postgres_taxi.yaml").read_text(encoding="utf-8")
    edited = deployed["04_postgres_taxi"].replace("  - id: purge_files\n", "  - id: purge_files\n    disabled: true\n")
    assert edited != deployed["04_postgres_taxi"]
    deployed["04_postgres_taxi"] = edited
    out = io.StringIO()
    assert pull_flows(api, flows_dir, "zoomcamp", out) == 0
    written = (flows_dir / "04_postgres_taxi.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(written) == {**yaml.safe_load(edited), "labels": {READ_ONLY_LABEL: "true"}}
    # only the learner's edit changed the file: layout, comments and the label's place are kept
    assert written == original.replace("  - id: purge_files\n", "  - id: purge_files\n    disabled: true\n")
    assert "✓ flows/04_postgres_taxi.yaml: updated from Kestra" in out.getvalue()
    assert (flows_dir / "04_postgres_taxi.yaml").stat().st_mode & 0o777 == 0o640
    # and the next deploy ships exactly what the learner had in the UI
    (flow,) = [f for f in load_flow_catalog(flows_dir) if f.flow_id == "04_postgres_taxi"]
    assert flow.editable_content == edited


def test_a_flow_made_in_the_ui_gets_its_own_file(kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path) -> None:
    api, deployed = kestra
    deployed["foreach_challenge"] = (
        "id: foreach_challenge\nnamespace: zoomcamp\ntasks:\n"
        "  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [green, yellow]\n    tasks:\n"
        '      - id: log\n        type: io.kestra.plugin.core.log.Log\n        message: "{{ taskrun.value }}"\n'
    )
    umask = os.umask(0o022)
    try:
        assert pull_flows(api, flows_dir, "zoomcamp", io.StringIO()) == 0
    finally:
        os.umask(umask)
    assert (flows_dir / "foreach_challenge.yaml").stat().st_mode & 0o777 == 0o644, "readable like any file you save"
    created = yaml.safe_load((flows_dir / "foreach_challenge.yaml").read_text(encoding="utf-8"))
    assert created["labels"] == {READ_ONLY_LABEL: "true"} and created["tasks"][0]["id"] == "each"


def test_a_flow_broken_in_the_ui_is_reported_and_its_file_left_untouched(
    kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path
) -> None:
    api, deployed = kestra
    deployed["04_postgres_taxi"] = deployed["04_postgres_taxi"].replace(
        "io.kestra.plugin.core.execution.Labels", "io.kestra.plugin.core.execution.Lables", 1
    )
    before, out = snapshot(flows_dir), io.StringIO()
    assert pull_flows(api, flows_dir, "zoomcamp", out) == 1
    assert snapshot(flows_dir) == before
    (line,) = [ln for ln in out.getvalue().splitlines() if "✗" in ln]
    assert line.startswith("  ✗ flows/04_postgres_taxi.yaml: left untouched; zoomcamp.04_postgres_taxi in Kestra:")
    assert "Lables" in line


def test_dry_run_writes_nothing(kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path) -> None:
    api, deployed = kestra
    deployed["04_postgres_taxi"] += "\ndisabled: false\n"
    before, out = snapshot(flows_dir), io.StringIO()
    assert pull_flows(api, flows_dir, "zoomcamp", out, dry_run=True) == 0
    assert snapshot(flows_dir) == before and "would write" in out.getvalue()


@pytest.mark.parametrize("side", ["file", "ui"])
def test_a_comment_only_difference_is_named_and_neither_side_overwritten(
    kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path, side: str
) -> None:
    """The provider ignores comments (isYamlEqualsFlow), so a comment edited in the file never reached
    Kestra: writing Kestra's copy back would undo the learner's edit in the file."""
    api, deployed = kestra
    path = flows_dir / "04_postgres_taxi.yaml"
    if side == "file":
        path.write_text(path.read_text(encoding="utf-8") + "# my note from the video\n", encoding="utf-8")
    else:
        deployed["04_postgres_taxi"] = "# a note typed in the UI\n" + deployed["04_postgres_taxi"]
    before, out = snapshot(flows_dir), io.StringIO()
    assert pull_flows(api, flows_dir, "zoomcamp", out) == 0
    assert snapshot(flows_dir) == before
    assert (
        "  ~ flows/04_postgres_taxi.yaml: left as is; only comments or layout differ from Kestra's copy, which the "
        "provider ignores: a comment edited in the file is not deployed (change a value with it), one edited in "
        "the UI stays in Kestra only (copy it into the file to keep it)"
    ) in out.getvalue().splitlines()


def test_a_wrong_password_is_one_line(kestra: tuple[KestraApi, dict[str, str]], flows_dir: Path) -> None:
    api, _ = kestra
    wrong = KestraApi(api.url, USER, "Wrong123pass")
    expected = r"^Kestra at http://127\.0\.0\.1:\d+ refuses the login admin@example\.com; check KESTRA_USERNAME and "
    with pytest.raises(BundleError, match=expected + "KESTRA_PASSWORD: Kestra saves the configured login"):
        pull_flows(wrong, flows_dir, "zoomcamp", io.StringIO())
    with pytest.raises(BundleError, match=expected):  # what main() asks first
        wrong.check_login("zoomcamp")
    assert api.check_login("zoomcamp") == f"Kestra {KESTRA_VERSION}"


def test_no_kestra_running_is_one_line(flows_dir: Path) -> None:
    api = KestraApi("http://127.0.0.1:9", USER, PASSWORD, timeout=2)
    with pytest.raises(BundleError, match=r"cannot reach Kestra at http://127\.0\.0\.1:9 .*make deploy-local"):
        pull_flows(api, flows_dir, "zoomcamp", io.StringIO())


@pytest.mark.parametrize(
    ("source", "labels"),
    [
        ("id: a\nnamespace: zoomcamp\ntasks: []\n", {READ_ONLY_LABEL: "true"}),
        ("id: a\nnamespace: zoomcamp\nlabels:\n  owner: me\ntasks: []\n", {"owner": "me", READ_ONLY_LABEL: "true"}),
        ('id: a\nnamespace: zoomcamp\nlabels:\n  system.readOnly: "true"\ntasks: []\n', {READ_ONLY_LABEL: "true"}),
    ],
)
def test_the_label_goes_back_whatever_kestra_kept(source: str, labels: dict[str, str]) -> None:
    assert yaml.safe_load(with_read_only_label(source))["labels"] == labels


def test_labels_kestra_wrote_inline_are_refused_not_mangled() -> None:
    with pytest.raises(BundleError, match="labels are not a block mapping"):
        with_read_only_label("id: a\nnamespace: zoomcamp\nlabels: {owner: me}\ntasks: []\n")


def test_a_checkout_never_deployed_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"no local\.env and no KESTRA_PASSWORD: the local stack was never deployed"):
        local_kestra_api(Settings.from_env({}), tmp_path / "local.env")
    api = local_kestra_api(Settings.from_env({"KESTRA_PASSWORD": PASSWORD}), tmp_path / "local.env")
    assert (api.url, api.password) == ("http://localhost:8080", PASSWORD)


BROKEN_IN_THE_UI = {
    "a misspelt task type": (
        lambda source: source.replace(
            "io.kestra.plugin.core.execution.Labels", "io.kestra.plugin.core.execution.Lables", 1
        ),
        "Lables",
    ),
    "YAML that does not parse": (lambda source: source + "  - id: [unclosed\n", "invalid YAML"),
    "no tasks left": (
        lambda source: source.split("\n", 1)[0] + "\nnamespace: zoomcamp\n",
        "'tasks' must be a non-empty list",
    ),
    "another id in the source": (
        lambda source: re.sub(r"^id: (\w+)$", r"id: \1_v2", source, count=1, flags=re.MULTILINE),
        "its source says id '04_postgres_taxi_v2'",
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN_IN_THE_UI))
def test_make_pull_flows_refuses_a_flow_broken_in_the_ui_in_one_line_and_leaves_the_file_byte_identical(
    broken: str,
    kestra: tuple[KestraApi, dict[str, str]],
    flows_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The write-back door as the learner meets it: the command, its output and its exit code."""
    api, deployed = kestra
    edit, problem = BROKEN_IN_THE_UI[broken]
    settings = dataclasses.replace(Settings.from_env({}), flows_dir=flows_dir)
    # Kestra holds every file under the id it names: flows/04_postgres_taxi.yaml is 04_postgres_taxi.
    deployed.clear()
    deployed.update({f.flow_id: f.editable_content for f in load_flow_catalog(settings.flows_dir)})
    deployed["04_postgres_taxi"] = edit(deployed["04_postgres_taxi"])
    monkeypatch.setattr("ops.pull_flows.local_kestra_api", lambda _settings: api)
    before = {path.name: path.read_bytes() for path in flows_dir.iterdir()}

    assert run_cli(lambda: main([])) == 1

    assert {path.name: path.read_bytes() for path in flows_dir.iterdir()} == before  # no byte, no temp file
    out, err = capsys.readouterr()
    (refused,) = [line for line in out.splitlines() if "✗" in line]
    assert refused.startswith("  ✗ flows/04_postgres_taxi.yaml: left untouched; zoomcamp.04_postgres_taxi in Kestra:")
    assert problem in refused
    assert out.count(": unchanged") == len(before) - 1
    assert err.splitlines() == [
        "error: 1 flow(s) left untouched: fix them in Kestra's UI and run make pull-flows again"
    ]
