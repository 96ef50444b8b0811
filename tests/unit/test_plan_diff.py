"""The offline plan diff: what it reports for each kind of change, and how it fails.

Most cases are small synthesized-JSON dicts, so each reads as "this before, this after,
that report". The git cases build tiny repositories in tmp_path whose main.py writes a
cdk.tf.json without cdktf, so the worktree mechanics are proven in milliseconds; one test
runs the real stacks end to end on a clone of this repository.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import cdktf
import pytest

from common.errors import run_cli
from plan_diff.__main__ import main as plan_diff_main
from plan_diff.compare import StackDiff, diff_stack, diff_stacks
from plan_diff.masking import MASK, mask_text
from plan_diff.render import Revisions, render_markdown, render_text
from plan_diff.replacement import RULES
from plan_diff.synthesize import PLACEHOLDER_PROJECT, PlanDiffError, resolve_revision, synthesize_tree
from stacks.app import build_app
from stacks.settings import PROJECT_ROOT, Settings
from tests.support.synth import BASE_ENV

REVISIONS = Revisions(base="origin/main (abc1234)", head="working tree")
FLOW_V1 = textwrap.dedent(
    """\
    id: taxi
    namespace: zoomcamp
    description: Load one month of taxi data
    inputs:
      - id: taxi
        type: SELECT
        values: [yellow, green]
    tasks:
      - id: extract
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - wget -qO- https://example.invalid/{{ inputs.taxi }}.csv.gz | gunzip > data.csv
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: loaded
    """
)
FLOW_V2 = FLOW_V1.replace("message: loaded", "message: loaded {{ inputs.taxi }}")


def stack(**resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A synthesized stack from `type={name: attributes}` keyword arguments."""
    return {"resource": resources}


def flow(content: str, **extra: Any) -> dict[str, Any]:
    return {"namespace": "zoomcamp", "flow_id": "taxi", "content": content, **extra}


def bucket(age: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "zoomcamp-demo-data-lake",
        "location": "EUROPE-WEST2",
        "force_destroy": False,
        "uniform_bucket_level_access": True,
        "public_access_prevention": "enforced",
        "lifecycle_rule": [{"action": {"type": "Delete"}, "condition": {"age": age, "matches_prefix": ["raw/"]}}],
        **extra,
    }


def resource_headers(text: str) -> list[str]:
    """One line per resource: `+ type.name`, `- …`, `~ …` or `-/+ …` (attribute lines are indented)."""
    return [line for line in text.splitlines() if re.match(r"^(-/\+|[+~-]) \S", line)]


def actions(diff: StackDiff) -> dict[str, str]:
    return {change.address: change.action for change in diff.changes}


def test_added_removed_replaced_and_updated_resources() -> None:
    before = stack(
        docker_volume={"old": {"name": "zoomcamp-old"}},
        docker_network={"net": {"name": "zoomcamp-net"}},
        docker_container={"kestra": {"name": "zoomcamp-kestra", "restart": "no", "image": "a"}},
    )
    after = stack(
        docker_volume={"new": {"name": "zoomcamp-new"}},
        docker_network={"net": {"name": "zoomcamp-network"}},
        docker_container={"kestra": {"name": "zoomcamp-kestra", "restart": "unless-stopped", "image": "a"}},
    )
    diff = diff_stack("local", before, after)
    assert actions(diff) == {
        "docker_volume.new": "create",
        "docker_network.net": "replace",  # a network's name forces a new one
        "docker_container.kestra": "update",  # restart policy changes in place
        "docker_volume.old": "delete",
    }
    text = render_text([diff], REVISIONS)
    assert "== Stack local: 1 to create, 1 to replace, 1 to update, 1 to destroy ==" in text
    assert (
        '-/+ docker_network.net: replace\n-    name = "zoomcamp-net"\n+    name = "zoomcamp-network"  # forces' in text
    )
    assert '+    name = "zoomcamp-new"' in text


def test_unchanged_stack_reports_no_changes() -> None:
    same = stack(docker_network={"net": {"name": "zoomcamp-net", "//": {"metadata": {"path": "local/net"}}}})
    diff = diff_stack("local", same, {"resource": {"docker_network": {"net": {"name": "zoomcamp-net"}}}})
    assert diff.changes == ()
    assert "== Stack local: no changes ==" in render_text([diff], REVISIONS)


def test_depends_on_and_metadata_are_not_changes() -> None:
    before = stack(kestra_flow={"f": {**flow(FLOW_V1), "depends_on": ["docker_container.a"]}})
    after = stack(kestra_flow={"f": {**flow(FLOW_V1), "depends_on": ["docker_container.b"], "//": {"x": 1}}})
    assert diff_stack("local", before, after).changes == ()


def test_renamed_construct_is_shown_as_remove_and_add_with_a_hint() -> None:
    body = {"name": "zoomcamp-postgres-data", "//": {"metadata": {"path": "local/data_pg/volume"}}}
    renamed = {**body, "//": {"metadata": {"path": "local/data_postgres/volume"}}}
    diff = diff_stack(
        "local", stack(docker_volume={"data_pg_volume_66D558D1": body}), stack(docker_volume={"pg_vol_1": renamed})
    )
    assert actions(diff) == {"docker_volume.pg_vol_1": "create", "docker_volume.data_pg_volume_66D558D1": "delete"}
    text = render_text([diff], REVISIONS)
    assert "+ docker_volume.pg_vol_1 (local/data_postgres/volume): create" in text
    assert "- docker_volume.data_pg_volume_66D558D1 (local/data_pg/volume): destroy" in text
    assert "looks renamed to docker_volume.pg_vol_1" in text and "moveTo" in text


def test_changed_flow_shows_its_changed_yaml_lines_not_one_string() -> None:
    diff = diff_stack("local", stack(kestra_flow={"f": flow(FLOW_V1)}), stack(kestra_flow={"f": flow(FLOW_V2)}))
    assert actions(diff) == {"kestra_flow.f": "update"}  # content is updated in place
    text = render_text([diff], REVISIONS)
    assert "\n-          message: loaded\n+          message: loaded {{ inputs.taxi }}\n" in text
    assert "description: Load one month" not in text  # far from the change: not repeated
    assert "\\n" not in text  # never the whole flow as one escaped string


def test_flow_identity_change_is_a_replacement() -> None:
    renamed = flow(FLOW_V1, namespace="zoomcamp.dev")
    diff = diff_stack("local", stack(kestra_flow={"f": flow(FLOW_V1)}), stack(kestra_flow={"f": renamed}))
    assert actions(diff) == {"kestra_flow.f": "replace"}


def test_changed_namespace_file_content_is_a_replacement() -> None:
    """The kestra provider has no update for namespace files: every attribute is ForceNew."""
    model = {"namespace": "zoomcamp", "filename": "/models/a.sql", "content": "select 1\n"}
    changed = {**model, "content": "select 2\n"}
    before, after = stack(kestra_namespace_file={"m": model}), stack(kestra_namespace_file={"m": changed})
    assert actions(diff_stack("local", before, after)) == {"kestra_namespace_file.m": "replace"}


def test_type_missing_from_the_replacement_table_says_so() -> None:
    diff = diff_stack("gcp", stack(google_foo={"x": {"a": 1}}), stack(google_foo={"x": {"a": 2}}))
    assert "update in place (or replace: this type is not in plan_diff/replacement.py)" in render_text(
        [diff], REVISIONS
    )


def test_replaced_resource_names_what_reads_it() -> None:
    image = {"name": "postgres:17.6"}
    container = {"name": "pg", "image": "${docker_image.pg.image_id}"}
    before = stack(docker_image={"pg": image}, docker_container={"pg": container})
    after = stack(docker_image={"pg": {"name": "postgres:17.7"}}, docker_container={"pg": container})
    text = render_text([diff_stack("local", before, after)], REVISIONS)
    assert "# read by docker_container.pg: they may be replaced too" in text


def test_secrets_are_masked_and_references_stay_visible() -> None:
    before = stack(
        docker_container={
            "pg": {
                "name": "pg",
                "env": ["POSTGRES_USER=zoomcamp", "POSTGRES_PASSWORD=hunter2-Old", "SECRET_X=c2VjcmV0"],
            }
        },
        google_secret_manager_secret_version={"v": {"secret": "s", "secret_data": "tok-OLD"}},
        kestra_kv={"k": {"namespace": "zoomcamp", "key": "K", "value": "v", "api_token": "tok-OLD"}},
    )
    after = stack(
        docker_container={
            "pg": {
                "name": "pg",
                "env": ["POSTGRES_USER=zoomcamp", "POSTGRES_PASSWORD=${var.zoomcamp_db_password}", "SECRET_X=bmV3"],
            }
        },
        google_secret_manager_secret_version={"v": {"secret": "s", "secret_data": "tok-NEW"}},
        kestra_kv={"k": {"namespace": "zoomcamp", "key": "K", "value": "v", "api_token": "tok-NEW"}},
        docker_image={"i": {"name": "x", "registry_auth": {"password": "plain-NEW"}}},
    )
    diff = diff_stack("local", before, after)
    for output in (render_text([diff], REVISIONS), render_markdown([diff], REVISIONS)):
        for secret in ("hunter2-Old", "c2VjcmV0", "bmV3", "tok-OLD", "tok-NEW", "plain-NEW"):
            assert secret not in output
        assert '"POSTGRES_PASSWORD=${var.zoomcamp_db_password}"' in output  # a reference: where it comes from
        assert f'"POSTGRES_PASSWORD={MASK}"' in output
        assert "api_token = (sensitive value changed)" in output
        assert f"registry_auth.password = {MASK!r}".replace("'", '"') in output


def test_secret_lines_inside_text_are_masked() -> None:
    text = "url: jdbc:postgresql://db/x\npassword: Plain-Secret1\ntoken: '{{ secret(\"T\") }}'\nuser: me"
    assert mask_text(text).split("\n") == [
        "url: jdbc:postgresql://db/x",
        f"password: {MASK}",
        "token: '{{ secret(\"T\") }}'",
        "user: me",
    ]


def test_stack_missing_on_one_side_is_all_added_or_all_removed() -> None:
    gcp = stack(google_storage_bucket={"lake": bucket(30)}, google_bigquery_dataset={"ds": {"dataset_id": "z"}})
    added, removed = diff_stacks({}, {"gcp": gcp}, ("gcp",))[0], diff_stacks({"gcp": gcp}, {}, ("gcp",))[0]
    assert added.presence == "added" and set(actions(added).values()) == {"create"} and len(added.changes) == 2
    assert removed.presence == "removed" and set(actions(removed).values()) == {"delete"}
    assert "== Stack gcp: new stack (not at the base revision): 2 to create" in render_text([added], REVISIONS)
    assert "| `gcp` | 0 | 0 | 0 | 2 | stack removed |" in render_markdown([removed], REVISIONS)


def _local_stack_with_flows(flows_dir: Path) -> dict[str, Any]:
    settings = dataclasses.replace(Settings.from_env({**BASE_ENV, "ZOOMCAMP_STACKS": "local"}), flows_dir=flows_dir)
    app = build_app(settings, app=cdktf.Testing.app())
    return json.loads(cdktf.Testing.synth(app.node.find_child("local")))  # type: ignore[arg-type]


def test_one_flow_and_one_bucket_setting_print_exactly_those_changes(
    local_synth: dict[str, Any], tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    changed_flow = sorted(flows.glob("*.yaml"))[0]
    changed_flow.write_text(
        changed_flow.read_text(encoding="utf-8") + "# reviewed in a PR\ndisabled: false\n", encoding="utf-8"
    )
    before = {"local": local_synth, "gcp": stack(google_storage_bucket={"lake": bucket(30)})}
    after = {"local": _local_stack_with_flows(flows), "gcp": stack(google_storage_bucket={"lake": bucket(60)})}

    text = render_text(diff_stacks(before, after, ("local", "gcp")), REVISIONS)

    headers = resource_headers(text)
    assert len(headers) == 2, text
    # its address follows the flow's id, its file's name
    assert headers[0].startswith(f"~ kestra_flow.flows_flow_{changed_flow.stem}_")
    assert headers[1] == "~ google_storage_bucket.lake: update in place"
    assert "\n+      # reviewed in a PR\n+      disabled: false\n" in text
    assert "\n-    lifecycle_rule[0].condition.age = 30\n+    lifecycle_rule[0].condition.age = 60\n" in text
    assert "== Stack local: 0 to create, 0 to replace, 1 to update, 0 to destroy ==" in text


def test_markdown_is_a_table_and_diff_blocks_cut_to_fit() -> None:
    diff = diff_stack("local", stack(kestra_flow={"f": flow(FLOW_V1)}), stack(kestra_flow={"f": flow(FLOW_V2)}))
    markdown = render_markdown([diff, diff_stack("gcp", {}, {})], REVISIONS)
    assert "| `local` | 0 | 0 | 1 | 0 |  |" in markdown
    assert "| `gcp` | 0 | 0 | 0 | 0 | no changes |" in markdown
    assert "```diff\n~ kestra_flow.f: update in place\n" in markdown
    big = stack(docker_volume={f"v{i:03}": {"name": f"volume-{i:03}"} for i in range(300)})
    cut = render_markdown([diff_stack("local", {}, big)], REVISIONS, max_chars=3000)
    assert len(cut) <= 3000
    assert "more lines: run `make diff BASE=origin/main (abc1234)` for the full diff" in cut
    assert cut.rstrip().endswith("</sub>")


def test_markdown_fence_outgrows_backticks_in_flows() -> None:
    with_fence = FLOW_V2.replace("message: loaded", "message: ```loaded```")
    diff = diff_stack("local", stack(kestra_flow={"f": flow(FLOW_V1)}), stack(kestra_flow={"f": flow(with_fence)}))
    assert "\n````diff\n" in render_markdown([diff], REVISIONS)


# --- git revisions: tiny repositories whose main.py writes Terraform JSON without cdktf ---

FAKE_MAIN = textwrap.dedent(
    """\
    import json, os, pathlib, sys
    names = json.loads(pathlib.Path("names.json").read_text())
    if names == "fail":
        print("error: flows/x.yaml: missing required field 'tasks'", file=sys.stderr)
        sys.exit(1)
    for stack in os.environ["ZOOMCAMP_STACKS"].split(","):
        if stack not in names:
            continue
        body = {"resource": {"docker_volume": {n: {"name": n, "project": os.environ["GCP_PROJECT_ID"]}
                                               for n in names[stack]}}}
        out = pathlib.Path(os.environ["CDKTF_OUTDIR"], "stacks", stack)
        out.mkdir(parents=True)
        (out / "cdk.tf.json").write_text(json.dumps(body))
    """
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def tiny_repo(tmp_path: Path, names: object) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "main.py").write_text(FAKE_MAIN, encoding="utf-8")
    (repo / "names.json").write_text(json.dumps(names), encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "base")
    return repo


def test_bad_base_revision_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tiny_repo(tmp_path, {"local": ["a"]})
    with pytest.raises(PlanDiffError, match=r"base revision 'origin/nope' is not a commit in .*git fetch origin"):
        resolve_revision(repo, "origin/nope")
    assert run_cli(lambda: plan_diff_main(["--repo", str(repo), "--base", "no-such-branch"])) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith("error: base revision 'no-such-branch' is not a commit in")
    assert error.rstrip().endswith("pass BASE=<branch, tag or commit>")
    assert "Traceback" not in error


def test_base_is_synthesized_from_its_own_code_in_a_temporary_worktree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tiny_repo(tmp_path, {"local": ["kept", "dropped"]})
    (repo / "names.json").write_text('{"local": ["kept", "added"], "gcp": ["lake"]}', encoding="utf-8")

    assert plan_diff_main(["--repo", str(repo), "--base", "main", "--stacks", "local,gcp"]) == 0

    out = capsys.readouterr().out
    assert "+ docker_volume.added: create" in out
    assert "- docker_volume.dropped: destroy" in out
    assert "docker_volume.kept" not in out
    assert "== Stack gcp: new stack (not at the base revision): 1 to create" in out
    assert f'project = "{PLACEHOLDER_PROJECT}"' in out  # no credentials needed
    assert git(repo, "worktree", "list").count("\n") == 1  # the temporary worktree is gone
    assert git(repo, "status", "--porcelain") == " M names.json\n"  # the working tree is untouched


def test_synthesis_failure_names_the_side_and_the_reason(tmp_path: Path) -> None:
    repo = tiny_repo(tmp_path, "fail")
    with pytest.raises(PlanDiffError, match=r"synthesis of the base failed: error: flows/x.yaml: missing"):
        synthesize_tree(repo, "the base", ("local",), python=sys.executable)


def test_revision_without_an_app_has_no_stacks(tmp_path: Path) -> None:
    assert synthesize_tree(tmp_path, "an empty tree", ("local", "gcp")) == {}


@pytest.mark.slow
def test_make_diff_on_a_clone_of_this_repository_shows_one_changed_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--local", str(PROJECT_ROOT), str(clone)], check=True)
    changed, commented = sorted((clone / "flows").glob("*.yaml"))[:2]
    changed.write_text(changed.read_text(encoding="utf-8") + "# reviewed in a PR\ndisabled: false\n", encoding="utf-8")
    commented.write_text(commented.read_text(encoding="utf-8") + "# only a comment\n", encoding="utf-8")

    assert plan_diff_main(["--repo", str(clone), "--base", "HEAD", "--stacks", "local"]) == 0

    out = capsys.readouterr().out
    headers = resource_headers(out)
    assert len(headers) == 1 and headers[0].startswith(f"~ kestra_flow.flows_flow_{changed.stem}"), out
    assert "\n+      # reviewed in a PR\n+      disabled: false\n" in out
    # the comment-only edit is no change to Terraform, and the diff says so instead of hiding it
    assert f"# not deployed: {commented.stem}: only comments or layout changed" in out


def test_a_comment_only_flow_edit_is_a_note_not_a_change() -> None:
    commented = FLOW_V1.replace("tasks:\n", "# the two steps of the video\ntasks:\n") + "# end\n"
    diff = diff_stack("local", stack(kestra_flow={"f": flow(FLOW_V1)}), stack(kestra_flow={"f": flow(commented)}))
    assert diff.changes == () and len(diff.notes) == 1
    text = render_text([diff], REVISIONS)
    assert "== Stack local: no changes ==" in text
    assert (
        "# not deployed: taxi: only comments or layout changed, which the Kestra provider ignores (it compares "
        "flows as YAML data), so Terraform plans no change and Kestra keeps the old text; change a value with it "
        "to deploy it (kestra_flow.f)"
    ) in text
    assert "# not deployed: taxi" in render_markdown([diff], REVISIONS)
    # a comment together with a value is an ordinary update, comments and all
    both = commented.replace("message: loaded", "message: done")
    diff = diff_stack("local", stack(kestra_flow={"f": flow(FLOW_V1)}), stack(kestra_flow={"f": flow(both)}))
    assert actions(diff) == {"kestra_flow.f": "update"} and diff.notes == ()


def test_every_resource_type_of_the_stacks_has_a_replacement_rule(
    local_synth: dict[str, Any], gcp_synth: dict[str, Any]
) -> None:
    used = set(local_synth["resource"]) | set(gcp_synth["resource"])
    missing = sorted(used - set(RULES))
    assert not missing, f"add the ForceNew attributes of {missing} to plan_diff/replacement.py (provider docs)"
