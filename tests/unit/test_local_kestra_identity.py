"""The local Kestra's service account (GCP_LOCAL_KESTRA_MEMBERS): what it may touch, who may be it.

ops/token_broker.py mints short-lived tokens for this account with the learner's own credentials, so
the account's grants are all a local Kestra can ever do in the project, and its token creators are all
who can mint them. Each rule is also run on a widened copy of the synth, to prove it can fail.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.gcp.names import GcpNames
from stacks.gcp.security import BUCKET_ROLE, DEPLOYER_ACCOUNT_ROLE, PROJECT_ROLE, TOKEN_CREATOR_ROLE
from stacks.settings import SettingsError
from tests.policy.gcp_rules import (
    iam_is_scoped,
    kestra_member,
    local_kestra_identity_is_scoped,
    no_service_account_keys,
    of_type,
)
from tests.support.gcp_env import GCP_ENV, gcp_settings
from tests.support.synth import synth_stack

MEMBERS = ("user:alice@example.com", "group:zoomcamp-learners@example.com")
Synth = dict[str, Any]


@pytest.fixture(scope="module")
def local_synth() -> Synth:
    return synth_stack(
        "gcp",
        {**GCP_ENV, "GCP_LOCAL_KESTRA_MEMBERS": ",".join(MEMBERS), "GCP_GITHUB_REPOSITORY": "example/zoomcamp-kestra"},
    )


def _local_account(synth: Synth) -> str:
    (name,) = (n for n, b in of_type(synth, "google_service_account").items() if b["account_id"].endswith("-local"))
    return name


def _data_bucket(synth: Synth) -> str:
    (name,) = (n for n, b in of_type(synth, "google_storage_bucket").items() if b["name"].endswith("-data"))
    return f"${{google_storage_bucket.{name}.name}}"


def _grants_of(synth: Synth, member: str) -> list[tuple[str, str]]:
    return sorted(
        (resource_type, body["role"])
        for resource_type, resources in synth["resource"].items()
        for body in resources.values()
        if body.get("member") == member
    )


def test_the_account_has_exactly_the_data_roles(local_synth: Synth) -> None:
    name = _local_account(local_synth)
    member = f"serviceAccount:${{google_service_account.{name}.email}}"
    assert _grants_of(local_synth, member) == [
        ("google_bigquery_dataset_iam_member", "roles/bigquery.dataEditor"),
        ("google_project_iam_member", PROJECT_ROLE),
        ("google_storage_bucket_iam_member", BUCKET_ROLE),
    ]
    (bucket_grant,) = (
        b for b in of_type(local_synth, "google_storage_bucket_iam_member").values() if b["member"] == member
    )
    assert bucket_grant["bucket"] == _data_bucket(local_synth), "the data lake only, not Kestra's internal storage"
    assert not of_type(local_synth, "google_service_account_key")


def test_token_creator_is_on_that_account_only_for_the_listed_members(local_synth: Synth) -> None:
    name = _local_account(local_synth)
    creators = [
        body
        for resources in local_synth["resource"].values()
        for body in resources.values()
        if body.get("role") == TOKEN_CREATOR_ROLE
    ]
    assert sorted(body["member"] for body in creators) == sorted(MEMBERS)
    assert {body["service_account_id"] for body in creators} == {f"${{google_service_account.{name}.name}}"}
    assert not [body for body in creators if "project" in body], "never a project-level token creator"


def test_the_deployer_manages_the_account(local_synth: Synth) -> None:
    name = _local_account(local_synth)
    managers = [
        body["member"]
        for body in of_type(local_synth, "google_service_account_iam_member").values()
        if body["service_account_id"] == f"${{google_service_account.{name}.name}}"
        and body["role"] == DEPLOYER_ACCOUNT_ROLE
    ]
    (deployer,) = (
        n for n, b in of_type(local_synth, "google_service_account").items() if b["account_id"].endswith("-gh-deploy")
    )
    assert managers == [f"serviceAccount:${{google_service_account.{deployer}.email}}"]
    acting = [
        body
        for body in of_type(local_synth, "google_service_account_iam_member").values()
        if body["service_account_id"] == f"${{google_service_account.{name}.name}}"
        and body["role"] == "roles/iam.serviceAccountUser"
    ]
    assert not acting, "nobody acts as the local account: its tokens come by impersonation only"


def test_the_policy_rules_hold(local_synth: Synth) -> None:
    assert local_kestra_identity_is_scoped(local_synth, MEMBERS, _data_bucket(local_synth)) == []
    assert iam_is_scoped(local_synth) == []
    assert no_service_account_keys(local_synth) == []


def _widened(synth: Synth, change: str) -> Synth:
    broken = copy.deepcopy(synth)
    name = _local_account(broken)
    member = f"serviceAccount:${{google_service_account.{name}.email}}"
    account = f"${{google_service_account.{name}.name}}"
    resources = broken["resource"]
    if change == "internal storage bucket":
        (internal,) = (n for n, b in resources["google_storage_bucket"].items() if b["name"].endswith("-kestra"))
        resources["google_storage_bucket_iam_member"]["wide"] = {
            "bucket": f"${{google_storage_bucket.{internal}.name}}",
            "role": BUCKET_ROLE,
            "member": member,
        }
    elif change == "project storage admin":
        resources["google_project_iam_member"]["wide"] = {
            "project": "p",
            "role": "roles/storage.admin",
            "member": member,
        }
    elif change == "secret access":
        resources["google_secret_manager_secret_iam_member"]["wide"] = {
            "secret_id": "s",
            "role": "roles/secretmanager.secretAccessor",
            "member": member,
        }
    elif change == "token creator on the project":
        resources["google_project_iam_member"]["wide"] = {
            "project": "p",
            "role": TOKEN_CREATOR_ROLE,
            "member": MEMBERS[0],
        }
    elif change == "token creator on Kestra's account":
        kestra = kestra_member(broken).removeprefix("serviceAccount:").replace(".email}", ".name}")
        resources["google_service_account_iam_member"]["wide"] = {
            "service_account_id": kestra,
            "role": TOKEN_CREATOR_ROLE,
            "member": MEMBERS[0],
        }
    elif change == "allAuthenticatedUsers":
        resources["google_service_account_iam_member"]["wide"] = {
            "service_account_id": account,
            "role": TOKEN_CREATOR_ROLE,
            "member": "allAuthenticatedUsers",
        }
    return broken


@pytest.mark.parametrize(
    "change",
    [
        "internal storage bucket",
        "project storage admin",
        "secret access",
        "token creator on the project",
        "token creator on Kestra's account",
        "allAuthenticatedUsers",
    ],
)
def test_the_rule_fails_when_a_grant_is_widened(local_synth: Synth, change: str) -> None:
    broken = _widened(local_synth, change)
    assert local_kestra_identity_is_scoped(broken, MEMBERS, _data_bucket(broken)) != []


def test_nothing_is_created_without_members() -> None:
    synth = synth_stack("gcp", GCP_ENV)
    assert not [b for b in of_type(synth, "google_service_account").values() if b["account_id"].endswith("-local")]
    assert "local_kestra_service_account" not in synth.get("output", {})
    assert local_kestra_identity_is_scoped(synth, (), "") != []  # the rule sees no account


def test_the_output_and_the_names_agree(local_synth: Synth) -> None:
    name = _local_account(local_synth)
    assert local_synth["output"]["local_kestra_service_account"]["value"] == f"${{google_service_account.{name}.email}}"
    names = GcpNames(prefix="a" * 20, project_id="zoomcamp-test-project")
    assert names.local_kestra_account_id == "a" * 20 + "-local" and len(names.local_kestra_account_id) <= 30
    assert names.local_kestra_email == f"{'a' * 20}-local@zoomcamp-test-project.iam.gserviceaccount.com"
    assert of_type(local_synth, "google_service_account")[name]["account_id"].endswith("-local")


def test_members_are_read_as_given() -> None:
    settings = gcp_settings({"GCP_LOCAL_KESTRA_MEMBERS": " user:Alice@Example.com , group:g@example.org "})
    assert settings.gcp.local_kestra_members == ("user:Alice@Example.com", "group:g@example.org")
    assert gcp_settings().gcp.local_kestra_members == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("allUsers", "write user:alice@example.com"),
        ("allAuthenticatedUsers", "write user:alice@example.com"),
        ("serviceAccount:x@p.iam.gserviceaccount.com", "people or groups only"),
        ("domain:example.com", "people or groups only"),
        ("alice@example.com", "write user:alice@example.com"),
        ("user:not-an-email", "people or groups only"),
        ("user:a@example.com,user:a@example.com", "twice"),
    ],
)
def test_bad_members_are_refused_in_one_line(value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        gcp_settings({"GCP_LOCAL_KESTRA_MEMBERS": value})
    text = str(caught.value)
    lines = [line for line in text.splitlines() if "GCP_LOCAL_KESTRA_MEMBERS" in line]
    assert len(lines) == 1, text
    assert expected in lines[0], lines[0]
