"""Kestra as the stacks see it: the Terraform provider's bindings, and the server's configuration.

- flow, kv, namespace_file, provider: typed bindings for the kestra-io/kestra Terraform provider.
  No prebuilt cdktf package exists for it, so these small classes synthesize exactly the
  attributes of the pinned provider's schema (tests/fixtures/kestra_provider_schema.json, read
  from its Go source by `python -m ops.kestra_provider_schema`) and nothing else.
- server_config: the Kestra server configuration both stacks render (local Docker, the VM).

The bindings load cdktf, so they are imported lazily (`from stacks.kestra import KestraFlow`
works as before); server_config is plain text rendering and loads nothing heavy, for the VM's
renderers in stacks/gce/.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Binding name -> the module defining it.
_BINDINGS = {
    "KestraFlow": "flow",
    "KestraFlowProps": "flow",
    "KestraKv": "kv",
    "KestraKvProps": "kv",
    "KestraNamespaceFile": "namespace_file",
    "KestraNamespaceFileProps": "namespace_file",
    "KestraProvider": "provider",
    "KestraProviderProps": "provider",
}
__all__ = sorted(_BINDINGS)


def __getattr__(name: str) -> Any:
    if name in _BINDINGS:
        return getattr(import_module(f"stacks.kestra.{_BINDINGS[name]}"), name)
    raise AttributeError(name)
