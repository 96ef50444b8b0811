"""The dbt project reaches Kestra as namespace files, at the same paths on both stacks.

Locally the stack ships one `kestra_namespace_file` per file of the catalog
(stacks/dbt_project.py); on Compute Engine the git-sync system flow runs SyncNamespaceFiles on
dbt/, which stores `dbt/<path>` as `/<path>` (plugin-git AbstractSyncTask: paths relative to
gitDirectory) and skips what dbt/.kestraignore names. The dbt flows read the namespace root as
their project (tests/unit/test_dbt_flows.py), so the two sets must be equal.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import terraform_text
from stacks.dbt_project import DBT_DIR, DbtFile, DbtProjectError, belongs_in_kestra, candidate_files, load_dbt_project
from stacks.gce import system_flows
from stacks.settings import Settings

KESTRA_IGNORE = DBT_DIR / ".kestraignore"


@pytest.fixture(scope="module")
def catalog() -> list[DbtFile]:
    return load_dbt_project()


def test_catalog_holds_what_dbt_needs_and_nothing_else(catalog: list[DbtFile]) -> None:
    paths = {file.relative_path for file in catalog}
    assert {"dbt_project.yml", "profiles.yml", "requirements-postgres.txt", "seeds/taxi_zone_lookup.csv"} <= paths
    assert {p.relative_to(DBT_DIR).as_posix() for p in (DBT_DIR / "models").rglob("*.sql")} <= paths
    assert not {"README.md", ".gitignore", ".kestraignore"} & paths
    for file in catalog:
        assert file.content == (DBT_DIR / file.relative_path).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "belongs"),
    [
        ("models/staging/stg.sql", True),
        ("macros/m.sql", True),
        ("snapshots/s.sql", True),
        ("dbt_project.yml", True),
        ("README.md", False),
        ("models/README.md", False),
        ("target/manifest.json", False),
        ("models/target/x.sql", False),
        ("logs/dbt.log", False),
        ("dbt_packages/dbt_utils/macros/x.sql", False),
        (".user.yml", False),
        ("models/__pycache__/x.pyc", False),
        ("models/.gitkeep", False),
        ("notes.txt", False),  # top-level files dbt does not read stay out
        ("scratch/q.sql", False),
    ],
)
def test_what_belongs_in_kestra(path: str, belongs: bool) -> None:
    assert belongs_in_kestra(path) is belongs


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_git_ignored_files_stay_out(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1\n")
    (tmp_path / "models" / "local_only.sql").write_text("select 2\n")
    (tmp_path / ".gitignore").write_text("local_only.sql\n")
    assert [f.relative_path for f in load_dbt_project(tmp_path)] == ["dbt_project.yml", "models/a.sql"]
    (tmp_path / ".gitignore").write_text("")  # the same folder without the rule: the file is shipped
    assert "models/local_only.sql" in {f.relative_path for f in load_dbt_project(tmp_path)}


def test_outside_a_git_checkout_every_file_is_a_candidate(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "run.json").write_text("{}")
    assert candidate_files(tmp_path) == ["dbt_project.yml", "target/run.json"]
    assert [f.relative_path for f in load_dbt_project(tmp_path)] == ["dbt_project.yml"]


def test_binary_file_fails_with_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "zones.csv").write_bytes(b"id,name\n1,Z\xfcrich\n")  # Latin-1, not UTF-8
    with pytest.raises(DbtProjectError) as caught:
        load_dbt_project(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / 'seeds' / 'zones.csv'}: not UTF-8 text")


def test_missing_project_file_fails(tmp_path: Path) -> None:
    with pytest.raises(DbtProjectError, match=r"dbt_project\.yml: missing"):
        load_dbt_project(tmp_path)


def test_resource_names_that_collide_fail(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a-b.sql").write_text("select 1\n")
    (tmp_path / "models" / "a_b.sql").write_text("select 2\n")
    with pytest.raises(DbtProjectError, match="same resource name"):
        load_dbt_project(tmp_path)


# --- the local stack ------------------------------------------------------------------------


def namespace_file_problems(synth: dict[str, Any], catalog: list[DbtFile]) -> list[str]:
    """Differences between the synthesized namespace files and the catalog."""
    resources = synth["resource"].get("kestra_namespace_file", {})
    shipped = {r["filename"]: r for r in resources.values()}
    problems = [f"{len(resources) - len(shipped)} duplicate filenames"] if len(shipped) != len(resources) else []
    expected = {file.namespace_path: file for file in catalog}
    problems += [f"{path}: not shipped" for path in sorted(set(expected) - set(shipped))]
    problems += [f"{path}: not in dbt/" for path in sorted(set(shipped) - set(expected))]
    for path in sorted(set(expected) & set(shipped)):
        resource = shipped[path]
        if resource["content"] != terraform_text.literal(expected[path].content):
            problems.append(f"{path}: content differs from dbt/{expected[path].relative_path}")
        if resource["namespace"] != "zoomcamp":
            problems.append(f"{path}: namespace {resource['namespace']}")
        if resource.get("depends_on") != ["docker_container.kestra"]:
            problems.append(f"{path}: must wait for a healthy Kestra")
    return problems


def test_local_stack_ships_exactly_the_catalog(local_synth: dict[str, Any], catalog: list[DbtFile]) -> None:
    assert namespace_file_problems(local_synth, catalog) == []
    resources = local_synth["resource"]["kestra_namespace_file"]
    assert set(resources) == {file.construct_id for file in catalog}  # readable, stable addresses
    # Their attributes against the provider's schema: tests/unit/test_kestra_bindings.py, every variant.


def test_namespace_file_check_fails_on_a_missing_extra_or_changed_file(
    local_synth: dict[str, Any], catalog: list[DbtFile]
) -> None:
    resources = dict(local_synth["resource"]["kestra_namespace_file"])
    first, second = sorted(resources)[:2]
    changed = {**resources, second: {**resources[second], "content": "select 'stale'\n"}}
    del changed[first]
    broken = {"resource": {"kestra_namespace_file": changed}}
    problems = namespace_file_problems(broken, catalog)
    assert problems == [
        f"{resources[first]['filename']}: not shipped",
        f"{resources[second]['filename']}: content differs from dbt{resources[second]['filename']}",
    ]
    extra = [*catalog, DbtFile("models/new.sql", "select 1\n")]
    assert namespace_file_problems(local_synth, extra) == ["/models/new.sql: not shipped"]


# --- the Kestra on Compute Engine -----------------------------------------------------------


def synced_paths(dbt_dir: Path, kestra_ignore: Path) -> set[str]:
    """What SyncNamespaceFiles(gitDirectory=dbt) stores: every file of the folder as
    `/<path relative to it>`, but the .kestraignore file itself and what it ignores. Git
    evaluates the patterns (the same gitignore syntax Kestra's KestraIgnore reads)."""
    listed = subprocess.run(
        ["git", "-C", str(dbt_dir), "ls-files", "-z", "-c", "-o", "-i", f"--exclude-from={kestra_ignore}", "--", "."],
        capture_output=True,
        check=True,
    )
    ignored = {name for name in listed.stdout.decode().split("\0") if name} | {".kestraignore"}
    return {f"/{name}" for name in candidate_files(dbt_dir) if name not in ignored}


def test_kestraignore_patterns_mean_the_same_in_git_and_kestra() -> None:
    """Only bare names (a trailing '/' for folders): they match at any depth in both."""
    patterns = [line for line in KESTRA_IGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert patterns and all("/" not in p.rstrip("/") and not p.startswith("!") for p in patterns)


def test_vm_sync_stores_the_same_paths_as_the_local_stack(catalog: list[DbtFile]) -> None:
    settings = Settings.from_env({})
    git = settings.gcp.git
    source = system_flows.GitSource(
        "https://example.invalid/r.git",
        git.branch,
        git.flows_directory,
        git.files_directory,
        git.cron,
        git.delete_missing,
    )
    flow = system_flows.git_sync_flow(source, settings.kestra.namespace)
    tasks = {t["type"]: t for t in _flow_tasks(flow)}
    files_task = tasks["io.kestra.plugin.git.SyncNamespaceFiles"]
    assert (files_task["gitDirectory"], files_task["namespace"]) == (DBT_DIR.name, "zoomcamp")
    assert synced_paths(DBT_DIR, KESTRA_IGNORE) == {file.namespace_path for file in catalog}


def test_vm_sync_check_fails_when_the_ignore_file_misses_a_rule(tmp_path: Path, catalog: list[DbtFile]) -> None:
    lax = tmp_path / "kestraignore"
    lax.write_text("\n".join(line for line in KESTRA_IGNORE.read_text().splitlines() if line != "README*"))
    assert synced_paths(DBT_DIR, lax) - {file.namespace_path for file in catalog} == {"/README.md"}


def _flow_tasks(flow: system_flows.SystemFlow) -> list[dict[str, Any]]:
    return list(yaml.safe_load(flow.content)["tasks"])
