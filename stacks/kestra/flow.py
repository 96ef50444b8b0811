"""`kestra_flow`: one flow, its YAML shipped verbatim."""

from __future__ import annotations

from dataclasses import dataclass

from stacks.kestra._base import KestraResource


@dataclass(frozen=True, kw_only=True)
class KestraFlowProps:
    namespace: str
    flow_id: str
    content: str
    # Left unset: the provider's default (true) keeps comments and formatting, which is
    # what learners expect to see in the UI.
    keep_original_source: bool | None = None
    tenant_id: str | None = None


class KestraFlow(KestraResource):
    resource_type = "kestra_flow"

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")
