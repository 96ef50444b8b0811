"""The `kestra` provider block (provider v1.3.2, internal/provider/provider.go).

Every attribute the provider leaves unset falls back to an environment variable of whoever runs
Terraform (KESTRA_URL, KESTRA_PASSWORD, KESTRA_KEEP_ORIGINAL_SOURCE, ...). The stacks set what
decides how flows are stored, so a learner's shell cannot change it behind the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import TerraformProvider
from constructs import Construct

from stacks import versions
from stacks.kestra._base import PROVIDER_NAME, generator_metadata, without_unset


@dataclass(frozen=True, kw_only=True)
class KestraProviderProps:
    url: str
    username: str | None = None
    password: str | None = None  # pass a sensitive Terraform variable, never a literal
    timeout: int | None = None
    # Store each flow's YAML as written (comments, layout), as learners see it in the course
    # videos. The provider's own default is true too, but read from KESTRA_KEEP_ORIGINAL_SOURCE,
    # and false is deprecated (its description says so); set here, the environment cannot flip it.
    # It exists on the provider only: kestra_flow has no such attribute.
    keep_original_source: bool = True


class KestraProvider(TerraformProvider):
    def __init__(self, scope: Construct, id_: str, *, props: KestraProviderProps) -> None:
        super().__init__(
            scope,
            id_,
            terraform_resource_type=PROVIDER_NAME,
            terraform_provider_source=versions.KESTRA_PROVIDER_SOURCE,
            terraform_generator_metadata=generator_metadata(),
        )
        self._props = props

    def _synthesize_attributes(self) -> dict[str, Any]:  # jsii protected override
        return without_unset(self._props)
