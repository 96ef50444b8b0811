"""What every Kestra resource binding shares: provider metadata and attribute synthesis."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from cdktf import ITerraformDependable, TerraformProviderGeneratorMetadata, TerraformResource
from constructs import Construct

from stacks import versions

PROVIDER_NAME = "kestra"


def generator_metadata() -> TerraformProviderGeneratorMetadata:
    return TerraformProviderGeneratorMetadata(
        provider_name=PROVIDER_NAME,
        provider_version_constraint=versions.KESTRA_PROVIDER_VERSION,
    )


def without_unset(props: object) -> dict[str, Any]:
    """Terraform treats a missing optional attribute and null alike; omit them for a clean diff."""
    return {key: value for key, value in asdict(props).items() if value is not None}  # type: ignore[call-overload]


class KestraResource(TerraformResource):
    """A resource whose attributes are exactly the fields of a frozen props dataclass.

    Like every construct of the stacks, it takes its arguments by keyword (`props=...`) and what
    must exist before it as `depends_on=[...]`, the keyword cdktf's own resources take: an ordering,
    never a props field (the synthesized attributes are the props, nothing else).
    """

    resource_type: str = ""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        props: object,
        depends_on: list[ITerraformDependable] | None = None,
    ) -> None:
        super().__init__(
            scope,
            id_,
            terraform_resource_type=self.resource_type,
            terraform_generator_metadata=generator_metadata(),
            depends_on=depends_on,
        )
        self._props = props

    def _synthesize_attributes(self) -> dict[str, Any]:  # jsii protected override
        return without_unset(self._props)
