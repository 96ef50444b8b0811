"""What the VM's Kestra and docs/google-cloud.md must agree with, per the upstream documentation and source.

Nothing here can start Kestra, Docker or Google Cloud, so these tests pin the rendered text to
the names the real components read, checked against their public sources (listed per table).
Each check is a function returning its problems; each is also fed a broken input to prove it
can fail.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from flowcheck import kestra_plugins
from ops.doctor.checks_gcp import REQUIRED_APIS
from stacks.gce import cloud_init, compose
from stacks.settings import PROJECT_ROOT
from tests.policy.gcp_rules import user_data_of, written_files

# kestra-io/storage-gcs GcsStorage fields (bucket, path, serviceAccount, projectId), spelled as
# Kestra's "Runtime and Storage" configuration page spells them. The plugin's mapper rejects any
# other key with UnrecognizedPropertyException when Kestra starts.
GCS_STORAGE_KEYS = frozenset({"bucket", "path", "service-account", "project-id"})
# Kestra 1.x BasicAuthConfiguration (username, password, realm, openUrls). `enabled` is ignored
# since basic auth became mandatory (docs 1.3, "Troubleshoot Basic Authentication").
BASIC_AUTH_KEYS = frozenset({"username", "password", "realm", "open-urls"})
# Properties of the task and trigger types the system flows use: plugin-git's SyncFlows and
# SyncNamespaceFiles as flowcheck/kestra_plugins.py lists them (traced there to plugin-git v1.7.1's
# source), and core kv.Set, Schedule and Webhook (the core ones as the pinned Kestra itself reports them,
# flowcheck/kestra_core_properties.json).
COMMON = frozenset({"id", "type", "description", "disabled", "timeout", "retry", "allowFailure", "logLevel"})
# A trigger has no retry, timeout or allowFailure (AbstractTrigger; Kestra's own list agrees).
TRIGGER_COMMON = frozenset({"id", "type", "description", "disabled", "logLevel"})
GIT_TYPES = ("io.kestra.plugin.git.SyncFlows", "io.kestra.plugin.git.SyncNamespaceFiles")
PROPERTIES: dict[str, frozenset[str]] = {
    **{kind: COMMON | (kestra_plugins.PLUGINS[kind].properties or frozenset()) for kind in GIT_TYPES},
    "io.kestra.plugin.core.kv.Set": COMMON | {"namespace", "key", "value", "kvType", "overwrite", "ttl"},
    "io.kestra.plugin.core.trigger.Schedule": TRIGGER_COMMON | {"cron", "timezone", "inputs", "conditions", "backfill"},
    "io.kestra.plugin.core.trigger.Webhook": TRIGGER_COMMON | {"key", "inputs", "conditions"},
}
# What a flow's `tasks`/`triggers` entries must carry for Kestra to accept them; SyncNamespaceFiles'
# namespace defaults to the flow's own (`system`), so the system flow must name the course's.
REQUIRED: dict[str, frozenset[str]] = {
    "io.kestra.plugin.git.SyncFlows": kestra_plugins.PLUGINS["io.kestra.plugin.git.SyncFlows"].required,
    "io.kestra.plugin.git.SyncNamespaceFiles": kestra_plugins.PLUGINS[
        "io.kestra.plugin.git.SyncNamespaceFiles"
    ].required
    | {"namespace"},
    "io.kestra.plugin.core.kv.Set": frozenset({"key", "value"}),
    "io.kestra.plugin.core.trigger.Schedule": frozenset({"cron"}),
    "io.kestra.plugin.core.trigger.Webhook": frozenset({"key"}),
}
# HttpConfiguration.auth (kestra core io.kestra.core.http.client.configurations): BasicAuthConfiguration
# is `type: BASIC` with username and password.
BASIC_AUTH = frozenset({"type", "username", "password"})
GCP_PAGE = PROJECT_ROOT / "docs" / "google-cloud.md"


def server_config_problems(config: dict[str, Any]) -> list[str]:
    kestra = config.get("kestra", {})
    problems = []
    storage = kestra.get("storage", {})
    if storage.get("type") == "gcs":
        gcs = storage.get("gcs", {})
        problems += [
            f"kestra.storage.gcs.{key} is not a GCS storage setting" for key in sorted(set(gcs) - GCS_STORAGE_KEYS)
        ]
        problems += [f"kestra.storage.gcs.{key} is missing" for key in ("bucket", "project-id") if key not in gcs]
    auth = kestra.get("server", {}).get("basic-auth", {})
    problems += [f"kestra.server.basic-auth.{key} is not a 1.x setting" for key in sorted(set(auth) - BASIC_AUTH_KEYS)]
    if kestra.get("tasks", {}).get("tmp-dir", {}).get("path", "").split("/")[:3] != ["", "tmp", "kestra-wd"]:
        problems.append("kestra.tasks.tmp-dir.path is not under the /tmp/kestra-wd the compose file bind-mounts")
    return problems


def _blocks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks and the tasks they hold (a WorkingDirectory's `tasks`), depth first."""
    return [inner for task in tasks for inner in (task, *_blocks(task.get("tasks", [])))]


def flow_property_problems(flow: dict[str, Any]) -> list[str]:
    problems = []
    for block in (*_blocks(flow.get("tasks", [])), *flow.get("triggers", [])):
        auth = block.get("options", {}).get("auth") if isinstance(block.get("options"), dict) else None
        if auth is not None:
            problems += [
                f"{flow['id']}.{block['id']}: options.auth has no property {k!r}"
                for k in sorted(set(auth) - BASIC_AUTH)
            ]
            if auth.get("type") != "BASIC":
                problems.append(f"{flow['id']}.{block['id']}: options.auth.type is {auth.get('type')!r}, not BASIC")
        kind = block.get("type")
        known = PROPERTIES.get(kind)
        if known is None:
            problems.append(f"{flow['id']}.{block.get('id')}: no documented properties for {kind}")
            continue
        problems += [
            f"{flow['id']}.{block['id']}: {kind} has no property {key!r}" for key in sorted(set(block) - known)
        ]
        problems += [f"{flow['id']}.{block['id']}: {kind} needs {key!r}" for key in sorted(REQUIRED[kind] - set(block))]
    return problems


def shell_lines(markdown: str) -> list[str]:
    """Commands of the fenced bash blocks, continuation lines joined, comments and extra spaces dropped."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = " ".join(command.split("#", 1)[0].split())
            if command:
                lines.append(command)
    return lines


def api_list_problems(page: str) -> list[str]:
    enables = [line for line in shell_lines(page) if line.startswith("gcloud services enable ")]
    if len(enables) != 1:
        return [f"docs/google-cloud.md has {len(enables)} `gcloud services enable` commands, expected 1"]
    listed = [word for word in enables[0].split()[3:] if not word.startswith("--")]
    if sorted(listed) != sorted(REQUIRED_APIS):
        return [f"docs/google-cloud.md enables {sorted(listed)}, make doctor requires {sorted(REQUIRED_APIS)}"]
    return []


def page_command_problems(page: str, outputs: dict[str, str], project: str) -> list[str]:
    lines = shell_lines(page)
    problems = []
    for name in ("iap_tunnel_command", "kestra_password_command"):
        expected = outputs[name].replace(project, "<project-id>")
        if expected not in lines:
            problems.append(f"docs/google-cloud.md does not show the output {name}: {expected}")
    return problems


def test_server_config_uses_the_keys_kestra_and_its_gcs_storage_read(gcp_synth: dict[str, Any]) -> None:
    config = yaml.safe_load(written_files(user_data_of(gcp_synth))[cloud_init.KESTRA_CONFIG_PATH])
    assert server_config_problems(config) == []
    assert config["kestra"]["storage"]["gcs"]["project-id"] == "zoomcamp-test-project"


def test_server_config_check_catches_unknown_and_missing_keys() -> None:
    broken = {
        "kestra": {
            "storage": {"type": "gcs", "gcs": {"bucket": "b", "project": "p"}},
            "server": {"basic-auth": {"enabled": True, "username": "a@b.c", "password": "${P}"}},
            "tasks": {"tmp-dir": {"path": "/var/tmp"}},
        }
    }
    assert server_config_problems(broken) == [
        "kestra.storage.gcs.project is not a GCS storage setting",
        "kestra.storage.gcs.project-id is missing",
        "kestra.server.basic-auth.enabled is not a 1.x setting",
        "kestra.tasks.tmp-dir.path is not under the /tmp/kestra-wd the compose file bind-mounts",
    ]


def system_flows(synth: dict[str, Any]) -> list[dict[str, Any]]:
    files = written_files(user_data_of(synth))
    return [yaml.safe_load(text) for path, text in files.items() if path.startswith(cloud_init.FLOWS_DIR + "/")]


def test_system_flows_use_only_documented_properties(gcp_synth: dict[str, Any]) -> None:
    flows = system_flows(gcp_synth)
    assert len(flows) == 2
    assert [problem for flow in flows for problem in flow_property_problems(flow)] == []
    used = {block["type"] for flow in flows for block in (*_blocks(flow["tasks"]), *flow.get("triggers", []))}
    assert used == set(PROPERTIES), "a type listed here and used by no system flow, or the reverse"


def test_the_core_types_properties_are_the_ones_kestra_reports() -> None:
    """The core entries above are no wider than what the pinned Kestra itself lists for the type."""
    reported = json.loads(kestra_plugins.CORE_PROPERTIES_FILE.read_text(encoding="utf-8"))["properties"]
    for kind, known in PROPERTIES.items():
        if kestra_plugins.is_core(kind):
            assert known <= set(reported[kind]), (kind, sorted(known - set(reported[kind])))


def test_flow_property_check_catches_a_misnamed_or_missing_property() -> None:
    broken = {
        "id": "sync",
        "tasks": [
            {"id": "a", "type": "io.kestra.plugin.git.SyncNamespaceFiles", "url": "https://x", "targetNamespace": "z"},
            {"id": "b", "type": "io.kestra.plugin.core.kv.Set", "key": "K", "value": "v", "valueType": "STRING"},
            {"id": "c", "type": "io.kestra.plugin.git.SyncFlows", "repository": "https://x", "targetNamespace": "z"},
            {
                "id": "d",
                "type": "io.kestra.plugin.core.kv.Set",
                "key": "K",
                "value": "v",
                "options": {"auth": {"type": "BASIC_AUTH", "user": "u", "password": "p"}},
            },
        ],
        "triggers": [{"id": "hook", "type": "io.kestra.plugin.core.trigger.Webhook", "secret": "k"}],
    }
    assert flow_property_problems(broken) == [
        "sync.a: io.kestra.plugin.git.SyncNamespaceFiles has no property 'targetNamespace'",
        "sync.a: io.kestra.plugin.git.SyncNamespaceFiles needs 'namespace'",
        "sync.b: io.kestra.plugin.core.kv.Set has no property 'valueType'",
        "sync.c: io.kestra.plugin.git.SyncFlows has no property 'repository'",
        "sync.c: io.kestra.plugin.git.SyncFlows needs 'url'",
        "sync.d: options.auth has no property 'user'",
        "sync.d: options.auth.type is 'BASIC_AUTH', not BASIC",
        "sync.d: io.kestra.plugin.core.kv.Set has no property 'options'",
        "sync.hook: io.kestra.plugin.core.trigger.Webhook has no property 'secret'",
        "sync.hook: io.kestra.plugin.core.trigger.Webhook needs 'key'",
    ]


def test_the_page_enables_exactly_the_apis_make_doctor_checks() -> None:
    assert api_list_problems(GCP_PAGE.read_text(encoding="utf-8")) == []


def test_api_list_check_catches_a_missing_api() -> None:
    page = GCP_PAGE.read_text(encoding="utf-8").replace(" iap.googleapis.com", "", 1)
    assert api_list_problems(page) == [
        f"docs/google-cloud.md enables {sorted(set(REQUIRED_APIS) - {'iap.googleapis.com'})}, "
        f"make doctor requires {sorted(REQUIRED_APIS)}"
    ]


def test_the_page_shows_the_exact_commands_the_stack_outputs(gcp_synth: dict[str, Any]) -> None:
    outputs = {name: output["value"] for name, output in gcp_synth["output"].items()}
    page = GCP_PAGE.read_text(encoding="utf-8")
    assert page_command_problems(page, outputs, "zoomcamp-test-project") == []
    broken = page.replace("--local-host-port=localhost:8080", "--local-host-port=localhost:8081")
    assert [p.split(":", 1)[0] for p in page_command_problems(broken, outputs, "zoomcamp-test-project")] == [
        "docs/google-cloud.md does not show the output iap_tunnel_command"
    ]


def vm_reach_problems(page: str) -> list[str]:
    """The page's table of what a flow on the VM can reach names the values the stack uses."""
    problems = []
    if f"`{compose.KESTRA_IP}`" not in page:
        problems.append(f"docs/google-cloud.md does not name Kestra's fixed address {compose.KESTRA_IP}")
    if "GIT_SYNC_WEBHOOK_KEY" not in page or "readable by every flow" not in page.lower().replace("**", ""):
        problems.append("docs/google-cloud.md does not say which secrets every flow can read")
    if "KESTRA_SYNC_PASSWORD" in page:
        problems.append("docs/google-cloud.md still names KESTRA_SYNC_PASSWORD, which no longer exists")
    return problems


def test_the_page_says_what_a_flow_on_the_vm_can_reach() -> None:
    page = GCP_PAGE.read_text(encoding="utf-8")
    assert vm_reach_problems(page) == []
    assert vm_reach_problems(page.replace(compose.KESTRA_IP, "172.30.0.99") + "KESTRA_SYNC_PASSWORD") == [
        f"docs/google-cloud.md does not name Kestra's fixed address {compose.KESTRA_IP}",
        "docs/google-cloud.md still names KESTRA_SYNC_PASSWORD, which no longer exists",
    ]
