"""Secret Manager secrets for the Kestra VM: containers only, their values made on the VM.

Terraform creates each secret without a version, so no password ever passes through the plan,
the state or instance metadata. The boot script generates the value on first boot and adds
it as the first version (hence `secretVersionAdder`, granted on that secret only); the owner
reads it with `gcloud secrets versions access latest --secret=<id>`.

The add grant is conditional: it holds until SECRET_ADDER_WINDOW after the secret's own
`create_time` (an IAM condition on `request.time`), long enough for the first boot, which follows
in the same apply. After that the VM, and so any flow running on it with the VM's token, cannot add
the version a later boot would adopt (a planted password or encryption key). The anchor is the
secret's creation, not the VM's: replacing the VM opens no new window, and the expression never
changes once the secret exists, so plans stay empty. Reading stays unconditional.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_google.secret_manager_secret import (
    SecretManagerSecret,
    SecretManagerSecretReplication,
    SecretManagerSecretReplicationAuto,
)
from cdktf_cdktf_provider_google.secret_manager_secret_iam_member import (
    SecretManagerSecretIamMember,
    SecretManagerSecretIamMemberCondition,
)
from constructs import Construct

from stacks.gcp.security import SECRET_ADDER_ROLE, SECRET_ADDER_WINDOW, SECRET_ROLES

FIRST_BOOT_CONDITION_TITLE = "first-boot-only"


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
                condition=self._first_boot_only() if role == SECRET_ADDER_ROLE else None,
            )
            for role in SECRET_ROLES
        ]

    def _first_boot_only(self) -> SecretManagerSecretIamMemberCondition:
        until = Fn.timeadd(self.secret.create_time, SECRET_ADDER_WINDOW)
        return SecretManagerSecretIamMemberCondition(
            title=FIRST_BOOT_CONDITION_TITLE,
            description=f"The VM fills the secret on its first boot; no new versions after {SECRET_ADDER_WINDOW}.",
            expression=f'request.time < timestamp("{until}")',
        )
