"""The Kestra VM: Ubuntu LTS, shielded, OS Login, no project SSH keys, no serial port.

Kestra's state (its metadata PostgreSQL) lives on a separate persistent disk, so the VM itself
is disposable: any change to its cloud-init replaces it (cloud-init runs once per instance,
so an in-place metadata update would silently change nothing), and the new VM mounts the
same disk and finds the same flows, executions and, via Secret Manager, the same password.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import DataResource, ITerraformDependable, TerraformResource, TerraformResourceLifecycle
from cdktf_cdktf_provider_google.compute_disk import ComputeDisk
from cdktf_cdktf_provider_google.compute_instance import (
    ComputeInstance,
    ComputeInstanceAttachedDisk,
    ComputeInstanceBootDisk,
    ComputeInstanceBootDiskInitializeParams,
    ComputeInstanceNetworkInterface,
    ComputeInstanceNetworkInterfaceAccessConfig,
    ComputeInstanceServiceAccount,
    ComputeInstanceShieldedInstanceConfig,
)
from constructs import Construct

from stacks import terraform_text
from stacks.gce.cloud_init import DATA_DISK_DEVICE_NAME
from stacks.gcp.security import HARDENING_METADATA

BOOT_DISK_GB = 30  # Ubuntu, the Kestra image (~1.5 GB) and the task images flows pull
DATA_DISK_GB = 10  # Kestra's metadata PostgreSQL: flows, executions, logs
DISK_TYPE = "pd-balanced"


@dataclass(frozen=True, kw_only=True)
class KestraVmProps:
    name: str
    zone: str
    machine_type: str
    image: str
    data_disk_name: str
    subnetwork: str
    service_account_email: str
    user_data: str  # rendered cloud-init, embedded verbatim
    external_ip: bool = False  # only with an allowlist (GCP_ALLOWED_CIDRS)


class KestraVm(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        props: KestraVmProps,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.data_disk = ComputeDisk(
            self,
            "data_disk",
            name=props.data_disk_name,
            zone=props.zone,
            type=DISK_TYPE,
            size=DATA_DISK_GB,
            description="Kestra's metadata PostgreSQL; survives replacement of the VM",
        )
        self.user_data_revision = DataResource(
            self,
            "user_data_revision",
            triggers_replace={"sha256": hashlib.sha256(props.user_data.encode()).hexdigest()},
        )
        self.instance = ComputeInstance(
            self,
            "instance",
            name=props.name,
            zone=props.zone,
            machine_type=props.machine_type,
            boot_disk=ComputeInstanceBootDisk(
                initialize_params=ComputeInstanceBootDiskInitializeParams(
                    image=props.image, size=BOOT_DISK_GB, type=DISK_TYPE
                )
            ),
            attached_disk=[ComputeInstanceAttachedDisk(source=self.data_disk.id, device_name=DATA_DISK_DEVICE_NAME)],
            network_interface=[
                ComputeInstanceNetworkInterface(
                    subnetwork=props.subnetwork,
                    access_config=[ComputeInstanceNetworkInterfaceAccessConfig()] if props.external_ip else None,
                )
            ],
            service_account=ComputeInstanceServiceAccount(
                email=props.service_account_email,
                # Access is governed by the account's IAM roles; the scope only must not narrow them.
                scopes=["cloud-platform"],
            ),
            shielded_instance_config=ComputeInstanceShieldedInstanceConfig(
                enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
            ),
            metadata={**HARDENING_METADATA, "user-data": terraform_text.literal(props.user_data)},
            allow_stopping_for_update=True,
            # A bare address: cdktf renders a resource object here as "${...}", which Terraform
            # rejects in lifecycle blocks (tests/unit/test_terraform_config.py runs `terraform init`).
            lifecycle=TerraformResourceLifecycle(replace_triggered_by=[_address(self.user_data_revision)]),
            depends_on=list(depends_on),
        )


def _address(resource: TerraformResource) -> str:
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"
