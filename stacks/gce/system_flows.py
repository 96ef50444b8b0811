"""The two system flows the Kestra on Compute Engine starts with (loaded with `--flow-path`).

- `system.zoomcamp_git_sync` keeps the course namespace equal to the repository's flows folder, on a
  schedule and on a webhook, with plugin-git's own `SyncFlows` (and `SyncNamespaceFiles` for the
  files folder, the dbt project, when one is set). Read at plugin-git v1.7.1, the version built for
  Kestra 1.3 (src/main/java/io/kestra/plugin/git/):
  - SyncFlows.java:190,207,232,249: each file is validated and imported in-process through Kestra's
    FlowService: no call to Kestra's API, so no Kestra password anywhere in this flow or its secrets;
  - SyncFlows.java:230,252-258: the file is imported as written, only its first `namespace:` line
    rewritten to the target namespace; its id and its labels (`system.readOnly: "true"`) are kept,
    so the synced flows are read-only in the UI;
  - SyncFlows.java:241-243 with `ignoreInvalidFlows: true`: a flow Kestra rejects is logged as a
    warning in this execution ("Invalid flow imported from Git (<file>): <reasons>") and skipped; the
    others are imported. Without it (SyncFlows.java:246) the first rejected file stops the task, with
    the files walked before it already imported (AbstractSyncTask.java:224-237);
  - AbstractSyncTask.java:252-265 with `delete: true` (ZOOMCAMP_GIT_SYNC_DELETE): the namespace's
    flows with no file in Git are deleted, and so is a flow whose file Kestra rejected (the skipped
    file imports nothing, so its id counts as missing): the log line above says which and why;
  - SyncFlows.java:218-221 (`includeChildNamespaces: false`): only the folder's own files, no subfolders;
  - SyncNamespaceFiles.java:142,168,287: namespace files are read and written through
    `runContext.storage().namespace(...)`, Kestra's internal storage, in-process, no API call either.
  The sync runs no code from the branch: the plugin clones it and reads the files as text.
- `system.zoomcamp_gcp_kv` sets the four GCP values the course's 04_gcp_kv flow set by hand,
  from the same function the local stack's `kestra_kv` resources use; the boot script runs it
  at every start so the values always match the deployed settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from stacks.settings import GitSyncSettings

SYSTEM_NAMESPACE = "system"
GIT_SYNC_FLOW_ID = "zoomcamp_git_sync"
KV_FLOW_ID = "zoomcamp_gcp_kv"
# Open-source Kestra reads secret('NAME') from the environment variable SECRET_NAME (base64).
WEBHOOK_SECRET_NAME = "GIT_SYNC_WEBHOOK_KEY"
WEBHOOK_SECRET_ENV = f"SECRET_{WEBHOOK_SECRET_NAME}"
READ_ONLY_LABELS = {"system.readOnly": "true", "managed-by": "zoomcamp-gcp-stack"}
# plugin-git's own default is `false`, which stops the whole sync at the first rejected file.
IGNORE_INVALID_FLOWS = True


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


def git_sync_flow(source: GitSource, target_namespace: str) -> SystemFlow:
    common = {"url": source.url, "branch": source.branch, "dryRun": False, "delete": source.delete_missing}
    tasks: list[dict[str, Any]] = [
        {
            "id": "sync_flows",
            "type": "io.kestra.plugin.git.SyncFlows",
            **common,
            "gitDirectory": source.flows_directory,
            "targetNamespace": target_namespace,
            "includeChildNamespaces": False,
            "ignoreInvalidFlows": IGNORE_INVALID_FLOWS,
        }
    ]
    if source.files_directory:
        tasks.append(
            {
                "id": "sync_namespace_files",
                "type": "io.kestra.plugin.git.SyncNamespaceFiles",
                **common,
                "gitDirectory": source.files_directory,
                "namespace": target_namespace,
            }
        )
    deleted = (
        "flows deleted in Git (or rejected) are deleted here"
        if source.delete_missing
        else "flows deleted in Git are kept"
    )
    what = f"{source.flows_directory}/" + (f" and {source.files_directory}/" if source.files_directory else "")
    document = {
        "id": GIT_SYNC_FLOW_ID,
        "namespace": SYSTEM_NAMESPACE,
        "description": (
            f"Keeps namespace {target_namespace} equal to {what} of {source.url} (branch {source.branch}); "
            "a flow Kestra rejects is skipped with a warning in this execution's logs; "
            f"{deleted}. "
            "Shipped by the gcp stack: change its settings (ZOOMCAMP_GIT_*), not this flow."
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
