"""The two dbt flows and the dbt project they run must agree, read from the files themselves.

What a running Kestra would only reveal mid-execution is checked here: the flows run the
project in this repository (the namespace files the stacks deploy from dbt/, at the root of
the task's working directory; no clone), in a pinned Python image that installs
exactly the dbt the test suite builds with, hash-checked (dbt/requirements-<adapter>.txt,
generated from tools/dbt/Pipfile.lock), `dbt build` by default, `dbt deps` exactly when
the project declares packages, and environment variables that are the ones profiles.yml
reads (a typo there is a "required env var not provided" at run time). No credentials in
the profile or the flows: secrets come from Kestra's secret() or a per-run token.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import dbt_constraints
from stacks.dbt_project import load_dbt_project
from tests.support.synth import FLOWS_DIR, repository_catalog

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt"
FLOWS = {"postgres": FLOWS_DIR / "postgres_dbt.yaml", "bigquery": FLOWS_DIR / "gcp_dbt.yaml"}


def flow_document(target: str) -> dict[str, Any]:
    """The dbt flow as synth reads it; skipped when the flows do not load (their checker's test fails)."""
    (flow,) = [flow for flow in repository_catalog() if flow.path == FLOWS[target]]
    return flow.document


IMAGE = re.compile(r"^python:(?P<minor>3\.\d+)\.\d+-slim-bookworm$")
ENV_VAR = re.compile(r"env_var\(\s*'(?P<name>[A-Z0-9_]+)'\s*(?P<default>,)?")


def walk(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield task
        yield from walk(task.get("tasks", []))


def dbt_task(target: str) -> dict[str, Any]:
    flow = flow_document(target)
    (task,) = [t for t in walk(flow["tasks"]) if t["type"] == "io.kestra.plugin.dbt.cli.DbtCLI"]
    return task


def pipfile_pins() -> dict[str, str]:
    with (ROOT / "tools" / "dbt" / "Pipfile").open("rb") as pipfile:
        packages = tomllib.load(pipfile)["packages"]
    return {name: pin.removeprefix("==") for name, pin in packages.items() if name.startswith("dbt-")}


def profile_env_vars() -> dict[str, dict[str, bool]]:
    """Per target: the env vars its profile output reads, and whether each has a default."""
    text = (DBT_DIR / "profiles.yml").read_text()
    outputs = yaml.safe_load(text)["zoomcamp_taxi"]["outputs"]
    result: dict[str, dict[str, bool]] = {}
    for target, output in outputs.items():
        found = [m for value in output.values() for m in ENV_VAR.finditer(str(value))]
        result[target] = {m["name"]: m["default"] is not None for m in found}
    # The project itself (sources.yml) reads these, whatever the target.
    for path in set(DBT_DIR.rglob("*.yml")) - {DBT_DIR / "profiles.yml"}:
        for m in ENV_VAR.finditer(path.read_text()):
            for reads in result.values():
                reads.setdefault(m["name"], m["default"] is not None)
    return result


# Kestra 1.3 io.kestra.core.models.tasks.NamespaceFiles: the keys a task's namespaceFiles takes.
NAMESPACE_FILES_KEYS = frozenset({"enabled", "include", "exclude", "namespaces", "ifExists", "folderPerNamespace"})


def namespace_files_problems(flow: dict[str, Any]) -> list[str]:
    """Why this flow would not run the deployed dbt project as its working directory."""
    problems = [f"task {t['id']}: clones a repository" for t in walk(flow["tasks"]) if ".git." in t["type"]]
    (task,) = [t for t in walk(flow["tasks"]) if t["type"] == "io.kestra.plugin.dbt.cli.DbtCLI"]
    files = task.get("namespaceFiles") or {}
    if files.get("enabled") is not True:
        problems.append("namespaceFiles.enabled must be true: the project comes from namespace files")
    problems += [f"namespaceFiles.{key} is not a Kestra property" for key in sorted(set(files) - NAMESPACE_FILES_KEYS)]
    # The whole namespace, at the root: it holds the project and nothing else (both stacks).
    problems += [
        f"namespaceFiles.{key} changes which files land where"
        for key in ("include", "exclude", "folderPerNamespace", "namespaces")
        if files.get(key)
    ]
    if "projectDir" in task or task.get("env", {}).get("DBT_PROFILES_DIR") != ".":
        problems.append("the project is the working directory: no projectDir, DBT_PROFILES_DIR '.'")
    if flow.get("namespace") != "zoomcamp":
        problems.append("the stacks deploy the project to namespace zoomcamp")
    return problems


@pytest.mark.parametrize("target", FLOWS)
def test_flow_runs_the_deployed_namespace_files_without_a_clone(target: str) -> None:
    flow = flow_document(target)
    assert namespace_files_problems(flow) == []
    assert not {"git_url", "git_branch"} & {i["id"] for i in flow["inputs"]}
    assert "variables" not in flow and "YOUR-GITHUB-USER" not in FLOWS[target].read_text()
    paths = {file.namespace_path for file in load_dbt_project()}
    assert {
        "/dbt_project.yml",
        "/profiles.yml",
        "/requirements-postgres.txt",
    } <= paths  # at the working directory's root


def test_namespace_files_check_fails_on_a_clone_or_another_layout() -> None:
    flow = flow_document("postgres")
    (task,) = [t for t in walk(flow["tasks"]) if t["type"] == "io.kestra.plugin.dbt.cli.DbtCLI"]
    cloned = {**flow, "tasks": [{"id": "clone", "type": "io.kestra.plugin.git.Clone"}, task]}
    assert namespace_files_problems(cloned) == ["task clone: clones a repository"]
    for change, expected in (
        ({"namespaceFiles": {"enabled": False}}, "namespaceFiles.enabled must be true"),
        ({"namespaceFiles": {"enabled": True, "include": ["dbt/**"]}}, "namespaceFiles.include changes"),
        ({"namespaceFiles": {"enabled": True, "inclde": ["x"]}}, "namespaceFiles.inclde is not a Kestra"),
        ({"projectDir": "dbt"}, "the project is the working directory"),
    ):
        broken = {**flow, "tasks": [{**task, **change}]}
        assert any(p.startswith(expected) for p in namespace_files_problems(broken)), change


def install_command(task: dict[str, Any]) -> list[str]:
    """The words of the flow's `pip install` before-command (the only one it has)."""
    (command,) = task["beforeCommands"]
    return command.split()


@pytest.mark.parametrize("target", FLOWS)
def test_flow_installs_exactly_the_dbt_the_tests_build_with(target: str) -> None:
    """dbt Labs' adapter images stopped being published reliably after 1.9.0 (dbt-labs/dbt-adapters
    #1164, #1408): a pinned Python image of the lock's Python installs, hash-checked, the
    requirements generated for this target from the lock the test suite runs."""
    task = dbt_task(target)
    match = IMAGE.match(task["containerImage"])
    assert match, f"{task['containerImage']!r}: use a pinned python:X.Y.Z-slim-bookworm image"
    lock = dbt_constraints.read_lock()
    assert match["minor"] == dbt_constraints.lock_python(lock), "the lock was resolved for another Python"
    words = install_command(task)
    assert words[:2] == ["pip", "install"]
    assert "--require-hashes" in words, "pip checks every file against the lock's hashes"
    requirements = words[words.index("--requirement") + 1]
    # Relative to the working directory, where the namespace files land (stacks/dbt_project.py).
    assert f"/{requirements}" in {file.namespace_path for file in load_dbt_project()}
    assert requirements == dbt_constraints.requirements_file(target).name
    packages = [w for w in words[2:] if not w.startswith("-") and w != requirements]
    assert packages == [], "everything comes from the requirements file"
    pinned = dbt_constraints.pins(dbt_constraints.requirements_file(target).read_text(encoding="utf-8"))
    assert pinned[f"dbt-{target}"] == pipfile_pins()[f"dbt-{target}"]
    assert pinned["dbt-core"] == pipfile_pins()["dbt-core"]
    other = next(adapter for adapter in dbt_constraints.ADAPTERS if adapter != target)
    assert f"dbt-{other}" not in pinned, "only this target's adapter"
    assert "entryPoint" not in task["taskRunner"], "python images have no entrypoint to reset"


@pytest.mark.parametrize("adapter", dbt_constraints.ADAPTERS)
def test_requirements_are_the_lock_the_tests_run(adapter: str) -> None:
    expected = dbt_constraints.render(dbt_constraints.read_lock(), adapter, dbt_constraints.installed_requirements())
    actual = dbt_constraints.requirements_file(adapter).read_text(encoding="utf-8")
    assert actual == expected, f"dbt/requirements-{adapter}.txt is stale: run `{dbt_constraints.REGENERATE}`"


def test_every_requirement_carries_the_locks_hashes() -> None:
    lock = dbt_constraints.read_lock()["default"]
    text = dbt_constraints.requirements_file("postgres").read_text(encoding="utf-8")
    entries = [e for e in text.replace("\\\n", " ").splitlines() if e and not e.startswith("#")]
    assert len({e.split("==", 1)[0].split("[", 1)[0] for e in entries}) == len(dbt_constraints.pins(text))
    for entry in entries:
        name = entry.split("==", 1)[0].split("[", 1)[0]
        assert {h.strip() for h in entry.split("--hash=")[1:]} == set(lock[name]["hashes"]), name


def test_requirements_follow_a_relocked_version() -> None:
    """The comparison above can fail: a lock with another dbt-postgres renders other pins."""
    lock = dbt_constraints.read_lock()
    requires = dbt_constraints.installed_requirements()
    lock["default"]["dbt-postgres"] = {**lock["default"]["dbt-postgres"], "version": "==0.0.1"}
    stale = dbt_constraints.requirements_file("postgres").read_text(encoding="utf-8")
    assert dbt_constraints.render(lock, "postgres", requires) != stale
    assert dbt_constraints.pins(dbt_constraints.render(lock, "postgres", requires))["dbt-postgres"] == "0.0.1"
    with pytest.raises(ValueError, match="no exact version"):
        dbt_constraints.render(
            {**lock, "default": {**lock["default"], "dbt-core": {"version": ">=1.10"}}}, "postgres", requires
        )
    with pytest.raises(ValueError, match="no hashes"):
        dbt_constraints.render(
            {**lock, "default": {**lock["default"], "agate": {"version": "==1.9.1"}}}, "postgres", requires
        )


@pytest.mark.parametrize("target", FLOWS)
def test_dbt_build_is_the_default_and_other_commands_can_be_chosen(target: str) -> None:
    flow = flow_document(target)
    inputs = {i["id"]: i for i in flow["inputs"]}
    command = inputs["dbt_command"]
    assert command["type"] == "SELECT" and command["allowCustomValue"] is True
    assert command["defaults"] == "dbt build" and "dbt build" in command["values"]
    assert all(value.startswith("dbt ") for value in command["values"])
    assert dbt_task(target)["commands"][-1] == "{{ inputs.dbt_command }}"


@pytest.mark.parametrize("target", FLOWS)
def test_dbt_deps_runs_exactly_when_the_project_declares_packages(target: str) -> None:
    declares = any((DBT_DIR / name).exists() for name in ("packages.yml", "dependencies.yml"))
    runs_deps = any("dbt deps" in command for command in dbt_task(target)["commands"])
    assert runs_deps == declares


@pytest.mark.parametrize("target", FLOWS)
def test_flow_sets_the_variables_its_profile_reads(target: str) -> None:
    env = dbt_task(target)["env"]
    reads = profile_env_vars()
    assert env["DBT_TARGET"] == target and target in reads
    project_reads = set(reads[target]) | {"DBT_TARGET", "DBT_PROFILES_DIR"}
    unknown = set(env) - project_reads
    assert not unknown, f"{FLOWS[target].name} sets variables dbt never reads: {sorted(unknown)}"
    required = {name for name, has_default in reads[target].items() if not has_default}
    assert required <= set(env), f"{FLOWS[target].name} misses required variables {sorted(required - set(env))}"


def test_profile_holds_no_credentials() -> None:
    outputs = yaml.safe_load((DBT_DIR / "profiles.yml").read_text())["zoomcamp_taxi"]["outputs"]
    assert outputs["postgres"]["password"] == "{{ env_var('DBT_ENV_SECRET_PG_PASSWORD', '') }}"
    assert outputs["bigquery"]["token"] == "{{ env_var('DBT_ENV_SECRET_BQ_TOKEN', '') }}"
    assert outputs["bigquery"]["method"] == "{{ env_var('DBT_BQ_METHOD', 'oauth') }}"  # ADC unless told otherwise
    assert not {"keyfile", "keyfile_json"} & set(outputs["bigquery"])


def test_flows_take_secrets_from_kestra_not_from_the_file() -> None:
    postgres = dbt_task("postgres")["env"]
    assert postgres["DBT_ENV_SECRET_PG_PASSWORD"] == "{{ secret('ZOOMCAMP_DB_PASSWORD') }}"
    bigquery = dbt_task("bigquery")["env"]
    assert bigquery["DBT_BQ_METHOD"] == "oauth-secrets"
    assert bigquery["DBT_ENV_SECRET_BQ_TOKEN"] == "{{ outputs.gcp_token.accessToken.tokenValue }}"
    flow = flow_document("bigquery")
    (token,) = [t for t in flow["tasks"] if t["id"] == "gcp_token"]
    assert token["type"] == "io.kestra.plugin.gcp.auth.OauthAccessToken"
    assert not {"serviceAccount", "inputFiles"} & (set(token) | set(dbt_task("bigquery")))
