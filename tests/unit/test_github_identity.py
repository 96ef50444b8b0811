"""The GitHub identities of the gcp stack (GCP_GITHUB_REPOSITORY): who can be the planner, who the deployer.

The synthesized provider condition, attribute mapping and workloadIdentityUser members are applied
to the claims of GitHub's OIDC token for each kind of job (as GitHub documents them). Google
evaluates them in CEL; here a stand-in evaluates the small part of CEL the stack writes (`==`, `&&`,
`||`, `+`, `startsWith`, string literals, `assertion.<claim>`; a missing claim is an error, which
refuses the token). Only Google's own federation proves the real evaluation: docs/plan-diffs.md
says how to check it once with a real run.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from stacks.gcp.target import GcpTargetError
from tests.policy.gcp_rules import (
    READ_ONLY_ROLES,
    github_identities_are_scoped,
    iam_is_scoped,
    no_service_account_keys,
    of_type,
    vm_is_hardened,
)
from tests.support.gcp_env import GCP_ENV
from tests.support.synth import synth_stack

REPO = "example/zoomcamp-kestra"
# Metadata and IAM policies, enough for `terraform plan`; no table rows, no object contents.
PLANNER_READ_ROLES = (
    "roles/compute.viewer",
    "roles/bigquery.metadataViewer",
    "roles/secretmanager.viewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    "roles/iam.securityReviewer",
)
Synth = dict[str, Any]


@pytest.fixture(scope="module")
def github_synth() -> Synth:
    return synth_stack("gcp", {**GCP_ENV, "GCP_GITHUB_REPOSITORY": REPO, "ZOOMCAMP_STATE_BUCKET": "team-tf-state"})


# ---- the stand-in for CEL ----------------------------------------------------------------------

_CLAIM = re.compile(r"assertion\.(\w+)")


class _Claims(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"claim {key} is not in the token")


def cel(expression: str, claims: Mapping[str, str]) -> Any:
    """Evaluate the subset of CEL the stack writes; raises KeyError on a missing claim."""
    assert re.fullmatch(r"[\w\s.'=&|()+@:/-]*", expression), f"outside the stand-in's subset: {expression}"
    python = _CLAIM.sub(r'assertion["\1"]', expression)
    python = python.replace("&&", " and ").replace("||", " or ").replace(".startsWith(", ".startswith(")
    return eval(python, {"__builtins__": {}}, {"assertion": _Claims(claims)})  # the stack's own synth, checked above


def accepted(synth: Synth, claims: Mapping[str, str]) -> bool:
    (provider,) = of_type(synth, "google_iam_workload_identity_pool_provider").values()
    try:
        return cel(provider["attribute_condition"], claims) is True
    except KeyError:
        return False  # CEL: an error refuses the token


def accounts_for(synth: Synth, claims: Mapping[str, str]) -> set[str]:
    """The service accounts (account ids) a token can act as: condition, then mapping, then members."""
    if not accepted(synth, claims):
        return set()
    (provider,) = of_type(synth, "google_iam_workload_identity_pool_provider").values()
    mapped = {key: cel(value, claims) for key, value in provider["attribute_mapping"].items()}
    principals = {f"/subject/{mapped['google.subject']}"} | {
        f"/{key}/{value}" for key, value in mapped.items() if key.startswith("attribute.")
    }
    accounts = {f"${{google_service_account.{name}.name}}": body["account_id"] for name, body in _accounts(synth)}
    return {
        accounts[body["service_account_id"]]
        for body in of_type(synth, "google_service_account_iam_member").values()
        if body["role"] == "roles/iam.workloadIdentityUser"
        and any(body["member"].endswith(principal) for principal in principals)
    }


def _accounts(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    return list(of_type(synth, "google_service_account").items())


# ---- GitHub's claims for each kind of job --------------------------------------------------------


def pull_request(repo: str = REPO, **changes: str) -> dict[str, str]:
    return {
        "repository": repo,
        "event_name": "pull_request",
        "sub": f"repo:{repo}:pull_request",
        "ref": "refs/pull/7/merge",
        "workflow_ref": f"{repo}/.github/workflows/pr.yml@refs/pull/7/merge",
        **changes,
    }


def deploy(**changes: str) -> dict[str, str]:
    return {
        "repository": REPO,
        "event_name": "workflow_dispatch",
        "sub": f"repo:{REPO}:environment:gcp",
        "environment": "gcp",
        "ref": "refs/heads/main",
        "workflow_ref": f"{REPO}/.github/workflows/deploy.yml@refs/heads/main",
        **changes,
    }


def without(claims: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in claims.items() if k != key}


def test_a_pull_request_can_be_the_planner_and_only_the_planner(github_synth: Synth) -> None:
    assert accounts_for(github_synth, pull_request()) == {"zoomcamp-gh-plan"}
    # Its own copy of any workflow file changes nothing: the planner is all a PR can get.
    other = pull_request(workflow_ref=f"{REPO}/.github/workflows/evil.yml@refs/pull/7/merge")
    assert accounts_for(github_synth, other) == {"zoomcamp-gh-plan"}


def test_only_the_main_branchs_deploy_job_in_environment_gcp_is_the_deployer(github_synth: Synth) -> None:
    assert accounts_for(github_synth, deploy()) == {"zoomcamp-gh-deploy"}


@pytest.mark.parametrize(
    "claims",
    [
        # deploy.yml dispatched on another branch (the environment's branch rule is GitHub's; this is ours)
        deploy(ref="refs/heads/feature", workflow_ref=f"{REPO}/.github/workflows/deploy.yml@refs/heads/feature"),
        # another workflow on main, in the gcp environment
        deploy(workflow_ref=f"{REPO}/.github/workflows/evil.yml@refs/heads/main"),
        # deploy.yml on main without the environment (its reviewers skipped)
        without(deploy(sub=f"repo:{REPO}:ref:refs/heads/main"), "environment"),
        deploy(environment="staging", sub=f"repo:{REPO}:environment:staging"),
        # a push to main, not a run by hand
        deploy(event_name="push"),
        # a pull-request job that names the gcp environment
        pull_request(sub=f"repo:{REPO}:environment:gcp", environment="gcp"),
        # a pull request of another repository (a fork's own workflows run as the fork)
        pull_request(repo="someone/zoomcamp-kestra"),
        deploy(repository="someone/zoomcamp-kestra"),
    ],
    ids=[
        "other-branch",
        "other-workflow",
        "no-environment",
        "other-environment",
        "push",
        "pr-in-env",
        "fork-pr",
        "fork",
    ],
)
def test_no_other_job_gets_a_google_token(github_synth: Synth, claims: dict[str, str]) -> None:
    assert not accepted(github_synth, claims)
    assert accounts_for(github_synth, claims) == set()


def test_the_planner_reads_and_the_deployer_has_no_basic_role(github_synth: Synth) -> None:
    assert github_identities_are_scoped(github_synth, REPO) == []
    planner = next(name for name, body in _accounts(github_synth) if body["account_id"] == "zoomcamp-gh-plan")
    member = f"serviceAccount:${{google_service_account.{planner}.email}}"
    roles = {
        (resource_type, body["role"])
        for resource_type, bodies in github_synth["resource"].items()
        for body in bodies.values()
        if body.get("member") == member
    }
    assert roles == {
        *(("google_project_iam_member", role) for role in PLANNER_READ_ROLES),
        ("google_storage_bucket_iam_member", "roles/storage.legacyBucketReader"),  # the lake's and Kestra's
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),  # the state bucket
    }
    assert {role for _, role in roles} <= READ_ONLY_ROLES
    buckets = {
        b["bucket"]: b["role"]
        for b in of_type(github_synth, "google_storage_bucket_iam_member").values()
        if b["member"] == member
    }
    assert buckets["team-tf-state"] == "roles/storage.objectViewer" and len(buckets) == 3


@pytest.mark.parametrize(
    "rule", [no_service_account_keys, iam_is_scoped, vm_is_hardened], ids=["no-keys", "iam-scoped", "vm-hardened"]
)
def test_kestras_own_rules_still_hold_beside_the_github_accounts(github_synth: Synth, rule: Any) -> None:
    assert rule(github_synth) == []


def test_without_the_setting_there_is_no_pool(gcp_synth: Synth) -> None:
    for kind in ("google_iam_workload_identity_pool", "google_iam_workload_identity_pool_provider"):
        assert of_type(gcp_synth, kind) == {}
    assert not any(key.startswith("github_") for key in gcp_synth["output"])


def test_the_outputs_name_what_the_workflows_need(github_synth: Synth) -> None:
    outputs = github_synth["output"]
    assert outputs["github_workload_identity_provider"]["value"].startswith(
        "${google_iam_workload_identity_pool_provider."
    )
    assert outputs["github_plan_service_account"]["value"] != outputs["github_deploy_service_account"]["value"]
    assert "GCP_PLAN_SERVICE_ACCOUNT" in outputs["github_plan_service_account"]["description"]
    assert "GCP_DEPLOY_SERVICE_ACCOUNT" in outputs["github_deploy_service_account"]["description"]


# ---- the rule fails on broken copies -------------------------------------------------------------


def _grant(synth: Synth, account_id: str, role: str) -> None:
    name = next(name for name, body in _accounts(synth) if body["account_id"] == account_id)
    synth["resource"]["google_project_iam_member"]["planted"] = {
        "project": "p",
        "role": role,
        "member": f"serviceAccount:${{google_service_account.{name}.email}}",
    }


def _federation(synth: Synth, part: str) -> dict[str, Any]:
    return next(b for n, b in of_type(synth, "google_service_account_iam_member").items() if part in n)


def _condition(synth: Synth, old: str, new: str) -> None:
    (provider,) = of_type(synth, "google_iam_workload_identity_pool_provider").values()
    provider["attribute_condition"] = provider["attribute_condition"].replace(old, new)


GRANTS_IAM_ADMIN = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['{}'])".format(
    "roles/resourcemanager.projectIamAdmin"
)


def _iam_admin(synth: Synth) -> dict[str, Any]:
    return next(b for n, b in of_type(synth, "google_project_iam_member").items() if "deployer_project_iam" in n)


BROKEN: list[tuple[str, Callable[[Synth], None], str]] = [
    ("planner-writes", lambda s: _grant(s, "zoomcamp-gh-plan", "roles/editor"), "not a read-only role"),
    ("planner-storage-admin", lambda s: _grant(s, "zoomcamp-gh-plan", "roles/storage.admin"), "not a read-only role"),
    ("deployer-owner", lambda s: _grant(s, "zoomcamp-gh-deploy", "roles/owner"), "basic role roles/owner"),
    (
        "unbounded-iam-admin",
        lambda s: _iam_admin(s).pop("condition"),
        "without a condition",
    ),
    (
        "iam-admin-grants-itself",
        lambda s: _iam_admin(s)["condition"].update(expression=GRANTS_IAM_ADMIN),
        "without a condition limiting the roles it may grant",
    ),
    (
        "deployer-any-ref",
        lambda s: _federation(s, "deployer_federation").update(
            member=_federation(s, "deployer_federation")["member"].split("/attribute.")[0]
            + f"/attribute.repository/{REPO}"
        ),
        "expected one principal ending /attribute.deploy_job/",
    ),
    (
        "planner-as-deployer",
        lambda s: _federation(s, "planner_federation").update(member=_federation(s, "deployer_federation")["member"]),
        "expected one principal ending /subject/",
    ),
    (
        "no-environment",
        lambda s: _condition(s, " && assertion.environment == 'gcp'", ""),
        "lacks assertion.environment",
    ),
    ("any-ref", lambda s: _condition(s, "assertion.ref == 'refs/heads/main'", "true"), "lacks assertion.ref"),
]


@pytest.mark.parametrize(("mutate", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_the_rule_fails_on_a_broken_copy(github_synth: Synth, mutate: Any, message: str) -> None:
    broken = copy.deepcopy(github_synth)
    mutate(broken)
    problems = github_identities_are_scoped(broken, REPO)
    assert any(message in problem for problem in problems), problems


def test_a_prefix_that_names_a_reserved_pool_id_is_refused() -> None:
    with pytest.raises(
        GcpTargetError, match="ZOOMCAMP_PREFIX='gcp' would name the workload identity pool 'gcp-github'"
    ):
        synth_stack("gcp", {**GCP_ENV, "GCP_GITHUB_REPOSITORY": REPO, "ZOOMCAMP_PREFIX": "gcp"})
