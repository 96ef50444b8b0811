"""`kestra_namespace_file`: a UTF-8 file (SQL, Python, dbt models...) stored in a namespace.

Every attribute forces a replacement (provider v1.3.2 has no update for it); `tenant_id` is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.kestra._base import KestraResource


@dataclass(frozen=True, kw_only=True)
class KestraNamespaceFileProps:
    namespace: str
    filename: str
    content: str | None = None


class KestraNamespaceFile(KestraResource):
    resource_type = "kestra_namespace_file"
