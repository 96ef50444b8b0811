"""`kestra_kv`: one key-value pair in a namespace.

The value is stored in Terraform state unmasked: configuration only, never credentials.
Provider v1.3.2 (internal/provider/resource_kv.go) takes only namespace, key, type and value:
there is no `description` (a key's meaning is a comment where its value is defined), and
`tenant_id` is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stacks.kestra._base import KestraResource

# The values the provider's `type` description accepts (it does not validate them itself).
KvType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]


@dataclass(frozen=True, kw_only=True)
class KestraKvProps:
    namespace: str
    key: str
    value: str
    type: KvType | None = "STRING"


class KestraKv(KestraResource):
    resource_type = "kestra_kv"
