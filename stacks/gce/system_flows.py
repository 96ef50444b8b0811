"""The two system flows the Kestra on Compute Engine starts with (loaded with `--flow-path`).

- `system.zoomcamp_git_sync` keeps the course namespace equal to the repository, in the course
  edition the settings choose (ZOOMCAMP_COURSE_EDITION, stacks/course_editions.py), on a schedule
  and on a webhook. plugin-git's SyncFlows cannot do that: it imports each file under the id
  written in it. So the flow clones the configured branch (git.Clone in a WorkingDirectory), runs
  the clone's own renderer in the pinned Python image (`python -m stacks.course_editions render`:
  the edition's flows under its ids, checked as synth checks them, one YAML body), and posts that
  body to Kestra's "update a namespace from YAML" API (POST /api/v1/main/flows/<namespace>,
  `delete` as ZOOMCAMP_GIT_SYNC_DELETE says). The VM therefore holds exactly what the local stack
  deploys for the same edition, except that the files' `system.readOnly` label stays: Git is the
  source of truth there, so those flows are read-only in the UI. The API call authenticates as
  the Kestra user with the basic-auth password, which the boot script hands to Kestra as the
  secret KESTRA_SYNC_PASSWORD (from Secret Manager, never in this text, metadata or state).
  SyncNamespaceFiles still syncs the files folder (the dbt project) when one is set.
- `system.zoomcamp_gcp_kv` sets the four GCP values the course's 04_gcp_kv flow set by hand,
  from the same function the local stack's `kestra_kv` resources use; the boot script runs it
  at every start so the values always match the deployed settings.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from stacks.gce import compose
from stacks.settings import GitSyncSettings

SYSTEM_NAMESPACE = "system"
GIT_SYNC_FLOW_ID = "zoomcamp_git_sync"
KV_FLOW_ID = "zoomcamp_gcp_kv"
# Open-source Kestra reads secret('NAME') from the environment variable SECRET_NAME (base64).
WEBHOOK_SECRET_NAME = "GIT_SYNC_WEBHOOK_KEY"
WEBHOOK_SECRET_ENV = f"SECRET_{WEBHOOK_SECRET_NAME}"
READ_ONLY_LABELS = {"system.readOnly": "true", "managed-by": "zoomcamp-gcp-stack"}
# The Kestra password, for the sync's call to Kestra's own API (kestra-boot writes SECRET_<NAME>).
SYNC_PASSWORD_SECRET_NAME = "KESTRA_SYNC_PASSWORD"
SYNC_PASSWORD_SECRET_ENV = f"SECRET_{SYNC_PASSWORD_SECRET_NAME}"
# Tasks run inside the Kestra container (standalone server): its API is on the container's own port.
# Kestra 1.x open source serves it under the default tenant `main`.
KESTRA_API_FROM_TASKS = f"http://localhost:{compose.KESTRA_PORT}/api/v1/main"
# The renderer's runtime: the image the course flows' Python tasks use, and the packages its import
# path needs (PyYAML; cron-converter, which the flow checker's cron rules use, with its own
# requirements) at Pipfile.lock's versions; the rest is the standard library. tests/unit/
# test_gcp_variants.py keeps the image and the pins in step; tests/unit/test_course_editions.py runs
# the renderer with these packages and nothing else.
RENDER_IMAGE = "python:3.12.8-slim-bookworm"
RENDER_DEPENDENCIES = ("pyyaml==6.0.3", "cron-converter==2.0.2", "python-dateutil==4.0.0", "tzdata==2026.6")
# Written by the renderer into the WorkingDirectory; read back as the API call's body.
RENDERED_FILE = "zoomcamp-sync-flows.yaml"


# The Git-sync settings with `url` resolved (never None here: stacks/gcp/target.py, resolve_git_url).
GitSource = GitSyncSettings


@dataclass(frozen=True)
class SystemFlow:
    flow_id: str
    content: str

    @property
    def filename(self) -> str:
        return f"{SYSTEM_NAMESPACE}.{self.flow_id}.yaml"


def _dump(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False, width=120)


def namespace_update_uri(target_namespace: str, delete_missing: bool) -> str:
    """Kestra's FlowController.updateFlowsInNamespace: every flow of the body is created or updated in
    the namespace; with delete=true, the namespace's flows missing from the body are deleted."""
    return f"{KESTRA_API_FROM_TASKS}/flows/{target_namespace}?delete={str(delete_missing).lower()}"


def render_command(source: GitSource, target_namespace: str, edition: str) -> str:
    """The clone's own renderer (run from the clone's root, so `stacks` is the branch's code)."""
    arguments = {
        "--edition": edition,
        "--namespace": target_namespace,
        "--flows-dir": source.flows_directory,
        "--output": RENDERED_FILE,
    }
    return " ".join(
        ["python -m stacks.course_editions render", *(f"{k} {shlex.quote(v)}" for k, v in arguments.items())]
    )


def git_sync_flow(source: GitSource, target_namespace: str, edition: str, kestra_username: str) -> SystemFlow:
    common = {"url": source.url, "branch": source.branch}
    tasks: list[dict[str, Any]] = [
        {
            # One folder for the clone and the renderer (Kestra's documented Clone + script pattern).
            "id": "checkout",
            "type": "io.kestra.plugin.core.flow.WorkingDirectory",
            "tasks": [
                {"id": "clone", "type": "io.kestra.plugin.git.Clone", **common},
                {
                    "id": "render",
                    "type": "io.kestra.plugin.scripts.python.Commands",
                    "description": (
                        f"The edition's flows under its ids, checked as synth checks them, as one body "
                        f"({RENDERED_FILE}); a flow that fails the checks stops the sync, nothing is deployed."
                    ),
                    "containerImage": RENDER_IMAGE,
                    "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker"},
                    "dependencies": list(RENDER_DEPENDENCIES),
                    "commands": [render_command(source, target_namespace, edition)],
                    "outputFiles": [RENDERED_FILE],
                },
            ],
        },
        {
            # http.Download, not http.Request: Request keeps the response (every flow of the namespace,
            # sources included) in the execution's outputs, in the metadata database, at every sync;
            # Download keeps it in internal storage, and `purge` below deletes it. Both fail on >= 400.
            "id": "deploy_flows",
            "type": "io.kestra.plugin.core.http.Download",
            "uri": namespace_update_uri(target_namespace, source.delete_missing),
            "method": "POST",
            "contentType": "application/x-yaml",
            "body": "{{ read(outputs.render.outputFiles['" + RENDERED_FILE + "']) }}",
            "options": {
                "auth": {
                    "type": "BASIC",
                    "username": kestra_username,
                    "password": "{{ secret('" + SYNC_PASSWORD_SECRET_NAME + "') }}",
                }
            },
        },
    ]
    if source.files_directory:
        # No Kestra API credentials on this task: in Kestra 1.3 the git plugin writes namespace
        # files in-process (Kestra's 2.0 migration guide: "In 1.3, these calls were
        # unauthenticated"). Assumed for the pinned 1.3.31, not verified on a server: the git plugin
        # bundled with 1.3.16 called the API and got 401 (kestra-io/kestra#15998), and 2.0 needs
        # `kestra.tasks.sdk.authentication`. Re-check both before moving the pin.
        tasks.append(
            {
                "id": "sync_namespace_files",
                "type": "io.kestra.plugin.git.SyncNamespaceFiles",
                **common,
                "dryRun": False,
                "gitDirectory": source.files_directory,
                "namespace": target_namespace,
                "delete": source.delete_missing,
            }
        )
    # The clone's outputs, the rendered body and the API's answer: nothing worth keeping once deployed.
    tasks.append({"id": "purge", "type": "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"})
    what = f"{source.flows_directory}/" + (f" and {source.files_directory}/" if source.files_directory else "")
    document = {
        "id": GIT_SYNC_FLOW_ID,
        "namespace": SYSTEM_NAMESPACE,
        "description": (
            f"Keeps namespace {target_namespace} equal to {what} of {source.url} (branch {source.branch}), "
            f"flows in course edition {edition} (its ids); "
            f"{'flows deleted in Git are deleted here' if source.delete_missing else 'flows deleted in Git are kept'}. "
            "Shipped by the gcp stack: change its settings (ZOOMCAMP_GIT_*, ZOOMCAMP_COURSE_EDITION), not this flow."
        ),
        "labels": READ_ONLY_LABELS,
        # A push during a scheduled sync must not run two syncs at once.
        "concurrency": {"limit": 1, "behavior": "CANCEL"},
        "tasks": tasks,
        "triggers": [
            # UTC: the VM's zone is UTC too, and a sync has no business hours.
            {
                "id": "schedule",
                "type": "io.kestra.plugin.core.trigger.Schedule",
                "cron": source.cron,
                "timezone": "UTC",
            },
            {
                "id": "webhook",
                "type": "io.kestra.plugin.core.trigger.Webhook",
                # The key is generated on the VM and kept in Secret Manager, never in this text.
                # It is the only guard: Kestra 1.x lists /api/v1/main/executions/webhook/ in the
                # default basic-auth open-urls (kestra-io/kestra#11391), so callers need no login.
                "key": "{{ secret('" + WEBHOOK_SECRET_NAME + "') }}",
            },
        ],
    }
    return SystemFlow(GIT_SYNC_FLOW_ID, _dump(document))


def kv_flow(values: Mapping[str, tuple[str, str]], target_namespace: str) -> SystemFlow:
    document = {
        "id": KV_FLOW_ID,
        "namespace": SYSTEM_NAMESPACE,
        "description": (
            f"Sets the GCP values of namespace {target_namespace} (what the course's 04_gcp_kv flow did by hand) "
            "from the gcp stack's settings; run at every boot. No credentials: flows use the VM's service account."
        ),
        "labels": READ_ONLY_LABELS,
        "tasks": [
            {
                "id": key.lower(),
                "type": "io.kestra.plugin.core.kv.Set",
                "namespace": target_namespace,
                "key": key,
                "value": value,
                "kvType": "STRING",
                "overwrite": True,
            }
            for key, (value, _description) in values.items()
        ],
    }
    return SystemFlow(KV_FLOW_ID, _dump(document))
