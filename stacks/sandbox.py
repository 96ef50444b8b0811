"""Which data a stack protects from destroy, and the one switch that lifts the protection.

Learners load months of taxi data (hours of downloads) into the PostgreSQL volumes and the
bucket/dataset; a `destroy` to "start clean" must never take that by surprise. So, unless
`ZOOMCAMP_SANDBOX=true`:
- the local database volumes carry Terraform's `lifecycle.prevent_destroy`: Terraform
  refuses any plan that deletes or replaces them (a destroy, a renamed prefix);
- the gcp bucket keeps `force_destroy = false` and the dataset
  `delete_contents_on_destroy = false`: Google refuses to delete them while they hold data;
- `make sandbox-reset` and `make destroy-local` refuse before running anything, in one line
  that says how to opt in.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stacks.errors import BundleError, run_cli
from stacks.settings import STACK_NAMES, Settings

if TYPE_CHECKING:  # the guard runs before deploys: keep it free of the jsii runtime
    from cdktf import TerraformResource

# What each stack would lose, in the words a learner knows.
PROTECTED_DATA: dict[str, str] = {
    "local": "the PostgreSQL volumes (your loaded taxi tables and Kestra's executions)",
    "gcp": "the GCS bucket and the BigQuery dataset with their contents",
}
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
    """Add `lifecycle.prevent_destroy` to a resource holding data, unless in sandbox mode."""
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


def _main(argv: list[str]) -> int:
    """`python -m stacks.sandbox check (reset|destroy) STACK`: the guard the Makefile runs."""
    if len(argv) != 3 or argv[0] != "check" or argv[1] not in OPT_IN:
        raise BundleError("usage: python -m stacks.sandbox check (reset|destroy) STACK")
    require_sandbox(argv[2], Settings.from_env(), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(lambda: _main(sys.argv[1:])))
