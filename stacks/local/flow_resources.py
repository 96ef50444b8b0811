"""Kestra resources from the flow catalog and from configuration values.

Stacks hand over already-loaded flows; nothing here reads YAML. Every flow waits for the
Kestra it is shipped to (`depends_on`), so a first deploy never hits a server that is still
starting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf import ITerraformDependable
from constructs import Construct

from flowcheck.flow_catalog import FlowFile
from stacks.kestra import KestraFlow, KestraFlowProps, KestraKv, KestraKvProps


def flow_construct_id(flow: FlowFile) -> str:
    """Stable Terraform address part, from the flow's id: renaming a flow shows as remove + add
    in a diff."""
    return "flow_" + flow.flow_id.replace(".", "_").replace("-", "_")


class KestraFlows(Construct):
    """The local stack's flows, editable in the UI (see FlowFile.editable_content)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        flows: Sequence[FlowFile],
        depends_on: list[ITerraformDependable],
    ) -> None:
        super().__init__(scope, id_)
        self.flows = {
            flow.key: KestraFlow(
                self,
                flow_construct_id(flow),
                props=KestraFlowProps(namespace=flow.namespace, flow_id=flow.flow_id, content=flow.editable_content),
                depends_on=depends_on,
            )
            for flow in flows
        }


class KestraKvValues(Construct):
    """Configuration (never credentials: KV values sit unmasked in Terraform state)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        namespace: str,
        values: Mapping[str, tuple[str, str]],
        depends_on: list[ITerraformDependable],
    ) -> None:
        super().__init__(scope, id_)
        self.entries = {
            key: KestraKv(
                self,
                key.lower(),
                props=KestraKvProps(namespace=namespace, key=key, value=value),
                depends_on=depends_on,
            )
            # The meaning beside each value stays where the value is defined (stacks/local/kv.py,
            # stacks/gcp/target.py), for readers only: kestra_kv has no description attribute.
            for key, (value, _meaning) in values.items()
        }
