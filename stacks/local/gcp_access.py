"""What the local Kestra needs to run the course's GCP flows: the GCP KV values and credentials.

Both come from settings alone, never from the gcp stack's outputs, so `cdktf deploy local`
works whether or not the gcp stack exists, and never loads the google provider.

- KV: GCP_PROJECT_ID, GCP_LOCATION, GCP_BUCKET_NAME, GCP_DATASET, from the same function the
  gcp stack names its bucket and dataset with (stacks/gcp/target.py). Without a resolvable
  project they are left out, with a note at synth, because the local stack must not need Google.
- Credentials: none by default. Kestra runs any flow, as root, with the Docker socket, so whatever
  is mounted into it every flow can read and send away; the learner's ADC file is a refresh
  token that outlives the course (often a project owner's). Only with
  ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=true, and only a file that holds no long-lived credential
  (stacks/settings.py refuses the learner's login, a service-account key, and an impersonation
  file built on either), is it mounted read-only, named by GOOGLE_APPLICATION_CREDENTIALS inside
  the container. Kestra's GCP tasks (plugin-gcp's CredentialService) take a key in
  `serviceAccount` or Application Default Credentials, nothing else: a bare short-lived access
  token has no way in. The GCP flows run with the least-privilege service account on the gcp
  stack's VM, or, with ZOOMCAMP_GCP_TOKEN_BROKER=true, through the one way that keeps every
  long-lived credential on the host: Google's clients in Kestra find their "metadata server" at
  GCE_METADATA_HOST, which is ops/token_broker.py on the learner's machine, handing out <= 1 h
  tokens of the gcp stack's local-Kestra service account (data-only roles).
"""

from __future__ import annotations

from cdktf import Annotations
from cdktf_cdktf_provider_docker.container import ContainerHost, ContainerVolumes
from constructs import Construct

from stacks.gcp.target import KV_KEYS, NO_PROJECT, NoProjectError, kv_values, resolve_gcp_target
from stacks.settings import Settings

CONTAINER_CREDENTIALS = "/etc/zoomcamp/google-credentials.json"


def gcp_kv_values(scope: Construct, settings: Settings) -> dict[str, tuple[str, str]]:
    try:
        return kv_values(resolve_gcp_target(settings))
    except NoProjectError:
        keys = ", ".join(KV_KEYS)
        Annotations.of(scope).add_warning(
            f"GCP KV values ({keys}) not set in the local Kestra: {NO_PROJECT}, then deploy again. "
            "Only the GCP flows need them."
        )
        return {}


def google_credentials_mount(settings: Settings) -> tuple[list[ContainerVolumes], list[str]]:
    """Volumes and environment entries for the Kestra container; empty (the default) when nothing is mounted."""
    source = settings.local.google_credentials_file
    if source is None:
        return [], []
    volume = ContainerVolumes(host_path=source, container_path=CONTAINER_CREDENTIALS, read_only=True)
    return [volume], [f"GOOGLE_APPLICATION_CREDENTIALS={CONTAINER_CREDENTIALS}"]


# How the Kestra container reaches this machine: Docker's host-gateway (docker0's address on
# Linux; Docker Desktop's host alias elsewhere), where ops/token_broker.py listens.
BROKER_HOST = "host.docker.internal"


def token_broker_access(settings: Settings) -> tuple[list[ContainerHost], list[str]]:
    """Extra hosts and environment entries for the Kestra container; empty (the default) without the broker.

    GCE_METADATA_HOST is read by Google's Java client (plugin-gcp's ADC) and Python's; Python pings
    GCE_METADATA_IP. Both name the broker, so neither falls through to another credential."""
    if not settings.local.gcp_token_broker:
        return [], []
    address = f"{BROKER_HOST}:{settings.local.gcp_token_broker_port}"
    return (
        [ContainerHost(host=BROKER_HOST, ip="host-gateway")],
        [f"GCE_METADATA_HOST={address}", f"GCE_METADATA_IP={address}"],
    )
