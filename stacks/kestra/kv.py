"""`kestra_kv`: one key-value pair in a namespace.

The value is stored in Terraform state unmasked: configuration only, never credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stacks.kestra._base import KestraResource

KvType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]


@dataclass(frozen=True, kw_only=True)
class KestraKvProps:
    namespace: str
    key: str
    value: str
    type: KvType | None = "STRING"
    description: str | None = None
    tenant_id: str | None = None


class KestraKv(KestraResource):
    resource_type = "kestra_kv"
