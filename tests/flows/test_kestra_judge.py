"""Kestra itself judges the flows: its own validation (FlowService.validate, as the server's) on every
flow in flows/, every flow the stacks generate, and every broken fixture, beside flow_lint's verdict.

Where Kestra cannot judge (a task whose plugin the Maven registry here does not serve, see
tests/support/kestra_judge.py), the test is an xfail that names the missing artifact: visible in every run,
never a silent pass. `make kestra-table` prints the whole comparison. A repository flow our own
checker already refuses is reported once, by its test (tests/flows/test_flow_lint.py): here it is a
skip when Kestra agrees, and a failure only when Kestra sees something our checker does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowcheck import flow_catalog, flow_lint, flow_paths, kestra_plugins
from stacks.gce import cloud_init
from stacks.settings import PROJECT_ROOT
from tests.policy.gcp_rules import user_data_of, written_files
from tests.support.kestra_judge import KestraVerdict, judge, pinned_kestra_version, properties_from, write_probes
from tests.support.synth import FLOW_CHECKER_TEST, FLOWS_DIR

FLOWS = flow_paths(FLOWS_DIR)
BAD = sorted((PROJECT_ROOT / "tests" / "fixtures" / "bad_flows").glob("*.yaml"))
GOOD = sorted((PROJECT_ROOT / "tests" / "fixtures" / "good_flows").glob("*.yaml"))
SYSTEM_FLOW_IDS = ("zoomcamp_git_sync", "zoomcamp_gcp_kv")


@pytest.fixture(scope="module")
def system_flow_files(gcp_synth: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The system flows exactly as the gcp stack writes them into the VM's cloud-init."""
    folder = tmp_path_factory.mktemp("system_flows")
    found = {}
    for path, text in written_files(user_data_of(gcp_synth)).items():
        if path.startswith(cloud_init.FLOWS_DIR + "/"):
            flow_id = yaml.safe_load(text)["id"]
            found[flow_id] = folder / f"{flow_id}.yaml"
            found[flow_id].write_text(text, encoding="utf-8")
    assert set(found) == set(SYSTEM_FLOW_IDS)
    return found


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, str]:
    """Probe flows that make Kestra list the properties of each core type the flows may use."""
    return write_probes(kestra_plugins.core_types(), tmp_path_factory.mktemp("probes"))


@pytest.fixture(scope="module")
def verdicts(system_flow_files: dict[str, Path], probes: dict[Path, str]) -> dict[Path, KestraVerdict]:
    """One JVM for every file of this module (~8 s, mostly Kestra's start-up)."""
    return judge([*FLOWS, *system_flow_files.values(), *BAD, *GOOD, *probes])


def _accepted_or_unjudged(verdict: KestraVerdict) -> None:
    if (artifact := verdict.unjudged_plugin()) is not None:
        pytest.xfail(f"Kestra cannot judge this flow here: {artifact} is not served by the Maven registry")
    assert verdict.accepted, f"Kestra rejects {verdict.file}: {verdict.error}"


@pytest.fixture(scope="module")
def refused_by_our_checker() -> dict[Path, list[str]]:
    return flow_catalog.check_flow_catalog(FLOWS_DIR).problems


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_kestra_accepts_the_repository_flow(
    path: Path, verdicts: dict[Path, KestraVerdict], refused_by_our_checker: dict[Path, list[str]]
) -> None:
    if path in refused_by_our_checker and not verdicts[path].accepted:
        pytest.skip(f"Kestra rejects it too: {FLOW_CHECKER_TEST}[{path.name}] says why")
    _accepted_or_unjudged(verdicts[path])


@pytest.mark.parametrize("flow_id", SYSTEM_FLOW_IDS)
def test_kestra_accepts_the_generated_system_flow(
    flow_id: str, system_flow_files: dict[str, Path], verdicts: dict[Path, KestraVerdict]
) -> None:
    _accepted_or_unjudged(verdicts[system_flow_files[flow_id]])


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_flow_lint_blocks_exactly_what_kestra_rejects(path: Path, verdicts: dict[Path, KestraVerdict]) -> None:
    """An error of flow_lint (it stops synth) is a flow Kestra rejects; everything else is a warning."""
    verdict = verdicts[path]
    if (artifact := verdict.unjudged_plugin()) is not None:
        pytest.xfail(f"Kestra cannot judge this fixture here: {artifact} is not served by the Maven registry")
    report = flow_lint.lint_report_file(path)
    assert verdict.agrees_with(report.errors), (
        f"Kestra: {verdict.first_line} | flow_lint errors: {report.errors} | warnings: {report.warnings}"
    )


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_a_flow_kestra_accepts_is_never_blocked_by_flow_lint(path: Path, verdicts: dict[Path, KestraVerdict]) -> None:
    assert verdicts[path].accepted, verdicts[path].error
    assert flow_lint.lint_report_file(path).errors == []


def test_a_core_type_typo_is_judged_by_kestra_not_excused(verdicts: dict[Path, KestraVerdict]) -> None:
    """The 'cannot judge' escape is only for unserved plugins: a misspelt core type is a real rejection."""
    verdict = verdicts[PROJECT_ROOT / "tests" / "fixtures" / "bad_flows" / "unknown_type.yaml"]
    assert verdict.unjudged_plugin() is None and not verdict.accepted


def test_core_plugin_properties_are_the_ones_kestra_reports(
    verdicts: dict[Path, KestraVerdict], probes: dict[Path, str]
) -> None:
    """flowcheck/kestra_core_properties.json is Kestra's own answer; `make kestra-properties` rewrites it."""
    recorded = json.loads(kestra_plugins.CORE_PROPERTIES_FILE.read_text(encoding="utf-8"))
    assert recorded["kestra_version"] == pinned_kestra_version(), "run make kestra-properties"
    assert properties_from(verdicts, probes) == recorded["properties"], "run make kestra-properties and review the diff"
