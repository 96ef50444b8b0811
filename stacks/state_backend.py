"""Where the gcp stack keeps its Terraform state: a local file by default, or a GCS bucket.

The default (cdktf's local backend, `terraform.gcp.tfstate` in the project folder) suits a
learner alone. A team reviewing pull requests needs one shared state, so that everyone's
`cdktf diff gcp`, the PR workflow's plan and the manual deploy all see the same resources:
set `ZOOMCAMP_STATE_BUCKET` to a GCS bucket created for it (README, "Terraform state").
The state bucket is created by hand, outside the stack, so destroying the stack never
destroys its own state. The local stack always keeps local state: it describes one machine.
"""

from __future__ import annotations

from cdktf import GcsBackend, TerraformStack

from stacks.settings import Settings

# Objects are named <prefix>/<stack>/default.tfstate inside the bucket.
STATE_PREFIX = "zoomcamp-kestra"


def configure_state_backend(stack: TerraformStack, settings: Settings) -> GcsBackend | None:
    """Put `stack`'s state in ZOOMCAMP_STATE_BUCKET when set; otherwise keep cdktf's local file."""
    bucket = settings.gcp.state_bucket
    if bucket is None:
        return None
    return GcsBackend(stack, bucket=bucket, prefix=f"{STATE_PREFIX}/{stack.node.id}")
