"""Kestra's own patterns for flow ids and namespaces (io.kestra.core.models.flows.Flow).

The flow checker refuses a flow whose id or namespace Kestra would refuse; the settings check
KESTRA_NAMESPACE with the same pattern (it imports it from here, so there is one copy of the rule).
"""

from __future__ import annotations

import re

KESTRA_ID_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
KESTRA_NAMESPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
KESTRA_ID_MAX_LENGTH = 100
