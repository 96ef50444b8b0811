"""The `kestra` provider block."""

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
    tenant_id: str | None = None
    timeout: int | None = None
    keep_original_source: bool | None = None


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
