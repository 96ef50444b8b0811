"""`kestra_flow`: one flow, its YAML shipped verbatim.

Provider v1.3.2 (internal/provider/resource_flow.go) has no per-flow `keep_original_source`:
it is a provider-level setting (stacks/kestra/provider.py), and `tenant_id` is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.kestra._base import KestraResource


@dataclass(frozen=True, kw_only=True)
class KestraFlowProps:
    # Optional in the provider's schema (it can read them from the YAML); we always send them.
    namespace: str
    flow_id: str
    content: str


class KestraFlow(KestraResource):
    resource_type = "kestra_flow"

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")
