"""Typed bindings for the kestra-io/kestra Terraform provider.

No prebuilt cdktf package exists for it, so these small classes synthesize exactly the
attributes of the provider's schema (tests/fixtures/kestra_provider_schema.json, written
from the provider's documentation) and nothing else.
"""

from stacks.kestra.flow import KestraFlow, KestraFlowProps
from stacks.kestra.kv import KestraKv, KestraKvProps
from stacks.kestra.namespace_file import KestraNamespaceFile, KestraNamespaceFileProps
from stacks.kestra.provider import KestraProvider, KestraProviderProps

__all__ = [
    "KestraFlow",
    "KestraFlowProps",
    "KestraKv",
    "KestraKvProps",
    "KestraNamespaceFile",
    "KestraNamespaceFileProps",
    "KestraProvider",
    "KestraProviderProps",
]
