"""Both editions of the course's module 2 from one file per flow (stacks/course_editions.py).

The course's own ids are written out here, as the course repository names its flow files
(cohorts/2025/02-workflow-orchestration/flows and 02-workflow-orchestration/flows), so a change of
the map that leaves the course fails a test instead of a learner's video step.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowcheck import pebble
from flowcheck.flow_catalog import load_flow_catalog
from stacks.course_editions import (
    EditionError,
    edition_flows,
    load_edition_map,
    rename_text,
    renamed_source,
    to_file_ids,
)
from stacks.settings import COURSE_EDITIONS, DEFAULT_COURSE_EDITION, Settings, SettingsError
from tests.support.synth import FLOWS_DIR, repository_catalog, resources, synth_stack

DBT_FLOWS = {"postgres_dbt", "gcp_dbt"}  # ours: no dbt flow in the 2026 edition, kept in both
COURSE_IDS = {
    "2025": {
        "03_getting_started_data_pipeline",
        "04_postgres_taxi",
        "05_postgres_taxi_scheduled",
        "08_gcp_taxi",
        "09_gcp_taxi_scheduled",
    },
    "2026": {
        "01_hello_world",
        "02_python",
        "03_getting_started_data_pipeline",
        "04_postgres_taxi",
        "05_postgres_taxi_scheduled",
        "08_gcp_taxi",
        "09_gcp_taxi_scheduled",
        "10_chat_without_rag",
        "11_chat_with_rag",
    },
}
SCHEDULED_CALLS = {"2025": {"05_postgres_taxi_scheduled": "04_postgres_taxi", "09_gcp_taxi_scheduled": "08_gcp_taxi"}}
SCHEDULED_CALLS["2026"] = {"05_postgres_taxi_scheduled": "04_postgres_taxi", "09_gcp_taxi_scheduled": "08_gcp_taxi"}
GEMINI_KEY = "AIzaTestOnlyKey0123456789abcdefghijklm"


def deployed(edition: str) -> dict[str, Any]:
    return {flow.flow_id: flow for flow in edition_flows(repository_catalog(), edition)}


@pytest.fixture(scope="module")
def edition_synths() -> dict[str, dict[str, Any]]:
    return {edition: synth_stack("local", {"ZOOMCAMP_COURSE_EDITION": edition}) for edition in COURSE_EDITIONS}


def test_the_map_lists_every_flow_file_of_the_repository() -> None:
    edition_map = load_edition_map()
    files = {flow.flow_id for flow in repository_catalog()}
    assert set(edition_map.flows) == files, "list each flows/ file in stacks/course_editions.yaml"
    assert not set(edition_map.replaced) & files
    assert set(edition_map.editions) == set(COURSE_EDITIONS)


def test_the_default_edition_is_the_current_one() -> None:
    assert DEFAULT_COURSE_EDITION == "2026" == max(COURSE_EDITIONS)
    assert Settings.from_env({}).course_edition == "2026"
    assert Settings.from_env({"ZOOMCAMP_COURSE_EDITION": "2025"}).course_edition == "2025"


def test_an_unknown_edition_is_one_line_with_the_choices() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ZOOMCAMP_COURSE_EDITION": "current", "KESTRA_PORT": "x"})
    lines = str(caught.value).splitlines()
    assert len(lines) == 2  # reported with every other problem at once
    assert "ZOOMCAMP_COURSE_EDITION='current' must be one of 2025, 2026" in lines[1]


@pytest.mark.parametrize("edition", COURSE_EDITIONS)
def test_each_edition_deploys_the_courses_ids_and_our_dbt_flows(
    edition: str, edition_synths: dict[str, dict[str, Any]]
) -> None:
    flows = resources(edition_synths[edition], "kestra_flow")
    assert {flow["flow_id"] for flow in flows.values()} == COURSE_IDS[edition] | DBT_FLOWS
    for address, flow in flows.items():
        # the Terraform address follows the deployed id: switching edition is remove + add in a plan
        assert address.startswith(f"flows_flow_{flow['flow_id']}_"), address
        assert yaml.safe_load(flow["content"])["id"] == flow["flow_id"]
        assert flow["namespace"] == "zoomcamp"


@pytest.mark.parametrize("edition", COURSE_EDITIONS)
def test_the_scheduled_flows_call_the_taxi_flow_of_their_edition(edition: str) -> None:
    flows = deployed(edition)
    for scheduled, taxi in SCHEDULED_CALLS[edition].items():
        (subflow,) = [t for t in flows[scheduled].document["tasks"] if t["type"].endswith(".Subflow")]
        assert (subflow["namespace"], subflow["flowId"]) == ("zoomcamp", taxi)
        assert taxi in flows


@pytest.mark.parametrize("edition", COURSE_EDITIONS)
def test_every_flow_reference_resolves_within_the_edition(edition: str) -> None:
    flows = deployed(edition)
    for flow in flows.values():
        for flow_id in re.findall(r"flowId:\s*(\S+)", flow.content):
            assert flow_id in flows, f"{flow.flow_id} names {flow_id}, not deployed in {edition}"


def test_the_2026_flows_never_name_a_2025_id() -> None:
    renamed = {old for old, new in load_edition_map().renames("2026").items()}
    for flow in deployed("2026").values():
        for old in renamed:
            assert not re.search(rf"(?<![\w-]){old}(?![\w-])", flow.content), f"{flow.flow_id} still says {old}"


def test_a_renamed_flow_differs_from_its_file_only_by_the_ids() -> None:
    renames = load_edition_map().renames("2026")
    for flow in deployed("2026").values():
        original = flow.path.read_text(encoding="utf-8").splitlines()
        shipped = flow.content.splitlines()
        assert len(original) == len(shipped)
        for before, after in zip(original, shipped, strict=True):
            assert after == rename_text(before, renames)
            if after != before:
                assert set(re.findall(r"\w+", after)) - set(re.findall(r"\w+", before)) <= set(renames.values())


def test_the_rename_is_checked_against_the_parsed_flow() -> None:
    """A rename the text and the structure would not agree on (here: an escaped id) stops synth."""
    text = 'id: uses_taxi\nnamespace: zoomcamp\ndescription: "runs 02_postgres\\x5ftaxi"\ntasks: []\n'
    with pytest.raises(EditionError, match="changes more than the ids"):
        renamed_source(text, yaml.safe_load(text), {"04_postgres_taxi": "04_postgres_taxi"}, "f.yaml")
    plain = text.replace("\\x5f", "_")
    _, document = renamed_source(plain, yaml.safe_load(plain), {"04_postgres_taxi": "04_postgres_taxi"}, "f")
    assert document["description"] == "runs 04_postgres_taxi"
    assert rename_text("05_postgres_taxi_scheduled calls 04_postgres_taxi.", {"04_postgres_taxi": "X"}) == (
        "05_postgres_taxi_scheduled calls X."
    )


def test_pull_flows_turns_the_edition_ids_back_into_the_file_ids() -> None:
    for flow in deployed("2026").values():
        expected = flow.path.read_text(encoding="utf-8")
        assert to_file_ids(flow.content, "2026", flow.flow_id) == expected


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FLOWS_DIR, tmp_path / "flows"))


def own_flow(folder: Path, flow_id: str, calls: str | None = None) -> None:
    task = (
        f"  - id: run\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: zoomcamp\n    flowId: {calls}\n"
        if calls
        else "  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    (folder / f"{flow_id}.yaml").write_text(f"id: {flow_id}\nnamespace: zoomcamp\ntasks:\n{task}", encoding="utf-8")


def test_a_flow_of_your_own_is_deployed_in_every_edition(flows_copy: Path) -> None:
    own_flow(flows_copy, "foreach_challenge", calls="04_postgres_taxi")
    for edition, taxi in (("2025", "04_postgres_taxi"), ("2026", "04_postgres_taxi")):
        flows = {f.flow_id: f for f in edition_flows(load_flow_catalog(flows_copy), edition)}
        assert flows["foreach_challenge"].document["tasks"][0]["flowId"] == taxi


def test_a_reference_to_a_flow_the_edition_does_not_deploy_stops_synth(flows_copy: Path) -> None:
    own_flow(flows_copy, "greets", calls="01_hello_world")
    assert "greets" in {f.flow_id for f in edition_flows(load_flow_catalog(flows_copy), "2026")}
    with pytest.raises(EditionError) as caught:
        edition_flows(load_flow_catalog(flows_copy), "2025")
    assert str(caught.value) == (
        f"{flows_copy / 'greets.yaml'}: tasks[0] names flow zoomcamp.01_hello_world, which edition 2025 does not "
        "deploy; list it for 2025 in stacks/course_editions.yaml, or change the reference"
    )


def test_two_flows_under_one_id_in_an_edition_stop_synth(flows_copy: Path) -> None:
    own_flow(flows_copy, "04_postgres_taxi")
    assert len(edition_flows(load_flow_catalog(flows_copy), "2025")) == 8  # no clash with the 2025 ids
    with pytest.raises(EditionError, match="edition 2026 deploys it as zoomcamp/04_postgres_taxi"):
        edition_flows(load_flow_catalog(flows_copy), "2026")


def test_a_listed_flow_without_its_file_stops_synth(flows_copy: Path) -> None:
    (flows_copy / "02_python.yaml").unlink()
    with pytest.raises(EditionError, match=r"lists flow 02_python, but flows/ has no 02_python\.yaml"):
        edition_flows(load_flow_catalog(flows_copy), "2025")


def test_map_mistakes_are_reported_together(tmp_path: Path) -> None:
    bad = tmp_path / "editions.yaml"
    bad.write_text(
        'editions: {"2025": a, "2026": b}\n'
        'flows:\n  x: {"2025": one, "2027": two}\n  y: {"2025": one}\n  z: {"2026": "not an id!"}\n',
        encoding="utf-8",
    )
    with pytest.raises(EditionError) as caught:
        load_edition_map(bad)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3, lines
    assert "flows.x names edition '2027'" in lines[0]
    assert "flows.z gives 2026 the id 'not an id!', not a Kestra id" in lines[1]
    assert "edition 2025 gives id one to both x and y" in lines[2]


# ---- the flows only the 2026 edition has ----------------------------------------------------


def documents() -> dict[str, dict[str, Any]]:
    return {flow.flow_id: flow.document for flow in repository_catalog()}


def task_ids(document: dict[str, Any]) -> list[str]:
    return [task["id"] for task in document["tasks"]]


def test_hello_world_has_what_the_video_shows() -> None:
    flow = documents()["01_hello_world"]
    assert [(i["id"], i["type"]) for i in flow["inputs"]] == [("name", "STRING")]
    assert task_ids(flow) == ["hello_message", "generate_output", "sleep", "log_output", "goodbye_message"]
    types = [t["type"].rsplit(".", 1)[1] for t in flow["tasks"]]
    assert types == ["Log", "Return", "Sleep", "Log", "Log"]
    assert "outputs.generate_output.value" in flow["tasks"][3]["message"]
    assert flow["concurrency"] == {"limit": 2, "behavior": "FAIL"}
    assert flow["pluginDefaults"] == [{"type": "io.kestra.plugin.core.log.Log", "values": {"level": "ERROR"}}]
    (trigger,) = flow["triggers"]
    assert (trigger["id"], trigger["disabled"], trigger["cron"]) == ("schedule", True, "0 10 * * *")


def test_python_runs_in_the_taxi_flows_image_with_pinned_dependencies() -> None:
    flows = documents()
    (task, log) = flows["02_python"]["tasks"]
    taxi_images = {t.get("containerImage") for t in flows["04_postgres_taxi"]["tasks"]} - {None}
    assert task["id"] == "collect_stats" and task["type"] == "io.kestra.plugin.scripts.python.Script"
    assert {task["containerImage"]} == taxi_images
    assert task["taskRunner"]["type"] == "io.kestra.plugin.scripts.runner.docker.Docker"
    assert all(re.fullmatch(r"[a-z0-9_.-]+==\d+(\.\d+)+", d) for d in task["dependencies"]), task["dependencies"]
    assert "Kestra.outputs(" in task["script"] and "Kestra.timer(" in task["script"]
    assert "outputs.collect_stats.vars.downloads" in log["message"]


@pytest.mark.parametrize(
    ("flow_id", "tasks"),
    [
        ("10_chat_without_rag", ["require_gemini_api_key", "chat_without_rag", "log_results"]),
        ("11_chat_with_rag", ["require_gemini_api_key", "ingest_release_notes", "chat_with_rag", "log_results"]),
    ],
)
def test_the_chat_flows_use_gemini_with_the_key_as_a_secret(flow_id: str, tasks: list[str]) -> None:
    flow = documents()[flow_id]
    assert task_ids(flow) == tasks
    providers = [
        value
        for task in flow["tasks"]
        for key, value in task.items()
        if isinstance(value, dict) and key in ("provider", "chatProvider", "embeddingProvider")
    ]
    assert providers and all(p["type"] == "io.kestra.plugin.ai.provider.GoogleGemini" for p in providers)
    assert all(p["apiKey"] == "{{ secret('GEMINI_API_KEY') }}" for p in providers)
    assert "kv('GEMINI_API_KEY')" not in json.dumps(flow), "a key is a secret, never a KV value (the course's way)"


@pytest.mark.parametrize("flag", [None, "true"])
def test_the_chat_flows_stop_first_in_one_line_without_a_key(flag: str | None) -> None:
    for flow_id in ("10_chat_without_rag", "11_chat_with_rag"):
        check = documents()[flow_id]["tasks"][0]
        assert check["type"] == "io.kestra.plugin.core.execution.Fail"
        envs = {} if flag is None else {"gemini_api_key_set": flag}
        stops = pebble.render(check["condition"], pebble.Context({"envs": envs}))
        assert stops == ("true" if flag is None else "false")
        assert "\n" not in check["errorMessage"]
        assert "TF_VAR_gemini_api_key" in check["errorMessage"] and "make deploy-local" in check["errorMessage"]


# ---- the key: absent by default, a sensitive variable when given ------------------------------


def kestra_env(synth: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in resources(synth, "docker_container")["kestra"]["env"])


def kestra_configuration(synth: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(kestra_env(synth)["KESTRA_CONFIGURATION"].replace("$${", "${"))


def test_without_a_key_there_is_no_secret_flag_variable_or_copilot(local_synth: dict[str, Any]) -> None:
    env = kestra_env(local_synth)
    assert not {"SECRET_GEMINI_API_KEY", "ENV_GEMINI_API_KEY_SET", "ZOOMCAMP_GEMINI_API_KEY"} & set(env)
    assert "ai" not in kestra_configuration(local_synth)["kestra"]
    assert "gemini_api_key" not in local_synth.get("variable", {})


def test_a_key_becomes_a_secret_and_the_copilot_never_a_literal() -> None:
    synth = synth_stack("local", {"GEMINI_API_KEY": GEMINI_KEY})
    assert GEMINI_KEY not in json.dumps(synth)
    variable = synth["variable"]["gemini_api_key"]
    assert (variable["sensitive"], variable["type"], variable["nullable"]) == (True, "string", False)
    env = kestra_env(synth)
    assert env["SECRET_GEMINI_API_KEY"] == "${base64encode(var.gemini_api_key)}"
    assert env["ZOOMCAMP_GEMINI_API_KEY"] == "${var.gemini_api_key}"
    assert env["ENV_GEMINI_API_KEY_SET"] == "true"
    assert kestra_configuration(synth)["kestra"]["ai"] == {
        "type": "gemini",
        "gemini": {"model-name": "gemini-2.5-flash", "api-key": "${ZOOMCAMP_GEMINI_API_KEY}"},
    }


def test_the_key_from_the_credentials_file_counts_too() -> None:
    settings = Settings.from_env({"TF_VAR_gemini_api_key": GEMINI_KEY})
    assert settings.kestra.gemini_api_key == GEMINI_KEY
    assert GEMINI_KEY not in repr(settings)
    assert Settings.from_env(
        {"GEMINI_API_KEY": GEMINI_KEY, "TF_VAR_gemini_api_key": "other-key-0123"}
    ).kestra.gemini_api_key == (GEMINI_KEY)


def test_a_malformed_key_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"GEMINI_API_KEY": "'AIza key with spaces'"})
    assert "GEMINI_API_KEY must be an API key from Google AI Studio" in str(caught.value)
    assert "spaces'" not in str(caught.value)


def test_the_key_reaches_terraform_only_through_the_tfvars_file(tmp_path: Path) -> None:
    """A plain `cdktf deploy local` finds the key as it finds the passwords (credentials.auto.tfvars.json)."""
    from stacks.local.credentials import write_stack_tfvars

    synth = synth_stack("local", {"GEMINI_API_KEY": GEMINI_KEY})
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"variable": synth["variable"]}), encoding="utf-8")
    credentials = tmp_path / "secrets" / "local.env"
    written = json.loads(write_stack_tfvars(stack_dir, {"GEMINI_API_KEY": GEMINI_KEY}, credentials).read_text())
    assert written["gemini_api_key"] == GEMINI_KEY
    with credentials.open("a", encoding="utf-8") as handle:  # kept in the file instead of exported
        handle.write("TF_VAR_gemini_api_key='AIzaFromTheFile0123456789'\n")
    written = json.loads(write_stack_tfvars(stack_dir, {}, credentials).read_text())
    assert written["gemini_api_key"] == "AIzaFromTheFile0123456789"


def test_make_pull_flows_writes_a_ui_edit_of_a_renamed_flow_back_to_its_file(flows_copy: Path) -> None:
    """Kestra shows 04_postgres_taxi; the learner's edit lands in flows/04_postgres_taxi.yaml, ids of the file."""
    import io

    from ops.deploy.kestra_health import KestraApi
    from ops.pull_flows import pull_flows
    from tests.support.fakes import FakeKestraState, fake_kestra_api

    flows = {f.flow_id: f.editable_content for f in edition_flows(load_flow_catalog(flows_copy), "2026")}
    original = (flows_copy / "04_postgres_taxi.yaml").read_text(encoding="utf-8")
    flows["04_postgres_taxi"] = flows["04_postgres_taxi"].replace("\ntasks:\n", "\n# timezone exercise\ntasks:\n", 1)
    flows["04_postgres_taxi"] = (
        "id: 04_postgres_taxi\nnamespace: zoomcamp\ntasks:\n"
        "  - id: x\n    type: io.kestra.plugin.core.log.Log\n    message: made in the UI\n"
    )
    out = io.StringIO()
    with fake_kestra_api(FakeKestraState("admin@example.com", "Secret123pass", flows=flows)) as url:
        api = KestraApi(url, "admin@example.com", "Secret123pass", timeout=5)
        assert pull_flows(api, flows_copy, "zoomcamp", out, edition="2026") == 1
    written = (flows_copy / "04_postgres_taxi.yaml").read_text(encoding="utf-8")
    assert written == original.replace("\ntasks:\n", "\n# timezone exercise\ntasks:\n", 1)
    assert "✓ flows/04_postgres_taxi.yaml: updated from Kestra" in out.getvalue()
    assert "is the file of another flow in edition 2026" in out.getvalue()  # the UI-made 04_postgres_taxi
    assert out.getvalue().count(": unchanged") == len(flows) - 2
