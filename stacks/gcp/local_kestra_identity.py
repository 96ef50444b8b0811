"""The local Kestra's own service account, for learners who run the GCP flows on their laptop.

The local Kestra must never hold the learner's Google login. Instead, a host-side broker
(ops/token_broker.py) uses the learner's own credentials to mint access tokens of at most an
hour for this account, by impersonation, and hands only those to Kestra. So the account has no
key, only the data roles the GCP flows need (object admin on the data lake bucket, not Kestra's
internal storage, which holds the VM's executions; data editor on the dataset; BigQuery job
user on the project), and only the members named in GCP_LOCAL_KESTRA_MEMBERS may mint its tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from constructs import Construct

from stacks.gcp.identity import KestraIdentity, KestraIdentityProps
from stacks.gcp.security import TOKEN_CREATOR_ROLE


@dataclass(frozen=True, kw_only=True)
class LocalKestraIdentityProps:
    project_id: str
    account_id: str
    data_bucket: str  # the data lake bucket's name (a Terraform reference)
    dataset_id: str  # dataset id (a Terraform reference)
    members: tuple[str, ...]  # user:EMAIL or group:EMAIL (GCP_LOCAL_KESTRA_MEMBERS)


class LocalKestraIdentity(KestraIdentity):
    """Kestra's data roles (stacks/gcp/identity.py) on the data lake alone, plus who may mint its tokens."""

    def __init__(self, scope: Construct, id_: str, *, props: LocalKestraIdentityProps) -> None:
        super().__init__(
            scope,
            id_,
            props=KestraIdentityProps(
                project_id=props.project_id,
                account_id=props.account_id,
                buckets=(props.data_bucket,),
                dataset_id=props.dataset_id,
                display_name="Local Kestra (zoomcamp) on a learner's computer",
                description="Tokens only through impersonation by the named members; data lake, dataset and "
                "BigQuery jobs only, no keys.",
            ),
        )
        for index, principal in enumerate(props.members):
            ServiceAccountIamMember(
                self,
                f"token_creator_{index}",
                service_account_id=self.account.name,
                role=TOKEN_CREATOR_ROLE,
                member=principal,
            )
