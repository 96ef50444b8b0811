"""Two identities for GitHub Actions: a read-only planner for pull requests, a deployer for main.

A pull request runs its own code (its main.py, even its own copy of pr.yml), so whatever identity
its jobs can assume, anyone who can push a branch has. The planner therefore holds read roles only.
The deployer can change the project's IAM, so only one job may assume it: the deploy workflow
(.github/workflows/deploy.yml) of the main branch, run by hand in the `gcp` environment, whose
required reviewers GitHub enforces. Both are checked on the claims of GitHub's OIDC token, twice:

- the provider's attribute condition refuses every token that is neither a pull request of the
  repository nor that deploy job (so no other workflow, branch or event gets a Google token);
- each account's roles/iam.workloadIdentityUser names one principal set: the planner's is the
  subject of a pull-request job, the deployer's an attribute that joins subject (repository and
  environment), workflow and ref. A token for one can never act as the other.

Pull requests from forks get no OIDC token from GitHub, and pr.yml does not ask for one (its job
condition); the stack cannot see that, docs/plan-diffs.md says how to check it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.iam_workload_identity_pool import IamWorkloadIdentityPool
from cdktf_cdktf_provider_google.iam_workload_identity_pool_provider import (
    IamWorkloadIdentityPoolProvider,
    IamWorkloadIdentityPoolProviderOidc,
)
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember, ProjectIamMemberCondition
from cdktf_cdktf_provider_google.service_account import ServiceAccount
from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from constructs import Construct

from stacks.gcp.security import (
    DEPLOY_ENVIRONMENT,
    DEPLOY_REF,
    DEPLOY_WORKFLOW,
    DEPLOYER_ACCOUNT_ROLE,
    DEPLOYER_ACT_AS_ROLE,
    DEPLOYER_IAM_ADMIN_ROLE,
    DEPLOYER_PROJECT_ROLES,
    GITHUB_ISSUER,
    GRANTABLE_PROJECT_ROLES,
    PLANNER_BUCKET_ROLE,
    PLANNER_PROJECT_ROLES,
    PLANNER_STATE_ROLE,
    WORKLOAD_IDENTITY_USER_ROLE,
)

PROVIDER_ID = "github-actions"
# A custom attribute that holds the three claims the deployer is bound to, in one value.
DEPLOY_JOB_ATTRIBUTE = "deploy_job"


@dataclass(frozen=True)
class GithubClaims:
    """The claim values of the two jobs (GitHub's OIDC token reference), derived from owner/name.
    The repository is validated in stacks/settings.py: it holds no quote, so it is safe in CEL."""

    repository: str

    @property
    def planner_subject(self) -> str:
        # `sub` of a pull_request job with no environment.
        return f"repo:{self.repository}:pull_request"

    @property
    def deployer_subject(self) -> str:
        # `sub` of a job in an environment: the environment replaces the ref in it.
        return f"repo:{self.repository}:environment:{DEPLOY_ENVIRONMENT}"

    @property
    def deploy_workflow_ref(self) -> str:
        return f"{self.repository}/{DEPLOY_WORKFLOW}@{DEPLOY_REF}"

    @property
    def deploy_job(self) -> str:
        """The value of attribute.deploy_job for the deploy job and no other."""
        return f"{self.deployer_subject}@{self.deploy_workflow_ref}"

    def attribute_mapping(self) -> dict[str, str]:
        # Only claims every GitHub token has: a mapping that reads a missing claim fails the token.
        return {
            "google.subject": "assertion.sub",
            "attribute.repository": "assertion.repository",
            "attribute.event_name": "assertion.event_name",
            "attribute.ref": "assertion.ref",
            "attribute.workflow_ref": "assertion.workflow_ref",
            f"attribute.{DEPLOY_JOB_ATTRIBUTE}": "assertion.sub + '@' + assertion.workflow_ref",
        }

    def attribute_condition(self) -> str:
        pull_request = (
            f"assertion.event_name == 'pull_request' && assertion.sub == '{self.planner_subject}'"
            " && assertion.ref.startsWith('refs/pull/')"
        )
        deploy = (
            "assertion.event_name == 'workflow_dispatch'"
            f" && assertion.ref == '{DEPLOY_REF}'"
            f" && assertion.environment == '{DEPLOY_ENVIRONMENT}'"
            f" && assertion.workflow_ref == '{self.deploy_workflow_ref}'"
        )
        return f"assertion.repository == '{self.repository}' && (({pull_request}) || ({deploy}))"


@dataclass(frozen=True, kw_only=True)
class GithubIdentityProps:
    project_id: str
    repository: str  # owner/name (GCP_GITHUB_REPOSITORY)
    pool_id: str
    planner_account_id: str
    deployer_account_id: str
    state_bucket: str | None  # ZOOMCAMP_STATE_BUCKET: the planner reads the state there
    kestra_account: str  # Kestra's service account (its `name`), which the deployer starts the VM as
    local_kestra_account: str | None  # the local Kestra's account (its `name`), if GCP_LOCAL_KESTRA_MEMBERS
    buckets: tuple[str, ...]  # the stack's bucket names, whose metadata the planner reads


class GithubIdentity(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: GithubIdentityProps) -> None:
        super().__init__(scope, id_)
        claims = GithubClaims(props.repository)
        self.pool = IamWorkloadIdentityPool(
            self,
            "pool",
            workload_identity_pool_id=props.pool_id,
            display_name="GitHub Actions",
            description=f"Workflows of {props.repository}: pull-request plans and the main branch's deploy",
        )
        self.provider = IamWorkloadIdentityPoolProvider(
            self,
            "provider",
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=PROVIDER_ID,
            display_name="GitHub OIDC",
            attribute_mapping=claims.attribute_mapping(),
            attribute_condition=claims.attribute_condition(),
            oidc=IamWorkloadIdentityPoolProviderOidc(issuer_uri=GITHUB_ISSUER),
        )
        pool = f"principal://iam.googleapis.com/{self.pool.name}"
        pool_set = f"principalSet://iam.googleapis.com/{self.pool.name}"
        self.planner = ServiceAccount(
            self,
            "planner",
            account_id=props.planner_account_id,
            display_name="GitHub pull-request planner (read-only)",
            description=f"terraform plan for pull requests of {props.repository}; read roles only, no keys.",
        )
        self.deployer = ServiceAccount(
            self,
            "deployer",
            account_id=props.deployer_account_id,
            display_name="GitHub deployer (main, environment gcp)",
            description=f"cdktf deploy gcp from {DEPLOY_WORKFLOW} on main of {props.repository}; no keys.",
        )
        planner_member = f"serviceAccount:{self.planner.email}"
        deployer_member = f"serviceAccount:{self.deployer.email}"
        ServiceAccountIamMember(
            self,
            "planner_federation",
            service_account_id=self.planner.name,
            role=WORKLOAD_IDENTITY_USER_ROLE,
            member=f"{pool}/subject/{claims.planner_subject}",
        )
        ServiceAccountIamMember(
            self,
            "deployer_federation",
            service_account_id=self.deployer.name,
            role=WORKLOAD_IDENTITY_USER_ROLE,
            member=f"{pool_set}/attribute.{DEPLOY_JOB_ATTRIBUTE}/{claims.deploy_job}",
        )
        accounts = {"kestra": props.kestra_account, "planner": self.planner.name, "deployer": self.deployer.name}
        if props.local_kestra_account:
            accounts["local_kestra"] = props.local_kestra_account
        for key, account in accounts.items():
            ServiceAccountIamMember(
                self,
                f"deployer_manages_{key}",
                service_account_id=account,
                role=DEPLOYER_ACCOUNT_ROLE,
                member=deployer_member,
            )
        ServiceAccountIamMember(
            self,
            "deployer_act_as_kestra",
            service_account_id=props.kestra_account,
            role=DEPLOYER_ACT_AS_ROLE,
            member=deployer_member,
        )
        for role in PLANNER_PROJECT_ROLES:
            ProjectIamMember(self, f"planner_{_slug(role)}", project=props.project_id, role=role, member=planner_member)
        for index, bucket in enumerate(props.buckets):
            StorageBucketIamMember(
                self, f"planner_bucket_{index}", bucket=bucket, role=PLANNER_BUCKET_ROLE, member=planner_member
            )
        if props.state_bucket:
            StorageBucketIamMember(
                self, "planner_state", bucket=props.state_bucket, role=PLANNER_STATE_ROLE, member=planner_member
            )
        for role in DEPLOYER_PROJECT_ROLES:
            ProjectIamMember(
                self, f"deployer_{_slug(role)}", project=props.project_id, role=role, member=deployer_member
            )
        grantable = ", ".join(f"'{role}'" for role in GRANTABLE_PROJECT_ROLES)
        ProjectIamMember(
            self,
            "deployer_project_iam",
            project=props.project_id,
            role=DEPLOYER_IAM_ADMIN_ROLE,
            member=deployer_member,
            condition=ProjectIamMemberCondition(
                title="only the stack's own roles",
                description="Grants or revokes only the project roles the gcp stack itself grants",
                expression=f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{grantable}])",
            ),
        )


def _slug(role: str) -> str:
    return role.removeprefix("roles/").replace(".", "_")
