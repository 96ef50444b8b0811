"""Which data a stack protects from destroy, and the one switch that lifts the protection.

Learners load months of taxi data (hours of downloads) into the PostgreSQL volumes and the
bucket/dataset, and Kestra keeps their flows' history on a volume or disk; a `destroy` to
"stop the stack" or "start clean" must never take that by surprise. So, unless
`ZOOMCAMP_SANDBOX=true`:
- `make destroy-<stack>` removes everything except the resources of the types in `PROTECTED`
  (ops/destroy.py), which stay deployed and in the Terraform state, so the next deploy
  reattaches to them;
- those resources carry Terraform's `lifecycle.prevent_destroy`: Terraform refuses any plan
  that deletes or replaces them (a renamed prefix, a changed bucket location, a bare
  `terraform destroy`);
- the gcp buckets keep `force_destroy = false` and the dataset
  `delete_contents_on_destroy = false`: Google refuses to delete them while they hold data;
- `make sandbox-reset` refuses before running anything, in one line that says how to opt in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.errors import BundleError
from stacks.settings import GCP_STACK, LOCAL_STACK, STACK_NAMES, Settings

if TYPE_CHECKING:  # the guard runs before deploys: keep it free of the jsii runtime
    from cdktf import TerraformResource


@dataclass(frozen=True)
class StackData:
    """What a stack protects: in a learner's words, and as the Terraform types that hold it."""

    words: str  # what a full destroy would lose
    resource_types: tuple[str, ...]  # every resource of these types is kept outside sandbox mode
    # Of those, the types Google deletes with the flag stored in the state (force_destroy,
    # delete_contents_on_destroy, deletion_protection), not the one in the code: a sandbox
    # destroy applies the sandbox values to them first.
    emptied_per_state: tuple[str, ...] = ()


# THE table of protected data: ops/destroy.py keeps these resources, `protect_from_destroy`
# refuses to mark any other type, and the tests prove both agree with the synthesized stacks.
PROTECTED: dict[str, StackData] = {
    LOCAL_STACK: StackData(
        words=(
            "the PostgreSQL volumes (your loaded taxi tables, Kestra's flows, executions and logs) and "
            "Kestra's storage volume (execution files, KV values, namespace files)"
        ),
        # Kestra's database only points into its storage volume (KV values and execution files
        # live there): keeping one without the other would leave dangling references.
        resource_types=("docker_volume",),
    ),
    GCP_STACK: StackData(
        words=(
            "the GCS bucket and the BigQuery dataset with their contents, Kestra's storage bucket, "
            "the VM's data disk (Kestra's flows, executions and logs) and the Secret Manager secrets "
            "(Kestra's password, the Git-sync webhook key)"
        ),
        resource_types=(
            "google_storage_bucket",
            "google_bigquery_dataset",
            "google_bigquery_table",
            "google_compute_disk",
            # Their versions are made on the VM, not by Terraform: a recreated secret would be
            # empty and the kept disk's Kestra would get a new password and webhook key.
            "google_secret_manager_secret",
        ),
        emptied_per_state=("google_storage_bucket", "google_bigquery_dataset", "google_bigquery_table"),
    ),
}
# What each stack would lose, in the words a learner knows.
PROTECTED_DATA: dict[str, str] = {stack: data.words for stack, data in PROTECTED.items()}
# The command that does the same with the protection lifted, per action.
OPT_IN: dict[str, str] = {
    "reset": "ZOOMCAMP_SANDBOX=true make sandbox-reset STACK={stack}",
    "destroy": "ZOOMCAMP_SANDBOX=true make destroy-{stack}",
}


class SandboxRefusal(BundleError):
    """A destroy that would take protected data, asked for without sandbox mode."""


@dataclass(frozen=True)
class DataProtection:
    """The protective flags the stacks put on resources that hold data."""

    prevent_destroy: bool
    force_destroy: bool
    delete_contents_on_destroy: bool


def data_protection(settings: Settings) -> DataProtection:
    sandbox = settings.sandbox
    return DataProtection(prevent_destroy=not sandbox, force_destroy=sandbox, delete_contents_on_destroy=sandbox)


def protect_from_destroy(resource: TerraformResource, settings: Settings) -> None:
    """Add `lifecycle.prevent_destroy` to a resource holding data, unless in sandbox mode.

    Only a resource whose type `PROTECTED` lists for its stack may be marked: a marked
    resource that `make destroy-<stack>` did not keep would make that destroy fail halfway.
    """
    from cdktf import TerraformStack  # at synth time only: this module stays jsii-free

    stack = TerraformStack.of(resource).node.id
    resource_type = resource.terraform_resource_type
    if stack not in PROTECTED or resource_type not in PROTECTED[stack].resource_types:
        raise ValueError(
            f"{resource.node.path}: {resource_type} is not protected data of stack {stack!r}; "
            "add its type to PROTECTED in stacks/sandbox.py first"
        )
    if data_protection(settings).prevent_destroy:
        resource.add_override("lifecycle.prevent_destroy", True)


def check_stack(stack: str) -> str:
    if stack not in STACK_NAMES:
        raise BundleError(f"STACK={stack!r} is not a stack; use STACK={' or STACK='.join(STACK_NAMES)}")
    return stack


def require_sandbox(stack: str, settings: Settings, action: str = "reset") -> None:
    """Refuse, before anything runs, an action that would delete the stack's protected data."""
    check_stack(stack)
    if settings.sandbox:
        return
    opt_in = OPT_IN[action].format(stack=stack)
    raise SandboxRefusal(
        f"refusing to {action} the {stack} stack: it would delete {PROTECTED_DATA[stack]}, which are "
        f"protected; nothing was changed. To {action} it and lose that data, opt in: {opt_in}"
    )
