"""Every stack variant against its inventory: tests/inventories/*.yaml, the mission table as data.

One file per variant (its environment, its resource counts, the attributes that matter, by
construct path); this one test reads them all (tests/support/inventory.py says how). A new
variant is a new file: write `stack:` and `env:`, run `python -m tests.support.inventory --full
<file>`, keep what matters. After an intended change: `make inventory-update`, review the diff.

The tests below the first prove the harness itself: that it fails, and says where and how.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.inventory import (
    INVENTORIES,
    Inventory,
    InventoryError,
    differences,
    failure_report,
    inventory_files,
    stack_view,
    synthesized_view,
)
from tests.support.synth import synth_with_paths

FILES = inventory_files()


@functools.cache
def view_of(path: Path) -> dict[str, Any]:
    return synthesized_view(Inventory.load(path))


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_the_stack_matches_its_inventory(path: Path) -> None:
    inventory = Inventory.load(path)
    view = view_of(path)
    problems = inventory.problems(view)
    if problems:
        pytest.fail(failure_report(inventory, problems), pytrace=False)
    data, _ = inventory.regenerated(view)
    assert inventory.text(data) == path.read_text(encoding="utf-8"), (
        "the file holds what it should, in another form: run `make inventory-update`"
    )


def test_every_variant_the_suite_relies_on_has_a_file() -> None:
    assert {path.stem for path in FILES} >= {
        "local-default",
        "local-pgadmin",
        "local-sandbox",
        "local-token-broker",
        "gcp-default",
        "gcp-sandbox",
        "gcp-allowlist",
        "gcp-github",
        "gcp-local-kestra",
    }
    complete = [path.stem for path in FILES if Inventory.load(path).complete]
    assert complete == ["local-default"], "the default local stack is pinned in full (nothing changes unseen)"


# ---- the harness -------------------------------------------------------------------------------

SYNTH = {
    "resource": {
        "docker_container": {
            "kestra": {
                "name": "zoomcamp-kestra",
                "ports": [{"internal": 8080, "external": 8080, "ip": "127.0.0.1"}],
                "env": ["A=1", "CONFIG=a: 1\nb: 2\nc: 3\n"],
                "wait": True,
            }
        },
        "kestra_flow": {"flows_flow_x_1234ABCD": {"flow_id": "x", "content": "id: x\n"}},
    },
    "output": {"kestra_url": {"value": "http://localhost:8080"}},
    "provider": {"docker": [{}]},
}
PATHS = {
    "docker_container.kestra": "local/kestra",
    "kestra_flow.flows_flow_x_1234ABCD": "local/flows/flow_x",
    "docker_volume.v": "local/v",
}


def inventory(tmp_path: Path, text: str) -> Inventory:
    path = tmp_path / "variant.yaml"
    path.write_text(text, encoding="utf-8")
    return Inventory.load(path)


def problems(tmp_path: Path, text: str, synth: dict[str, Any] = SYNTH) -> list[str]:
    return inventory(tmp_path, text).problems(stack_view(synth, PATHS))


HOLDS = """stack: local
counts: {docker_container: 1, kestra_flow: 1}
values:
  local/kestra: {name: zoomcamp-kestra, ports: [{external: 8080}]}
"""


def test_a_subset_that_holds_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, HOLDS) == []


def test_a_changed_value_is_named_by_construct_path_and_key(tmp_path: Path) -> None:
    broken = copy.deepcopy(SYNTH)
    broken["resource"]["docker_container"]["kestra"]["ports"][0]["external"] = 18080
    assert problems(tmp_path, HOLDS, broken) == ["local/kestra.ports[0].external: expected 8080, got 18080"]


def test_counts_are_exact_and_a_type_not_listed_means_none(tmp_path: Path) -> None:
    broken = copy.deepcopy(SYNTH)
    broken["resource"]["docker_volume"] = {"v": {"name": "v"}}
    del broken["resource"]["kestra_flow"]
    assert problems(tmp_path, HOLDS, broken) == [
        "counts.docker_volume: expected none, got 1",
        "counts.kestra_flow: expected 1, got none",
    ]


def test_a_path_not_in_the_stack_is_reported(tmp_path: Path) -> None:
    text = HOLDS + "  local/pgadmin: {name: zoomcamp-pgadmin}\n"
    assert problems(tmp_path, text) == ["local/pgadmin: not in the stack"]


def test_null_means_not_set(tmp_path: Path) -> None:
    assert problems(tmp_path, HOLDS + "  local/flows/flow_x: {flow_id: x, depends_on: null}\n") == []
    assert problems(tmp_path, HOLDS + "outputs: {kestra_url: null}\n") == [
        'outputs.kestra_url: expected not set, got {"value": "http://localhost:8080"}'
    ]


def test_true_is_not_one() -> None:
    assert differences({"wait": 1}, {"wait": True}, "local/kestra") == ["local/kestra.wait: expected 1, got true"]
    assert differences({"port": 8080}, {"port": "8080"}, "local/kestra") == [
        'local/kestra.port: expected 8080, got "8080"'
    ]


def test_a_list_of_another_length_shows_the_items_that_differ(tmp_path: Path) -> None:
    text = HOLDS + '  local/flows/flow_x: {flow_id: x}\nproviders: {docker: [{}, {alias: "b"}]}\n'
    assert problems(tmp_path, text) == ["providers.docker: expected 2 item(s), got 1", '    - {"alias": "b"}']
    assert differences(["A=1", "B=2"], ["A=1", "C=3", "B=2"], "env") == [
        "env: expected 2 item(s), got 3",
        '    + "C=3"',
    ]


def test_a_changed_text_shows_only_the_lines_that_changed() -> None:
    expected = "kestra:\n  url: http://localhost:8080/\n  tutorial-flows:\n    enabled: false\n  queue: postgres\n"
    actual = expected.replace("enabled: false", "enabled: true")
    assert differences(expected, actual, "local/kestra.env[0]") == [
        "local/kestra.env[0]: the text differs",
        "    --- expected",
        "    +++ got",
        "    @@ -3,3 +3,3 @@",
        "       tutorial-flows:",
        "    -    enabled: false",
        "    +    enabled: true",
        "       queue: postgres",
    ]


COMPLETE = """stack: local
complete: true
counts: {docker_container: 1, kestra_flow: 1}
values:
  local/kestra:
    name: zoomcamp-kestra
    ports: [{internal: 8080, external: 8080, ip: 127.0.0.1}]
    env: [A=1, "CONFIG=a: 1\\nb: 2\\nc: 3\\n"]
outputs: {kestra_url: {value: "http://localhost:8080"}}
"""


def test_a_complete_inventory_reports_what_it_does_not_list(tmp_path: Path) -> None:
    assert problems(tmp_path, COMPLETE) == [
        "local/kestra.wait: not in the inventory (true)",
        "local/flows/flow_x: not in the inventory",
        "providers.docker: not in the inventory ([{}])",
    ]
    # Listing them is enough: the flow's text is never listed (its file is compared elsewhere).
    listed = COMPLETE.replace("    env:", "    wait: true\n    env:").replace(
        "outputs:", "  local/flows/flow_x: {flow_id: x}\nproviders: {docker: [{}]}\noutputs:"
    )
    assert problems(tmp_path, listed) == []


def test_the_report_names_the_file_and_the_command(tmp_path: Path) -> None:
    report = failure_report(inventory(tmp_path, HOLDS), ["local/kestra.name: expected 'a', got 'b'"])
    assert report.splitlines()[0].endswith(
        "1 difference(s) from the local stack synthesized with its env; if the "
        "change is intended, run `make inventory-update` and review the diff"
    )
    assert report.splitlines()[1] == "local/kestra.name: expected 'a', got 'b'"


def test_rewriting_keeps_the_header_and_the_keys_the_file_lists(tmp_path: Path) -> None:
    text = "# what this variant is\n" + HOLDS.replace("8080}", "9999}") + "  local/gone: {name: g}\n"
    subject = inventory(tmp_path, text)
    data, dropped = subject.regenerated(stack_view(SYNTH, PATHS))
    assert dropped == ["local/gone: not in the stack any more, dropped"]
    assert subject.text(data) == (
        "# what this variant is\n"
        "stack: local\n"
        "env: {}\n"
        "counts:\n"
        "  docker_container: 1\n"
        "  kestra_flow: 1\n"
        "values:\n"
        "  local/kestra:\n"
        "    name: zoomcamp-kestra\n"
        "    ports:\n"
        "    - {external: 8080}\n"
    )
    rewritten = inventory(tmp_path, subject.text(data))
    assert rewritten.problems(stack_view(SYNTH, PATHS)) == []


def test_a_malformed_file_is_one_line(tmp_path: Path) -> None:
    for text, message in [
        ("stack: aws\n", "`stack:` must be one of local, gcp"),
        ("stack: local\nvalue: {}\n", "unknown key(s) value"),
        ("stack: local\nenv: {KESTRA_PORT: 18080}\n", "`env:` maps variable names to strings"),
        ("stack: local\nenv: [\n", "not YAML"),
        ("stack: local\nenv: {}\nenv: {}\n", "line 3: key 'env' appears twice in the same mapping; keep one"),
    ]:
        with pytest.raises(InventoryError, match=re.escape(message)) as caught:
            inventory(tmp_path, text)
        assert "\n" not in str(caught.value)


def test_the_harness_catches_a_broken_copy_of_the_gcp_stack() -> None:
    """The checks test_gcp_stack.py's own harness proved, on the real synthesized stack."""
    path = INVENTORIES / "gcp-default.yaml"
    synth, paths = synth_with_paths("gcp", Inventory.load(path).env)
    broken = copy.deepcopy(synth)
    data_bucket = next(name for name, body in broken["resource"]["google_storage_bucket"].items() if "data" in name)
    broken["resource"]["google_storage_bucket"][data_bucket]["force_destroy"] = True
    broken["resource"]["google_service_account_key"] = {"key": {"service_account_id": "x"}}
    paths = {**paths, "google_service_account_key.key": "gcp/key"}
    found = Inventory.load(path).problems(stack_view(broken, paths))
    assert found == [
        "counts.google_service_account_key: expected none, got 1",
        "gcp/lake/data/bucket.force_destroy: expected false, got true",
    ]
