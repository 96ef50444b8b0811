"""Where the gcp stack keeps its Terraform state: a local file by default, or a GCS bucket.

The default (cdktf's local backend, `terraform.gcp.tfstate` in the project folder) suits a
learner alone. A team reviewing pull requests needs one shared state, so that everyone's
`cdktf diff gcp`, the PR workflow's plan and the manual deploy all see the same resources:
set `ZOOMCAMP_STATE_BUCKET` to a GCS bucket created for it (docs/lifecycle.md, "Terraform state").
The state bucket is created by hand, outside the stack, so destroying the stack never
destroys its own state. The local stack always keeps local state: it describes one machine.
`local_state_file` says where a local state is without synthesizing (cdktf is imported only
to configure a stack), so `make destroy-<stack>` knows a never-deployed stack at once.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

from stacks.settings import GCP_STACK, Settings

if TYPE_CHECKING:
    from cdktf import GcsBackend, TerraformStack

# Objects are named <prefix>/<stack>/default.tfstate inside the bucket.
STATE_PREFIX = "zoomcamp-kestra"


def configure_state_backend(stack: TerraformStack, settings: Settings) -> GcsBackend | None:
    """Put `stack`'s state in ZOOMCAMP_STATE_BUCKET when set; otherwise keep cdktf's local file."""
    from cdktf import GcsBackend

    bucket = settings.gcp.state_bucket
    if bucket is None:
        return None
    return GcsBackend(stack, bucket=bucket, prefix=f"{STATE_PREFIX}/{stack.node.id}")


def local_state_file(project_root: Path, stack: str, settings: Settings) -> Path | None:
    """The file holding `stack`'s state, or None when it is remote (ZOOMCAMP_STATE_BUCKET, gcp).

    cdktf's default local backend keeps `terraform.<stack>.tfstate` in the folder the app runs
    in, which is the project folder for the cdktf CLI and for our own synthesis alike.
    """
    if stack == GCP_STACK and settings.gcp.state_bucket is not None:
        return None
    return project_root / f"terraform.{stack}.tfstate"


# A local state holds every resource's attributes: for the local stack the containers' environment,
# so the database and Kestra passwords. Owner-only, like .secrets/local.env.
PRIVATE_MODE = 0o600
# The umask the deploy and destroy run Terraform with, so a new state (and its .backup) is born private.
PRIVATE_UMASK = 0o077


def state_files(project_root: Path, stack: str, settings: Settings) -> list[Path]:
    """The local state of `stack` and Terraform's backup of it, those that exist."""
    state = local_state_file(project_root, stack, settings)
    if state is None:
        return []
    return [path for path in (state, state.with_name(state.name + ".backup")) if path.is_file()]


def readable_by_others(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)


def make_state_private(project_root: Path, stack: str, settings: Settings) -> list[Path]:
    """chmod 0600 the state files others could read; the files changed."""
    changed = [path for path in state_files(project_root, stack, settings) if readable_by_others(path)]
    for path in changed:
        path.chmod(PRIVATE_MODE)
    return changed
