"""Secret Manager secrets for the Kestra VM: containers only, their values made on the VM.

Terraform creates each secret without a version, so no password ever passes through the plan,
the state or instance metadata. The boot script generates the value on first boot and adds
it as the first version (hence `secretVersionAdder`, granted on that secret only); the owner
reads it with `gcloud secrets versions access latest --secret=<id>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.secret_manager_secret import (
    SecretManagerSecret,
    SecretManagerSecretReplication,
    SecretManagerSecretReplicationAuto,
)
from cdktf_cdktf_provider_google.secret_manager_secret_iam_member import SecretManagerSecretIamMember
from constructs import Construct

from stacks.gcp.security import SECRET_ROLES


@dataclass(frozen=True, kw_only=True)
class VmSecretProps:
    secret_id: str
    purpose: str
    member: str  # the VM's service account, as an IAM member


class VmSecret(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: VmSecretProps) -> None:
        super().__init__(scope, id_)
        self.secret = SecretManagerSecret(
            self,
            "secret",
            secret_id=props.secret_id,
            replication=SecretManagerSecretReplication(auto=SecretManagerSecretReplicationAuto()),
            labels={"purpose": props.purpose},
        )
        self.grants = [
            SecretManagerSecretIamMember(
                self,
                role.rsplit(".", 1)[1].lower(),
                secret_id=self.secret.id,
                role=role,
                member=props.member,
            )
            for role in SECRET_ROLES
        ]
