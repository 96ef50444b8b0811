"""The synthesized local stack, pinned as a reviewed snapshot.

Any change to what `cdktf deploy local` would create shows up here as a diff. When the
change is intended, refresh with `make snapshot-update` and review the snapshot's diff in
the pull request. Flow texts are replaced by a marker: they are compared with their files
by test_local_stack.py, so editing a flow does not churn the snapshot.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).resolve().parent.parent / "snapshots" / "local.cdk.tf.json"


def normalized(synth: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(synth)
    for flow in result.get("resource", {}).get("kestra_flow", {}).values():
        flow["content"] = f"<text of the flow deployed as {flow['flow_id']}>"
    return result


def test_local_stack_matches_snapshot(local_synth: dict[str, Any]) -> None:
    actual = json.dumps(normalized(local_synth), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(actual, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run `make snapshot-update` and commit tests/snapshots/"
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "snapshot", "synth"))[:80]
        )
        raise AssertionError(
            f"local stack differs from {SNAPSHOT.name}; if intended run `make snapshot-update`\n{diff}"
        )
