"""Write the flows a learner edited in the local Kestra's UI back into flows/, so no edit is lost.

The local stack ships every file of flows/ without its read-only label (the course's exercises
are UI edits), and the next `make deploy-local` puts the files' version back. Run this first:

    make pull-flows            # or: python -m ops.pull_flows [--dry-run]

For each flow of the namespace in the local Kestra (its API, basic auth with the local
credentials), the source Kestra holds is compared with what the stack deployed from the file.
A changed flow is written to its file with the `system.readOnly: "true"` label put back (the GCE
stack's Git sync needs it); a flow created in the UI gets a new file. A flow whose file and Kestra's
copy differ only in comments or layout is left as is and named: the Terraform provider compares
flows as YAML data, so such an edit is never deployed either way (docs/lifecycle.md). A flow whose source fails
the flow checker's errors (what Kestra would reject), or whose id no longer matches its file, is
reported in one line and its file left untouched. Files are replaced atomically.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import yaml

from common.errors import BundleError, CommandLine, run_cli
from flowcheck.flow_catalog import READ_ONLY_LABEL, FlowFile, load_flow_catalog
from flowcheck.flow_equality import only_comments_or_layout_differ
from flowcheck.flow_lint import lint_flow_text
from ops.deploy.kestra_health import KestraApi, local_kestra_api
from stacks.settings import Settings

API = "/api/v1/main/flows"
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)
# Where a new `labels:` block goes when Kestra's source has none: before the first of these.
_LABELS_BEFORE = ("inputs", "variables", "checks", "concurrency", "tasks")


def with_read_only_label(source: str) -> str:
    """Kestra's source with `system.readOnly: "true"` put back, layout kept; checked by re-parsing."""
    document = yaml.safe_load(source)
    labels = document.get("labels")
    if isinstance(labels, dict) and labels.get(READ_ONLY_LABEL) == "true":
        return source
    line = f'  {READ_ONLY_LABEL}: "true"\n'
    header = re.search(r"^labels:[ \t]*\n", source, re.MULTILINE)
    if isinstance(labels, dict) and header:
        text = source[: header.end()] + line + source[header.end() :]
    elif labels is None and "labels" not in document:
        keys = {m.group(1): m.start() for m in reversed(list(_TOP_LEVEL_KEY.finditer(source)))}
        at = min((keys[k] for k in _LABELS_BEFORE if k in keys), default=len(source))
        text = source[:at] + "labels:\n" + line + "\n" + source[at:]
    else:
        text = ""
    expected = {**document, "labels": {**(labels or {}), READ_ONLY_LABEL: "true"}}
    if not text or yaml.safe_load(text) != expected:
        raise BundleError("its labels are not a block mapping; write them as `labels:` with one label per line")
    return text


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one rename, keeping its permissions (a new file gets the umask's, as
    an editor would give it): mkstemp's temporary file is 0600, which the rename would keep."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def pull_flows(api: KestraApi, flows_dir: Path, namespace: str, out: TextIO, *, dry_run: bool = False) -> int:
    """Write changed and new flows of `namespace` into `flows_dir`; the number of flows refused.
    Kestra holds each flow under the id its file names, so a flow goes back to its file as it is."""
    files: dict[str, FlowFile] = {f.flow_id: f for f in load_flow_catalog(flows_dir) if f.namespace == namespace}
    refused = 0
    for flow_id in sorted(set(files) | set(api.flow_ids(namespace))):
        status, flow = api.get(f"{API}/{quote(namespace)}/{quote(flow_id)}?source=true")
        existing = files.get(flow_id)
        path = existing.path if existing else flows_dir / f"{flow_id}.yaml"
        shown = f"{flows_dir.name}/{path.name}"
        if status == 404:
            print(f"  - {shown}: not in Kestra (deploy it with make deploy-local)", file=out)
            continue
        if status != 200 or not isinstance(flow, dict) or not isinstance(flow.get("source"), str):
            raise BundleError(f"Kestra at {api.url} answered HTTP {status} for flow {namespace}.{flow_id}")
        source: str = flow["source"]
        if existing is not None and source == existing.editable_content:
            print(f"  = {shown}: unchanged", file=out)
            continue
        if existing is not None and only_comments_or_layout_differ(existing.editable_content, source, ignored=()):
            # The provider ignores these (flowcheck/flow_equality.py): neither side's text is ever
            # deployed over the other, so neither is overwritten here.
            print(
                f"  ~ {shown}: left as is; only comments or layout differ from Kestra's copy, which the "
                "provider ignores: a comment edited in the file is not deployed (change a value with it), "
                "one edited in the UI stays in Kestra only (copy it into the file to keep it)",
                file=out,
            )
            continue
        problems = lint_flow_text(source, f"{namespace}.{flow_id} in Kestra")
        text, document = "", {}
        if not problems:  # the label is put back only into a source that parses as a flow
            try:
                text = with_read_only_label(source)
                document = yaml.safe_load(text)
            except BundleError as error:
                problems.append(f"{namespace}.{flow_id} in Kestra: {error}")
        if not problems and not (isinstance(document.get("tasks"), list) and document["tasks"]):
            # What the flow catalog refuses at synth (flowcheck/flow_catalog.py), refused before the write.
            problems.append(f"{namespace}.{flow_id} in Kestra: 'tasks' must be a non-empty list of tasks")
        if not problems and (document.get("id"), document.get("namespace")) != (flow_id, namespace):
            problems.append(f"{namespace}.{flow_id} in Kestra: its source says id {document.get('id')!r}")
        if not problems and existing is None and path.exists():
            problems.append(
                f"{namespace}.{flow_id} in Kestra: {path.name} is the file of another flow; "
                "give the flow made in the UI another id"
            )
        if problems:
            refused += 1
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            print(f"  ✗ {shown}: left untouched; {problems[0]}{more}", file=out)
            continue
        if not dry_run:
            _write_atomically(path, text)
        verb = "would write" if dry_run else ("updated from Kestra" if existing else "created from Kestra")
        print(f"  ✓ {shown}: {verb}", file=out)
    return refused


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(prog="make pull-flows", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")
    args = parser.parse_args(argv)
    settings = Settings.from_env(os.environ)
    api = local_kestra_api(settings)
    api.check_login(settings.kestra.namespace)  # up, and this login works: else one line naming the setting
    print(f"==> Flows of {settings.kestra.namespace} in {api.url} -> {settings.flows_dir}")
    refused = pull_flows(
        api,
        settings.flows_dir,
        settings.kestra.namespace,
        sys.stdout,
        dry_run=args.dry_run,
    )
    if refused:
        raise BundleError(f"{refused} flow(s) left untouched: fix them in Kestra's UI and run make pull-flows again")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
