"""Whether the Kestra Terraform provider sees two flow sources as the same flow.

The provider (kestra-io/terraform-provider-kestra v1.3.2, `isYamlEqualsFlow` in
internal/provider/provider.go, the DiffSuppressFunc of `kestra_flow.content`) parses both
sources as YAML, drops the top-level keys `deleted`, `id`, `namespace` and `revision`, and
compares what is left as data. Comments, key order, quoting and indentation are not data, so an
edit of only those plans no change, and Terraform never sends it to Kestra. `make diff` and
`make pull-flows` use this to say so instead of showing an edit that will not be deployed.

A stand-in, named as one: PyYAML's safe loader reads YAML 1.1 as the provider's gopkg.in/yaml.v2
does (`yes`/`on` are booleans in both); both sides go through the same loader, so the answer
differs from the provider's only for edits that change a scalar's spelling but not its value in
one loader and not in the other (e.g. a date written two ways).
"""

from __future__ import annotations

from typing import Any

import yaml

# The top-level keys isYamlEqualsFlow deletes from both sides before comparing.
IGNORED_KEYS = ("deleted", "id", "namespace", "revision")


def _compared(source: str, ignored: tuple[str, ...]) -> Any:
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict):
        # The provider unmarshals into a map; anything else leaves it empty.
        return {}
    return {key: value for key, value in document.items() if key not in ignored}


def provider_sees_same_flow(before: str, after: str, ignored: tuple[str, ...] = IGNORED_KEYS) -> bool:
    """True when the provider's diff would suppress the change from `before` to `after`."""
    old, new = _compared(before, ignored), _compared(after, ignored)
    return old is not None and new is not None and old == new


def only_comments_or_layout_differ(before: str, after: str, ignored: tuple[str, ...] = IGNORED_KEYS) -> bool:
    """The texts differ, yet the provider sees the same flow: a change Terraform never deploys.

    `ignored=()` asks the stricter question (the same data, id and namespace included), for a
    caller to whom another id is a real difference even though the provider skips it.
    """
    return before != after and provider_sees_same_flow(before, after, ignored)
