"""The `gcp` stack: data lake, warehouse, Kestra's identity and Kestra on Compute Engine.

Built only when ZOOMCAMP_STACKS names it (stacks/app.py), because the google provider's jsii
assembly costs seconds and hundreds of MB to load. It resolves the project (GCP_PROJECT_ID or
Application Default Credentials) with the same function the local stack uses for its KV values.
"""

from __future__ import annotations

import dataclasses

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_google.provider import GoogleProvider
from constructs import Construct

from stacks import versions
from stacks.gce import cloud_init, system_flows
from stacks.gcp.github_identity import GithubIdentity, GithubIdentityProps
from stacks.gcp.identity import KestraIdentity, KestraIdentityProps
from stacks.gcp.local_kestra_identity import LocalKestraIdentity, LocalKestraIdentityProps
from stacks.gcp.names import GcpNames, gcp_names
from stacks.gcp.network import KestraNetwork, KestraNetworkProps
from stacks.gcp.secrets import VmSecret, VmSecretProps
from stacks.gcp.storage import DataLake, DataLakeProps
from stacks.gcp.target import GcpTarget, GcpTargetError, kv_values, resolve_gcp_target, resolve_git_url
from stacks.gcp.vm import KestraVm, KestraVmProps
from stacks.sandbox import protect_from_destroy
from stacks.settings import Settings
from stacks.state_backend import configure_state_backend

# Underscore, not hyphen: cdktf snake-cases the keys of provider-level maps.
LABELS = {"app": "zoomcamp-kestra", "managed_by": "cdktf"}


class GcpStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings) -> None:
        super().__init__(scope, id_)
        target = resolve_gcp_target(settings)
        names = gcp_names(settings.local.prefix, target)
        git_url = resolve_git_url(settings)
        gcp = settings.gcp

        GoogleProvider(
            self, "google", project=target.project_id, region=target.region, zone=target.zone, default_labels=LABELS
        )
        # Local state file by default; a shared GCS bucket when ZOOMCAMP_STATE_BUCKET is set.
        configure_state_backend(self, settings)

        lake = DataLake(
            self,
            "lake",
            props=DataLakeProps(
                location=target.location,
                data_bucket=target.bucket_name,
                internal_storage_bucket=names.internal_storage_bucket,
                dataset=target.dataset,
                sandbox=settings.sandbox,
                raw_csv_retention_days=gcp.raw_csv_retention_days,
            ),
        )
        identity = KestraIdentity(
            self,
            "identity",
            props=KestraIdentityProps(
                project_id=target.project_id,
                account_id=names.service_account_id,
                buckets=(lake.data_bucket.name, lake.internal_storage_bucket.name),
                dataset_id=lake.dataset.dataset_id,
            ),
        )
        secrets = {
            "basic_auth": VmSecret(
                self,
                "basic_auth_password",
                props=VmSecretProps(
                    secret_id=names.basic_auth_secret, purpose="kestra-basic-auth", member=identity.member
                ),
            ),
            "webhook_key": VmSecret(
                self,
                "git_sync_webhook_key",
                props=VmSecretProps(
                    secret_id=names.webhook_key_secret, purpose="kestra-git-sync-webhook", member=identity.member
                ),
            ),
            "encryption_key": VmSecret(
                self,
                "kestra_encryption_key",
                props=VmSecretProps(
                    secret_id=names.encryption_key_secret, purpose="kestra-encryption-key", member=identity.member
                ),
            ),
        }
        network = KestraNetwork(
            self,
            "network",
            props=KestraNetworkProps(
                name=names.network,
                region=target.region,
                iap_firewall_name=names.firewall_iap,
                allowlist_firewall_name=names.firewall_allowlist,
                target_service_account=identity.email,
                allowed_cidrs=gcp.allowed_cidrs,
            ),
        )
        user_data = cloud_init.render_user_data(
            cloud_init.VmKestraConfig(
                project_id=target.project_id,
                kestra_image=settings.kestra.image,
                postgres_image=settings.local.metadata_pg_image,
                kestra_username=settings.kestra.username,
                namespace=settings.kestra.namespace,
                internal_storage_bucket=names.internal_storage_bucket,
                basic_auth_secret_id=names.basic_auth_secret,
                webhook_key_secret_id=names.webhook_key_secret,
                encryption_key_secret_id=names.encryption_key_secret,
                tutorial_flows=settings.kestra.tutorial_flows,
                git=dataclasses.replace(gcp.git, url=git_url),
                kv_values=kv_values(target),
            )
        )
        vm = KestraVm(
            self,
            "kestra",
            props=KestraVmProps(
                name=names.instance,
                zone=target.zone,
                machine_type=gcp.machine_type,
                image=versions.GCE_IMAGE,
                data_disk_name=names.data_disk,
                subnetwork=network.subnetwork.id,
                service_account_email=identity.email,
                user_data=user_data,
                external_ip=bool(gcp.allowed_cidrs),
            ),
            # The first boot pulls images through NAT and reads its secrets and buckets.
            depends_on=[
                network.nat,
                *identity.grants,
                *(grant for secret in secrets.values() for grant in secret.grants),
            ],
        )
        # What holds data survives `make destroy-gcp` and must never be replaced by accident.
        data = (lake.data_bucket, lake.internal_storage_bucket, lake.dataset, vm.data_disk)
        for resource in (*data, *(secret.secret for secret in secrets.values())):
            protect_from_destroy(resource, settings)
        self._outputs(settings, target, names, lake, identity)
        local = self._local_kestra_identity(target, names, gcp.local_kestra_members, lake)
        if gcp.github_repository:
            self._github_identity(settings, target, names, gcp.github_repository, identity, lake, local)

    def _local_kestra_identity(
        self, target: GcpTarget, names: GcpNames, members: tuple[str, ...], lake: DataLake
    ) -> LocalKestraIdentity | None:
        """Opt-in (GCP_LOCAL_KESTRA_MEMBERS): the account whose tokens the local Kestra gets."""
        if not members:
            return None
        local = LocalKestraIdentity(
            self,
            "local_kestra_identity",
            props=LocalKestraIdentityProps(
                project_id=target.project_id,
                account_id=names.local_kestra_account_id,
                data_bucket=lake.data_bucket.name,
                dataset_id=lake.dataset.dataset_id,
                members=members,
            ),
        )
        TerraformOutput(
            self,
            "local_kestra_service_account",
            value=local.email,
            description="The local Kestra's account: tokens by impersonation, for GCP_LOCAL_KESTRA_MEMBERS only",
        )
        return local

    def _github_identity(
        self,
        settings: Settings,
        target: GcpTarget,
        names: GcpNames,
        repository: str,
        kestra: KestraIdentity,
        lake: DataLake,
        local: LocalKestraIdentity | None,
    ) -> None:
        """Opt-in (GCP_GITHUB_REPOSITORY): the identities .github/workflows/pr.yml and deploy.yml use."""
        if names.github_pool.startswith("gcp-"):
            raise GcpTargetError(
                f"ZOOMCAMP_PREFIX={settings.local.prefix!r} would name the workload identity pool "
                f"{names.github_pool!r}, and Google reserves 'gcp-'; "
                "choose another ZOOMCAMP_PREFIX to set GCP_GITHUB_REPOSITORY"
            )
        github = GithubIdentity(
            self,
            "github_identity",
            props=GithubIdentityProps(
                project_id=target.project_id,
                repository=repository,
                pool_id=names.github_pool,
                planner_account_id=names.github_planner_account_id,
                deployer_account_id=names.github_deployer_account_id,
                state_bucket=settings.gcp.state_bucket,
                kestra_account=kestra.account.name,
                local_kestra_account=local.account.name if local else None,
                buckets=(lake.data_bucket.name, lake.internal_storage_bucket.name),
            ),
        )
        TerraformOutput(
            self,
            "github_workload_identity_provider",
            value=github.provider.name,
            description="Repository variable GCP_WORKLOAD_IDENTITY_PROVIDER (docs/plan-diffs.md)",
        )
        TerraformOutput(
            self,
            "github_plan_service_account",
            value=github.planner.email,
            description="Repository variable GCP_PLAN_SERVICE_ACCOUNT: pull-request plans, read-only",
        )
        TerraformOutput(
            self,
            "github_deploy_service_account",
            value=github.deployer.email,
            description="Variable GCP_DEPLOY_SERVICE_ACCOUNT of the gcp environment: main's deploy only",
        )

    def _outputs(
        self,
        settings: Settings,
        target: GcpTarget,
        names: GcpNames,
        lake: DataLake,
        identity: KestraIdentity,
    ) -> None:
        where = f"--zone={target.zone} --project={target.project_id}"
        read_secret = "gcloud secrets versions access latest --secret={} --project=" + target.project_id
        TerraformOutput(
            self,
            "iap_tunnel_command",
            value=f"gcloud compute start-iap-tunnel {names.instance} 8080 --local-host-port=localhost:8080 {where}",
            description="Run this, keep it open, then browse kestra_url",
        )
        TerraformOutput(self, "kestra_url", value=cloud_init.LOCAL_KESTRA_URL, description="Through the IAP tunnel")
        TerraformOutput(self, "kestra_username", value=settings.kestra.username)
        TerraformOutput(
            self,
            "kestra_password_command",
            value=read_secret.format(names.basic_auth_secret),
            description="Prints the basic-auth password generated on the VM's first boot",
        )
        TerraformOutput(self, "ssh_command", value=f"gcloud compute ssh {names.instance} --tunnel-through-iap {where}")
        TerraformOutput(
            self,
            "boot_log_command",
            value=f"gcloud compute ssh {names.instance} --tunnel-through-iap {where} "
            "--command='sudo journalctl -u kestra.service --no-pager'",
        )
        TerraformOutput(
            self,
            "git_sync_flow",
            value=f"{system_flows.SYSTEM_NAMESPACE}.{system_flows.GIT_SYNC_FLOW_ID}",
            description="Its executions show each sync (Executions, namespace system)",
        )
        TerraformOutput(
            self,
            "git_sync_webhook_path",
            value=(
                f"/api/v1/main/executions/webhook/{system_flows.SYSTEM_NAMESPACE}/{system_flows.GIT_SYNC_FLOW_ID}/<key>"
            ),
            description="Append to Kestra's URL, with <key> from git_sync_webhook_key_command",
        )
        TerraformOutput(self, "git_sync_webhook_key_command", value=read_secret.format(names.webhook_key_secret))
        TerraformOutput(self, "bucket_name", value=lake.data_bucket.name)
        TerraformOutput(self, "kestra_storage_bucket", value=lake.internal_storage_bucket.name)
        TerraformOutput(self, "dataset", value=lake.dataset.dataset_id)
        TerraformOutput(self, "service_account_email", value=identity.email)
        if settings.gcp.allowed_cidrs:
            TerraformOutput(
                self,
                "ssh_tunnel_command",
                value=f"gcloud compute ssh {names.instance} {where} -- -N -L 8080:localhost:8080",
                description="From GCP_ALLOWED_CIDRS, without IAP: keep it open, then browse kestra_url (SSH-encrypted)",
            )
