"""A synth is reused exactly when nothing that goes into it changed (stacks/synth_cache.py).

The key is computed on a copy of the project in tmp_path, so changing each input costs
milliseconds, not a synth; one subprocess test runs `python main.py` twice as cdktf does.
`make diff` (plan_diff/synthesize.py) reuses both of its sides the same way.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plan_diff import synthesize as plan_synth
from stacks import synth_cache
from stacks.settings import PROJECT_ROOT, Settings

COPIED = (
    "stacks",
    "flowcheck",
    "common",
    "ops",
    "flows",
    "dbt",
    "main.py",
    "cdktf.json",
    "Pipfile.lock",
    "package-lock.json",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The inputs of a synth, copied (no Git checkout: the dbt files are chosen without Git)."""
    root = tmp_path / "project"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    (tmp_path / "home").mkdir()
    return root


def base_env(project: Path) -> dict[str, str]:
    return {
        "ZOOMCAMP_STACKS": "local",
        "GCP_PROJECT_ID": "zoomcamp-test-project",
        "HOME": str(project.parent / "home"),
        "PATH": os.environ.get("PATH", ""),
    }


def key_of(project: Path, env: dict[str, str]) -> str | None:
    settings = dataclasses.replace(Settings.from_env(env), flows_dir=project / "flows")
    return synth_cache.synth_key(project, settings, env, cwd=project)


def append(relative: str, text: str = "\n# changed\n") -> Callable[[Path], None]:
    def change(project: Path) -> None:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)

    return change


FILE_CHANGES = {
    "a stack source": append("stacks/local/stack.py"),
    "a data file of the stacks": append("stacks/gce/files/kestra-boot.sh"),
    "the flow checker": append("flowcheck/flow_lint.py"),
    "the flow checker's data": append("flowcheck/kestra_core_properties.json", "\n"),
    "the shared errors": append("common/errors.py"),
    "a flow": append("flows/04_postgres_taxi.yaml"),
    "a new flow file": append("flows/99_new.yaml", "id: 99_new\n"),
    "a shipped dbt model": append("dbt/models/staging/stg_green_tripdata.sql", "\n-- changed\n"),
    "dbt's requirements": append("dbt/requirements-postgres.txt", "\n"),
    "main.py": append("main.py"),
    "cdktf.json": append("cdktf.json", "\n"),
    "Pipfile.lock": append("Pipfile.lock", "\n"),
    "package-lock.json": append("package-lock.json", "\n"),
}


def test_nothing_changed_gives_the_same_key(project: Path) -> None:
    env = base_env(project)
    first = key_of(project, env)
    assert first is not None and first == key_of(project, dict(env))


@pytest.mark.parametrize("change", FILE_CHANGES.values(), ids=FILE_CHANGES.keys())
def test_changing_an_input_file_gives_a_new_key(project: Path, change: Callable[[Path], None]) -> None:
    env = base_env(project)
    before = key_of(project, env)
    change(project)
    assert key_of(project, env) != before


UNSHIPPED = {
    "a dbt README": append("dbt/README.md"),
    "dbt's output": append("dbt/target/run_results.json", "{}"),
    "a Python cache": append("stacks/__pycache__/local.cpython-311.pyc", "x"),
    "an operator command": append("ops/deploy/runner.py"),
    "a file outside the inputs": append("notes.txt"),
}


@pytest.mark.parametrize("change", UNSHIPPED.values(), ids=UNSHIPPED.keys())
def test_what_is_not_shipped_or_read_keeps_the_key(project: Path, change: Callable[[Path], None]) -> None:
    env = base_env(project)
    before = key_of(project, env)
    change(project)
    assert key_of(project, env) == before


def test_the_dbt_files_are_chosen_as_the_stack_chooses_them(project: Path) -> None:
    """In a Git checkout a git-ignored model is not shipped, so it is not part of the key either."""
    subprocess.run(["git", "init", "--quiet", str(project)], check=True)
    (project / ".gitignore").write_text("dbt/models/scratch.sql\n", encoding="utf-8")
    env = base_env(project)
    before = key_of(project, env)
    append("dbt/models/scratch.sql", "select 1\n")(project)
    assert key_of(project, env) == before
    append("dbt/models/kept.sql", "select 1\n")(project)
    assert key_of(project, env) != before


SETTING_CHANGES = {
    "ZOOMCAMP_STACKS": "local,gcp",
    "KESTRA_PORT": "9090",
    "ZOOMCAMP_PREFIX": "course",
    "PGADMIN_ENABLED": "true",
    "GCP_REGION": "us-central1",
    "KESTRA_IMAGE": "kestra/kestra:v1.3.30",
    "ZOOMCAMP_SANDBOX": "true",
    "SYNTH_HCL_OUTPUT": "true",
    "CDKTF_CONTEXT_JSON": '{"excludeStackIdFromLogicalIds": "true"}',
}


@pytest.mark.parametrize(("name", "value"), SETTING_CHANGES.items(), ids=SETTING_CHANGES.keys())
def test_changing_a_setting_gives_a_new_key(project: Path, name: str, value: str) -> None:
    env = base_env(project)
    env.setdefault("ZOOMCAMP_GIT_URL", "https://github.com/example/zoomcamp-kestra.git")
    before = key_of(project, env)
    assert key_of(project, {**env, name: value}) != before


def test_every_value_of_the_settings_is_keyed_wherever_it_came_from(project: Path) -> None:
    """Settings may read a value from a file, or hide it from repr (a key): the values are keyed."""
    env = base_env(project)
    settings = dataclasses.replace(Settings.from_env(env), flows_dir=project / "flows")
    hidden = dataclasses.replace(settings, kestra=dataclasses.replace(settings.kestra, password="Another-Passw0rd"))
    assert synth_cache.synth_key(project, hidden, env, cwd=project) != synth_cache.synth_key(
        project, settings, env, cwd=project
    )
    keyed = json.loads(synth_cache.settings_values(settings))
    assert keyed == json.loads(json.dumps(dataclasses.asdict(settings), default=str))


def test_what_cdktf_and_the_shell_set_for_every_run_keeps_the_key(project: Path) -> None:
    """The CLI's own variables for each synth, and unrelated ones, do not make a synth look new."""
    env = base_env(project)
    before = key_of(project, env)
    cli = {
        "CDKTF_OUTDIR": "/somewhere/else",
        "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS": "true",
        "CDKTF_CONTEXT_JSON": '{"cdktfRelativeModules":[]}',
        "SYNTH_HCL_OUTPUT": "false",
        "NODE_OPTIONS": "--max-old-space-size=4096",
        "EDITOR": "vim",
        "TERM": "xterm",
    }
    assert key_of(project, {**env, **cli}) == before


def test_without_a_project_setting_the_adc_files_are_keyed(project: Path) -> None:
    """google-auth reads the project from them; gcloud's configuration too for a user login."""
    env = {k: v for k, v in base_env(project).items() if k != "GCP_PROJECT_ID"}
    before = key_of(project, env)
    gcloud = Path(env["HOME"]) / ".config" / "gcloud"
    append(".config/gcloud/application_default_credentials.json", '{"type": "authorized_user"}')(gcloud.parent.parent)
    with_adc = key_of(project, env)
    assert with_adc != before
    append(".config/gcloud/configurations/config_default", "[core]\nproject = other\n")(gcloud.parent.parent)
    assert key_of(project, env) != with_adc
    assert key_of(project, {**env, "GOOGLE_CLOUD_PROJECT": "third"}) != key_of(project, env)


def test_on_compute_engine_nothing_is_reused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """There the metadata server can name the project: no file shows it, so no key."""
    product = project.parent / "product_name"
    product.write_text("Google Compute Engine\n", encoding="utf-8")
    monkeypatch.setattr(synth_cache, "_GCE_PRODUCT_NAME", product)
    env = base_env(project)
    assert key_of(project, env) is not None, "with GCP_PROJECT_ID nothing is looked up"
    assert key_of(project, {k: v for k, v in env.items() if k != "GCP_PROJECT_ID"}) is None


def test_the_git_remote_the_vm_syncs_from_is_keyed_when_no_url_is_set(project: Path) -> None:
    env = {**base_env(project), "ZOOMCAMP_STACKS": "local,gcp"}
    subprocess.run(["git", "init", "--quiet", str(project)], check=True)
    remote = ["git", "-C", str(project), "remote"]
    subprocess.run([*remote, "add", "origin", "https://github.com/a/zoomcamp.git"], check=True)
    before = key_of(project, env)
    subprocess.run([*remote, "set-url", "origin", "https://github.com/b/zoomcamp.git"], check=True)
    assert key_of(project, env) != before
    url = "https://github.com/a/zoomcamp.git"
    assert key_of(project, {**env, "ZOOMCAMP_GIT_URL": url}) == key_of(project, {**env, "ZOOMCAMP_GIT_URL": url})


# --- the stamp ---------------------------------------------------------------------------


def fake_output(outdir: Path, annotations: list[dict[str, str]] | None = None) -> None:
    (outdir / "stacks" / "local").mkdir(parents=True)
    (outdir / "stacks" / "local" / "cdk.tf.json").write_text("{}", encoding="utf-8")
    body = {"synthesizedStackPath": "stacks/local/cdk.tf.json", "annotations": annotations or []}
    (outdir / "manifest.json").write_text(json.dumps({"stacks": {"local": body}}), encoding="utf-8")


def test_a_stamp_vouches_only_for_its_key_and_complete_files(tmp_path: Path) -> None:
    fake_output(tmp_path)
    assert synth_cache.reusable(tmp_path, "k1") is None, "no stamp yet"
    synth_cache.remember(tmp_path, "k1", ["note: something"])
    stamp = synth_cache.reusable(tmp_path, "k1")
    assert stamp is not None and stamp.notes == ("note: something",) and stamp.stacks == ("local",)
    assert synth_cache.reusable(tmp_path, "k2") is None
    assert synth_cache.reusable(tmp_path, None) is None
    (tmp_path / "stacks" / "local" / "cdk.tf.json").unlink()
    assert synth_cache.reusable(tmp_path, "k1") is None, "a file of the output is gone"


def test_a_synth_that_starts_forgets_the_stamp_first(tmp_path: Path) -> None:
    fake_output(tmp_path)
    synth_cache.remember(tmp_path, "k1", [])
    synth_cache.forget(tmp_path)
    assert not (tmp_path / synth_cache.STAMP_NAME).exists()
    synth_cache.forget(tmp_path / "never-made")  # no folder yet: nothing to forget


def test_an_output_with_error_annotations_is_never_stamped(tmp_path: Path) -> None:
    fake_output(tmp_path, [{"level": "@cdktf/error", "message": "bad"}])
    assert synth_cache.remember(tmp_path, "k1", []) is None
    assert synth_cache.reusable(tmp_path, "k1") is None


def test_a_reused_synth_prints_the_notes_again_without_importing_cdktf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import main

    env = {"ZOOMCAMP_STACKS": "local", "GCP_PROJECT_ID": "zoomcamp-test-project", "CDKTF_OUTDIR": str(tmp_path)}
    monkeypatch.setattr(os, "environ", {**os.environ, **env})
    settings = Settings.from_env(os.environ)
    fake_output(tmp_path)
    synth_cache.remember(tmp_path, synth_cache.synth_key(PROJECT_ROOT, settings, os.environ), ["note: x"])
    monkeypatch.setitem(sys.modules, "stacks.app", None)  # importing it would fail
    assert main.synthesize(settings) == tmp_path
    assert capsys.readouterr().out == "note: x\n"
    assert synth_cache.read_stamp(tmp_path).last_run == "reused"  # type: ignore[union-attr]


# --- as cdktf runs it ----------------------------------------------------------------------


@pytest.mark.slow
def test_main_twice_reuses_the_first_synth(tmp_path: Path) -> None:
    """What `cdktf synth` runs (cdktf.json's app), twice, with nothing changed in between."""
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "GCP_"))}
    env |= {"ZOOMCAMP_STACKS": "local", "GCP_PROJECT_ID": "zoomcamp-test-project", "CDKTF_OUTDIR": str(out)}

    def synth() -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        return completed, time.monotonic() - started

    synth()
    stack = out / "stacks" / "local" / "cdk.tf.json"
    built = stack.read_bytes()
    assert synth_cache.read_stamp(out).last_run == "built"  # type: ignore[union-attr]
    tfvars = out / "stacks" / "local" / "credentials.auto.tfvars.json"
    tfvars.unlink()

    second, seconds = synth()

    assert synth_cache.read_stamp(out).last_run == "reused"  # type: ignore[union-attr]
    assert seconds < 1.5, f"a reused synth took {seconds:.2f}s"
    assert stack.read_bytes() == built
    assert (out / "manifest.json").is_file(), "cdktf's CLI reads the manifest after every synth"
    assert tfvars.stat().st_mode & 0o777 == 0o600, "the credentials are written again on a reused synth"
    assert second.stderr == ""


# --- `make diff`: both sides reused when nothing changed ------------------------------------


def test_make_diff_reuses_the_working_tree_until_an_input_changes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_synthesize(tree: Path, label: str, stacks: tuple[str, ...]) -> dict[str, dict[str, object]]:
        calls.append(label)
        return {"local": {"resource": {"n": len(calls)}}}

    monkeypatch.setattr(plan_synth, "synthesize_tree", fake_synthesize)
    said: list[str] = []
    first = plan_synth.synthesize_tree_cached(project, "the working tree", ("local",), said.append)
    again = plan_synth.synthesize_tree_cached(project, "the working tree", ("local",), said.append)
    assert calls == ["the working tree"] and again == first
    assert said == [
        "synthesizing local at the working tree",
        "reused local at the working tree: nothing that goes into them changed",
    ]
    append("flows/04_postgres_taxi.yaml")(project)
    assert plan_synth.synthesize_tree_cached(project, "the working tree", ("local",), said.append) != first
    assert len(calls) == 2
    assert (project / "cdktf.out" / ".plan-diff").is_dir(), "kept beside the synthesized stacks (make clean)"


def test_make_diff_reuses_a_base_commit_with_the_same_settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_synthesize(repo: Path, commit: str, label: str, stacks: tuple[str, ...]) -> dict[str, dict[str, object]]:
        calls.append(commit)
        return {"local": {"commit": commit}}

    monkeypatch.setattr(plan_synth, "synthesize_revision", fake_synthesize)
    for commit in ("a" * 40, "a" * 40, "b" * 40):
        plan_synth.synthesize_revision_cached(project, commit, "base", ("local",), lambda _: None)
    assert calls == ["a" * 40, "b" * 40]
    monkeypatch.setenv("KESTRA_PORT", "9191")  # a setting: the same commit synthesizes differently
    plan_synth.synthesize_revision_cached(project, "a" * 40, "base", ("local",), lambda _: None)
    assert calls == ["a" * 40, "b" * 40, "a" * 40]


def test_make_diff_keeps_only_the_latest_sides_and_nothing_for_other_repositories(tmp_path: Path) -> None:
    assert plan_synth.cache_dir(tmp_path) is None, "not a checkout of this project: no key for its inputs"
    folder = tmp_path / "cache"
    for index in range(plan_synth.CACHE_KEEP + 3):
        plan_synth.store(folder, f"key{index}", {"local": {}})
        os.utime(folder / f"key{index}.json", (index, index))
    assert len(list(folder.glob("*.json"))) == plan_synth.CACHE_KEEP
    assert plan_synth.cached(folder, "key0") is None
    assert plan_synth.cached(folder, f"key{plan_synth.CACHE_KEEP + 2}") == {"local": {}}
