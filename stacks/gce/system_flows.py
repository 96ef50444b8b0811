"""The two system flows the Kestra on Compute Engine starts with (loaded with `--flow-path`).

- `system.zoomcamp_git_sync` keeps the course namespace equal to the repository: SyncFlows from
  the configured branch and folder (and SyncNamespaceFiles when a files folder is set), on a
  schedule and on a webhook. Git is the source of truth, so these flows are read-only in the UI.
  The course edition (ZOOMCAMP_COURSE_EDITION, stacks/course_editions.py) is not applied here yet:
  SyncFlows imports each file under the id written in it and cannot rename, so the VM gets every
  file of the folder under its file id. Applying it needs a render step between Git and Kestra
  (clone, stacks.course_editions for the edition, then Kestra's namespace-update API, which needs
  the Kestra password as a flow secret on the VM): not done.
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


# The Git-sync settings with `url` resolved (never None here: stacks/gcp_target.resolve_git_url).
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
    # No Kestra API credentials on these tasks: in Kestra 1.3 the git plugin writes flows and
    # namespace files in-process (Kestra's 2.0 migration guide: "In 1.3, these calls were
    # unauthenticated"). Assumed for the pinned 1.3.31, not verified on a server: the git plugin
    # bundled with 1.3.16 called the API and got 401 (kestra-io/kestra#15998), and 2.0 needs
    # `kestra.tasks.sdk.authentication`. Re-check both before moving the pin.
    common = {"url": source.url, "branch": source.branch, "dryRun": False}
    tasks: list[dict[str, Any]] = [
        {
            "id": "sync_flows",
            "type": "io.kestra.plugin.git.SyncFlows",
            **common,
            "gitDirectory": source.flows_directory,
            "targetNamespace": target_namespace,
            "includeChildNamespaces": False,
            "delete": source.delete_missing,
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
                "delete": source.delete_missing,
            }
        )
    what = f"{source.flows_directory}/" + (f" and {source.files_directory}/" if source.files_directory else "")
    document = {
        "id": GIT_SYNC_FLOW_ID,
        "namespace": SYSTEM_NAMESPACE,
        "description": (
            f"Keeps namespace {target_namespace} equal to {what} of {source.url} (branch {source.branch}); "
            f"{'flows deleted in Git are deleted here' if source.delete_missing else 'flows deleted in Git are kept'}. "
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
