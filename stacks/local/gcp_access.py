"""What the local Kestra needs to run the course's GCP flows: the GCP KV values and credentials.

Both come from settings alone, never from the gcp stack's outputs, so `cdktf deploy local`
works whether or not the gcp stack exists, and never loads the google provider.

- KV: GCP_PROJECT_ID, GCP_LOCATION, GCP_BUCKET_NAME, GCP_DATASET, from the same function the
  gcp stack names its bucket and dataset with (stacks/gcp/target.py). Without a resolvable
  project they are left out, with a note at synth, because the local stack must not need Google.
- Credentials: the learner's Application Default Credentials (or GOOGLE_APPLICATION_CREDENTIALS
  key file) mounted read-only, with GOOGLE_APPLICATION_CREDENTIALS pointing at it inside the
  container: Kestra's GCP tasks pick them up with no key pasted into KV, state or Git.
"""

from __future__ import annotations

from cdktf import Annotations
from cdktf_cdktf_provider_docker.container import ContainerVolumes
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
    """Volumes and environment entries for the Kestra container; empty when there is no file."""
    source = settings.local.google_credentials_file
    if source is None:
        return [], []
    volume = ContainerVolumes(host_path=source, container_path=CONTAINER_CREDENTIALS, read_only=True)
    return [volume], [f"GOOGLE_APPLICATION_CREDENTIALS={CONTAINER_CREDENTIALS}"]
