"""flowcheck/flow_equality.py answers as the provider's isYamlEqualsFlow (v1.3.2) does.

The provider's rule, read in internal/provider/provider.go: both sides parsed as YAML, the
top-level keys deleted, id, namespace and revision dropped, the rest compared as data.
"""

from __future__ import annotations

import pytest

from flowcheck.flow_equality import only_comments_or_layout_differ, provider_sees_same_flow

FLOW = "id: taxi\nnamespace: zoomcamp\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


@pytest.mark.parametrize(
    ("after", "same"),
    [
        ("# a comment\n" + FLOW, True),
        (FLOW.replace("message: hi", "message: hi  # inline"), True),
        (FLOW.replace("message: hi", 'message: "hi"'), True),  # quoting is not data
        ("namespace: zoomcamp\nid: taxi\n" + FLOW.split("\n", 2)[2], True),  # key order
        (
            FLOW.replace("  - id: log\n    type", "  -   id: log\n      type").replace("    message", "      message"),
            True,
        ),
        (FLOW.replace("id: taxi", "id: other"), True),  # the provider drops id (the flow_id attribute holds it)
        (FLOW + "revision: 7\n", True),
        (FLOW + "deleted: false\n", True),
        (FLOW.replace("message: hi", "message: hello"), False),
        (FLOW + "disabled: true\n", False),
        (FLOW + "  - id: [unclosed\n", False),  # a side that does not parse is never "the same"
    ],
)
def test_what_the_provider_ignores(after: str, same: bool) -> None:
    assert provider_sees_same_flow(FLOW, after) is same


def test_only_a_text_change_counts_and_the_strict_form_keeps_the_id() -> None:
    assert not only_comments_or_layout_differ(FLOW, FLOW)  # no change at all is not a comment edit
    assert only_comments_or_layout_differ(FLOW, FLOW + "# end\n")
    assert only_comments_or_layout_differ(FLOW, FLOW.replace("id: taxi", "id: other"))
    assert not only_comments_or_layout_differ(FLOW, FLOW.replace("id: taxi", "id: other"), ignored=())
