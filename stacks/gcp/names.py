"""Names of the gcp stack's resources, derived from ZOOMCAMP_PREFIX and checked once.

Compute Engine, IAM and Secret Manager each have naming rules; the strictest (service
account ids: 6-30 characters, lower-case letters, digits and '-', starting with a letter)
bounds the prefix. Checking here means a teacher who deploys one stack per learner in a
shared project learns about a bad prefix at synth, not halfway through an apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.gcp.target import GcpTarget, GcpTargetError
from stacks.settings import gcs_bucket_problem

_PREFIX = re.compile(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$")


@dataclass(frozen=True)
class GcpNames:
    prefix: str
    project_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}-kestra"

    @property
    def service_account_id(self) -> str:
        return self.base

    @property
    def instance(self) -> str:
        return self.base

    @property
    def data_disk(self) -> str:
        return f"{self.base}-data"

    @property
    def network(self) -> str:
        return self.base

    @property
    def firewall_iap(self) -> str:
        return f"{self.base}-allow-iap"

    @property
    def firewall_allowlist(self) -> str:
        return f"{self.base}-allow-cidrs"

    @property
    def github_planner_account_id(self) -> str:
        return f"{self.prefix}-gh-plan"  # at most 28 characters with a 20-character prefix

    @property
    def github_deployer_account_id(self) -> str:
        return f"{self.prefix}-gh-deploy"  # at most 30

    @property
    def local_kestra_account_id(self) -> str:
        return f"{self.prefix}-local"  # at most 26 characters with a 20-character prefix

    @property
    def local_kestra_email(self) -> str:
        """The local Kestra's account, whose tokens ops/token_broker.py mints by impersonation."""
        return f"{self.local_kestra_account_id}@{self.project_id}.iam.gserviceaccount.com"

    @property
    def github_pool(self) -> str:
        """Workload identity pool id (4-32 characters). A deleted pool keeps its id for 30 days."""
        return f"{self.prefix}-github"

    @property
    def basic_auth_secret(self) -> str:
        return f"{self.base}-basic-auth-password"

    @property
    def webhook_key_secret(self) -> str:
        return f"{self.base}-git-sync-webhook-key"

    @property
    def encryption_key_secret(self) -> str:
        return f"{self.base}-kestra-encryption-key"

    @property
    def internal_storage_bucket(self) -> str:
        """Kestra's internal storage, apart from the data lake so lifecycle rules never mix."""
        return f"{self.project_id}-{self.prefix}-kestra"


def gcp_names(prefix: str, target: GcpTarget) -> GcpNames:
    if not _PREFIX.match(prefix):
        raise GcpTargetError(
            f"ZOOMCAMP_PREFIX={prefix!r} must be 1-20 lower-case letters, digits or '-', starting with a letter "
            "and not ending with '-', for the gcp stack's resource names (service account, VM, network)"
        )
    names = GcpNames(prefix=prefix, project_id=target.project_id)
    problem = gcs_bucket_problem(names.internal_storage_bucket)
    if problem:
        raise GcpTargetError(
            f"Kestra's storage bucket name {names.internal_storage_bucket!r}, derived from the project and "
            f"ZOOMCAMP_PREFIX, {problem}; choose a shorter ZOOMCAMP_PREFIX"
        )
    return names
