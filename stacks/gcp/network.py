"""A private network for the Kestra VM: Kestra's port is reached through IAP only.

The project's `default` network (if it still exists) opens SSH and RDP to the internet; this
stack does not use it. Its own VPC admits only Google's IAP TCP-forwarding range, to the
Kestra UI (8080) and SSH (22): both then need the caller's Google identity and IAM rights, so
Kestra's plain-HTTP login never crosses the internet. Outbound traffic (apt, Docker Hub, the
Git repository) leaves through Cloud NAT, so the VM needs no external IP. An optional
allowlist (GCP_ALLOWED_CIDRS, at most /24 each, checked in stacks/settings.py) opens SSH alone,
never 8080: SSH still needs a Google identity (OS Login, stacks/gcp/security.py) and encrypts the
tunnel to Kestra (the output ssh_tunnel_command); the VM gets an ephemeral external IP for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.compute_firewall import ComputeFirewall, ComputeFirewallAllow
from cdktf_cdktf_provider_google.compute_network import ComputeNetwork
from cdktf_cdktf_provider_google.compute_router import ComputeRouter
from cdktf_cdktf_provider_google.compute_router_nat import (
    ComputeRouterNat,
    ComputeRouterNatLogConfig,
    ComputeRouterNatSubnetwork,
)
from cdktf_cdktf_provider_google.compute_subnetwork import ComputeSubnetwork, ComputeSubnetworkLogConfig
from constructs import Construct

from stacks.gcp.security import IAP_RANGE, KESTRA_PORT, SSH_PORT

SUBNET_RANGE = "10.10.0.0/24"


@dataclass(frozen=True, kw_only=True)
class KestraNetworkProps:
    name: str
    region: str
    iap_firewall_name: str
    allowlist_firewall_name: str
    target_service_account: str  # rules apply to the VM running as this account only
    allowed_cidrs: tuple[str, ...] = ()


class KestraNetwork(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: KestraNetworkProps) -> None:
        super().__init__(scope, id_)
        self.network = ComputeNetwork(
            self,
            "vpc",
            name=props.name,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description="Kestra VM network: ingress from IAP (and an optional allowlist) only",
        )
        self.subnetwork = ComputeSubnetwork(
            self,
            "subnet",
            name=props.name,
            region=props.region,
            network=self.network.id,
            ip_cidr_range=SUBNET_RANGE,
            # Google APIs (GCS, BigQuery, Secret Manager) without leaving Google's network.
            private_ip_google_access=True,
            # Flow logs, sampled and aggregated so a learner's bill stays near zero.
            log_config=ComputeSubnetworkLogConfig(
                aggregation_interval="INTERVAL_10_MIN", flow_sampling=0.1, metadata="INCLUDE_ALL_METADATA"
            ),
        )
        router = ComputeRouter(self, "router", name=props.name, region=props.region, network=self.network.id)
        self.nat = ComputeRouterNat(
            self,
            "nat",
            name=props.name,
            region=props.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetwork=[ComputeRouterNatSubnetwork(name=self.subnetwork.id, source_ip_ranges_to_nat=["ALL_IP_RANGES"])],
            log_config=ComputeRouterNatLogConfig(enable=True, filter="ERRORS_ONLY"),
        )
        self.iap_firewall = ComputeFirewall(
            self,
            "allow_iap",
            name=props.iap_firewall_name,
            network=self.network.name,
            direction="INGRESS",
            source_ranges=[IAP_RANGE],
            allow=[ComputeFirewallAllow(protocol="tcp", ports=[KESTRA_PORT, SSH_PORT])],
            target_service_accounts=[props.target_service_account],
            description="IAP TCP forwarding to the Kestra UI and SSH (gcloud compute start-iap-tunnel / ssh)",
        )
        self.allowlist_firewall = None
        if props.allowed_cidrs:
            self.allowlist_firewall = ComputeFirewall(
                self,
                "allow_cidrs",
                name=props.allowlist_firewall_name,
                network=self.network.name,
                direction="INGRESS",
                source_ranges=list(props.allowed_cidrs),
                # SSH only: Kestra's basic-auth login is plain HTTP and must not cross the internet.
                allow=[ComputeFirewallAllow(protocol="tcp", ports=[SSH_PORT])],
                target_service_accounts=[props.target_service_account],
                description="GCP_ALLOWED_CIDRS: SSH with OS Login, for an encrypted tunnel to the Kestra UI",
            )
