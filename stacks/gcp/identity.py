"""Kestra's own service account and the only roles it gets.

The course had learners create a key for an over-privileged account and paste its JSON into
Kestra's KV store, from where it leaked into screenshots and repositories. Here the VM runs as
a dedicated account with no key at all, and each role is scoped to the one resource it is for:
object admin on the two buckets, data editor on the dataset, and BigQuery job user on the
project (BigQuery bills and runs jobs per project; that role holds no data access by itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.bigquery_dataset_iam_member import BigqueryDatasetIamMember
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.service_account import ServiceAccount
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from constructs import Construct

from stacks.gcp.security import BUCKET_ROLE, DATASET_ROLE, PROJECT_ROLE


@dataclass(frozen=True, kw_only=True)
class KestraIdentityProps:
    project_id: str
    account_id: str
    buckets: tuple[str, ...]  # bucket names (Terraform references)
    dataset_id: str  # dataset id (a Terraform reference)
    display_name: str = "Kestra (zoomcamp) on Compute Engine"
    description: str = "Runs the Kestra VM and its flows; bucket-, dataset- and secret-scoped roles only, no keys."


class KestraIdentity(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: KestraIdentityProps) -> None:
        super().__init__(scope, id_)
        self.account = ServiceAccount(
            self,
            "account",
            account_id=props.account_id,
            display_name=props.display_name,
            description=props.description,
        )
        self.email = self.account.email
        self.member = f"serviceAccount:{self.account.email}"
        self.grants = [
            *(
                StorageBucketIamMember(self, f"bucket_{index}", bucket=bucket, role=BUCKET_ROLE, member=self.member)
                for index, bucket in enumerate(props.buckets)
            ),
            BigqueryDatasetIamMember(
                self, "dataset", dataset_id=props.dataset_id, role=DATASET_ROLE, member=self.member
            ),
            ProjectIamMember(self, "bigquery_jobs", project=props.project_id, role=PROJECT_ROLE, member=self.member),
        ]
