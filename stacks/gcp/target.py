"""The Google Cloud target both stacks agree on: project, location, bucket and dataset.

The course's "gcp kv" flow asked learners to type these four values by hand, and a typo in
one of them was a classic support question. Here they are derived once, from settings, by
the functions below: the gcp stack creates the bucket and dataset with these names, and the
local stack (and the Kestra on Compute Engine) put the very same values in Kestra's KV store.
No stack reads the other's outputs, so `cdktf deploy local` never needs the gcp stack.

The project comes from GCP_PROJECT_ID, else from Application Default Credentials (what
`gcloud auth application-default login` plus `gcloud config set project` leave behind). It is
looked up only when a stack asks for it; google-auth is imported only then.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from common.errors import BundleError
from stacks.settings import PROJECT_ROOT, Settings, gcs_bucket_problem

# The four KV keys the course's GCP flows read with kv('...').
KV_PROJECT_ID = "GCP_PROJECT_ID"
KV_LOCATION = "GCP_LOCATION"
KV_BUCKET_NAME = "GCP_BUCKET_NAME"
KV_DATASET = "GCP_DATASET"
KV_KEYS = (KV_PROJECT_ID, KV_LOCATION, KV_BUCKET_NAME, KV_DATASET)


class GcpTargetError(BundleError):
    """No usable Google Cloud project, or names derived from it break a service's rules."""


class NoProjectError(GcpTargetError):
    """Neither GCP_PROJECT_ID nor Application Default Credentials name a project."""


@dataclass(frozen=True)
class GcpTarget:
    project_id: str
    region: str
    zone: str
    bucket_name: str
    dataset: str

    @property
    def location(self) -> str:
        """Bucket and dataset share the region: BigQuery external tables need them co-located."""
        return self.region


def adc_project() -> str | None:
    """The project Application Default Credentials name, or None when there are none."""
    import google.auth
    from google.auth.exceptions import GoogleAuthError

    try:
        _, project = google.auth.default()
    except GoogleAuthError:
        return None
    return project or None


NO_PROJECT = (
    "no Google Cloud project: set GCP_PROJECT_ID=<your-project-id>, or run "
    "`gcloud auth application-default login` and `gcloud config set project <your-project-id>`"
)


def resolve_gcp_target(settings: Settings, project_lookup: Callable[[], str | None] | None = None) -> GcpTarget:
    """Project from GCP_PROJECT_ID or ADC, then the derived names, each checked; one line on failure."""
    gcp = settings.gcp
    project = gcp.project_id or (project_lookup or adc_project)()
    if not project:
        raise NoProjectError(f"{NO_PROJECT}; or build only the local stack with ZOOMCAMP_STACKS=local")
    bucket = gcp.bucket_name or f"{project}-{settings.local.prefix}-data"
    problem = gcs_bucket_problem(bucket)
    if problem:
        raise GcpTargetError(
            f"bucket name {bucket!r}, derived from the project and ZOOMCAMP_PREFIX, {problem}; "
            "set GCP_BUCKET_NAME to a valid, globally unique name"
        )
    return GcpTarget(
        project_id=project,
        region=gcp.region,
        zone=gcp.zone or f"{gcp.region}-b",
        bucket_name=bucket,
        dataset=gcp.dataset,
    )


def kv_values(target: GcpTarget) -> dict[str, tuple[str, str]]:
    """KV key -> (value, description): what the course's 04_gcp_kv flow used to set by hand."""
    return {
        KV_PROJECT_ID: (target.project_id, "Google Cloud project of the gcp stack"),
        KV_LOCATION: (target.location, "location of the bucket and the BigQuery dataset"),
        KV_BUCKET_NAME: (target.bucket_name, "GCS bucket (data lake) created by the gcp stack"),
        KV_DATASET: (target.dataset, "BigQuery dataset created by the gcp stack"),
    }


def origin_https_url(root: str = str(PROJECT_ROOT)) -> str | None:
    """This checkout's `origin` remote as an https URL (what the VM's Git sync can clone without keys)."""
    try:
        result = subprocess.run(
            ["git", "-C", root, "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    url = result.stdout.strip()
    if url.startswith("git@") and ":" in url:
        host, path = url.removeprefix("git@").split(":", 1)
        url = f"https://{host}/{path}"
    elif url.startswith("ssh://git@"):
        url = "https://" + url.removeprefix("ssh://git@")
    if not url.startswith("https://") or "@" in url.split("://", 1)[1].split("/", 1)[0]:
        return None
    return url


def resolve_git_url(settings: Settings, origin_lookup: Callable[[], str | None] = origin_https_url) -> str:
    url = settings.gcp.git.url or origin_lookup()
    if not url:
        raise GcpTargetError(
            "ZOOMCAMP_GIT_URL is not set and this checkout has no https-usable `origin` remote: set "
            "ZOOMCAMP_GIT_URL=https://github.com/<you>/<your-fork>.git (the repository Kestra syncs flows from)"
        )
    return url
