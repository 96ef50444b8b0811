"""The course edition a stack deploys: which flows of flows/, under which ids.

The course's module 2 exists in two editions (stacks/course_editions.yaml): the 2025 cohort's
flows and the current ones, which renumbered the same flows (`04_postgres_taxi` is
`04_postgres_taxi`) and added four. flows/ keeps one file per flow; an edition that deploys a flow
under another id gets its text renamed here, at synth time, never a copied file:

- the rename is a whole-word replacement in the text (the `id:` line, a Subflow's `flowId`, a
  description naming the flow), all ids of the edition at once, so comments and layout stay as
  written; the result is parsed again and must equal the file's parsed flow with the same
  replacement applied to every string of it (FlowFile.editable_content's style);
- every `flowId` a deployed flow names in its own namespace must be a flow the edition deploys,
  so a Subflow never calls a flow that is not there;
- each renamed text passes the flow checker again.

`make pull-flows` reverses the rename (`to_file_ids`) before it writes a flow back to its file.

    python -m stacks.course_editions [ids]         # each listed flow file and its id in each edition
    python -m stacks.course_editions flows 2025    # the flows one edition deploys, with their files

The GCE stack's Git sync runs this module on the VM, from its clone of the repository:
`python -m stacks.course_editions render --edition E --namespace N --flows-dir flows --output F`
writes the edition's flows, under its ids and with the files' labels (`system.readOnly` kept: Git
is the truth there), as one YAML body for Kestra's "update a namespace from YAML" API
(stacks/gce/system_flows.py). That path runs in a plain Python image with a few pinned packages
(system_flows.RENDER_DEPENDENCIES: PyYAML, cron-converter and its requirements): this module and
what it imports must need nothing else, above all not cdktf (tests/unit/test_course_editions.py
runs it with exactly those packages).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from common.errors import BundleError, CommandLine, run_cli
from flowcheck import strict_yaml
from flowcheck.flow_catalog import FlowFile, load_flow_catalog
from flowcheck.flow_lint import lint_report_parsed
from flowcheck.kestra_ids import KESTRA_ID_PATTERN
from stacks.settings import COURSE_EDITIONS, PROJECT_ROOT, Settings

MAP_FILE = Path(__file__).with_name("course_editions.yaml")
# Not a letter, digit, '_' or '-' on either side: `04_postgres_taxi` is renamed, `05_postgres_taxi_scheduled`
# is not part of it ('.' may follow: a sentence's end, `namespace.flow`, a file name).
_BOUNDARY_BEFORE = r"(?<![A-Za-z0-9_-])"
_BOUNDARY_AFTER = r"(?![A-Za-z0-9_-])"


class EditionError(BundleError):
    """The edition map and the flow files disagree, or a renamed flow would break."""


@dataclass(frozen=True)
class EditionMap:
    """stacks/course_editions.yaml, checked: edition -> {file id: deployed id}, and the stack's stand-ins."""

    editions: Mapping[str, str]  # edition -> what it is
    flows: Mapping[str, Mapping[str, str]]  # file id -> {edition: id}
    replaced: Mapping[str, Mapping[str, str]]  # 2025 id of a course flow the gcp stack replaces -> {edition: id}

    def ids(self, edition: str) -> dict[str, str]:
        """File id -> deployed id, for the listed flows the edition deploys."""
        return {file_id: ids[edition] for file_id, ids in self.flows.items() if edition in ids}

    def renames(self, edition: str) -> dict[str, str]:
        """Every id the edition names differently from the files (deployed flows and stand-ins)."""
        names = {**self.ids(edition), **{seed: ids[edition] for seed, ids in self.replaced.items() if edition in ids}}
        return {old: new for old, new in names.items() if old != new}


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def load_edition_map(path: Path = MAP_FILE) -> EditionMap:
    """Read and check the map: known editions, valid ids, no id deployed twice in an edition."""
    shown = _display(path)
    try:
        document = strict_yaml.load_unique(path.read_text(encoding="utf-8"))  # a repeated key is a mistake here
    except (OSError, yaml.YAMLError) as error:
        raise EditionError(f"{shown}: cannot read the edition map ({error})") from None
    if not isinstance(document, dict):
        raise EditionError(f"{shown}: must be a mapping with editions, flows and replaced")
    problems: list[str] = []
    editions = {str(k): str(v) for k, v in (document.get("editions") or {}).items()}
    if tuple(sorted(editions)) != tuple(sorted(COURSE_EDITIONS)):
        problems.append(
            f"{shown}: editions are {sorted(editions)}, stacks/settings.py knows {list(COURSE_EDITIONS)}; "
            "keep them equal"
        )
    sections: dict[str, dict[str, dict[str, str]]] = {}
    for section in ("flows", "replaced"):
        entries = document.get(section) or {}
        if not isinstance(entries, dict):
            problems.append(f"{shown}: {section} must map an id to {{edition: id}}")
            entries = {}
        sections[section] = {}
        for key, ids in entries.items():
            if not isinstance(ids, dict) or not ids:
                problems.append(f'{shown}: {section}.{key} must map editions to ids, e.g. {{"2026": {key}}}')
                continue
            clean = {str(edition): str(flow_id) for edition, flow_id in ids.items()}
            for edition, flow_id in clean.items():
                if edition not in editions:
                    problems.append(
                        f"{shown}: {section}.{key} names edition {edition!r}, not one of {sorted(editions)}"
                    )
                if not KESTRA_ID_PATTERN.match(flow_id):
                    problems.append(f"{shown}: {section}.{key} gives {edition} the id {flow_id!r}, not a Kestra id")
            sections[section][str(key)] = clean
    for edition in editions:
        seen: dict[str, str] = {}
        for entries in sections.values():
            for key, ids in entries.items():
                if edition in ids:
                    if ids[edition] in seen:
                        problems.append(
                            f"{shown}: edition {edition} gives id {ids[edition]} to both {seen[ids[edition]]} and {key}"
                        )
                    seen.setdefault(ids[edition], key)
    if problems:
        raise EditionError("\n".join(problems))
    return EditionMap(editions=editions, flows=sections["flows"], replaced=sections["replaced"])


def _renamer(renames: Mapping[str, str]) -> re.Pattern[str] | None:
    if not renames:
        return None
    alternatives = "|".join(re.escape(old) for old in sorted(renames, key=len, reverse=True))
    return re.compile(f"{_BOUNDARY_BEFORE}(?:{alternatives}){_BOUNDARY_AFTER}")


def rename_text(text: str, renames: Mapping[str, str]) -> str:
    """Every whole-word occurrence of an old id replaced by its new one, all at once."""
    return _substitute(_renamer(renames), text, renames)


def _substitute(pattern: re.Pattern[str] | None, text: str, renames: Mapping[str, str]) -> str:
    return text if pattern is None else pattern.sub(lambda match: renames[match.group(0)], text)


def _rename_strings(value: Any, pattern: re.Pattern[str] | None, renames: Mapping[str, str]) -> Any:
    """The same replacement applied to every string of a parsed document (keys included)."""
    if isinstance(value, str):
        return _substitute(pattern, value, renames)
    if isinstance(value, dict):
        return {_rename_strings(k, pattern, renames): _rename_strings(v, pattern, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_strings(item, pattern, renames) for item in value]
    return value


def renamed_source(text: str, document: Any, renames: Mapping[str, str], label: str) -> tuple[str, Any]:
    """`text` renamed line by line, checked: it must parse to `document` with its strings renamed.
    An unchanged text is `document` itself (parsed already), so it is not parsed again."""
    pattern = _renamer(renames)
    renamed = _substitute(pattern, text, renames)
    expected = _rename_strings(document, pattern, renames)
    if renamed == text:
        parsed = document
    else:
        try:
            parsed = yaml.safe_load(renamed)
        except yaml.YAMLError:
            parsed = None
    if parsed != expected:
        raise EditionError(
            f"{label}: renaming its flow ids ({', '.join(f'{a} -> {b}' for a, b in renames.items())}) changes more "
            "than the ids; write each id as a plain word (not split across lines or escaped)"
        )
    return renamed, parsed


def _flow_references(value: Any, where: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every mapping holding a `flowId` (Subflow tasks, flow-trigger conditions), with where it is."""
    if isinstance(value, dict):
        if "flowId" in value:
            yield where or "flow", value
        for key, inner in value.items():
            yield from _flow_references(inner, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _flow_references(inner, f"{where}[{index}]")


def _dangling_references(flows: Sequence[FlowFile], edition: str, edition_map: EditionMap) -> list[str]:
    deployed = {(flow.namespace, flow.flow_id) for flow in flows}
    by_file = edition_map.renames(edition)
    problems = []
    for flow in flows:
        for where, reference in _flow_references(flow.document):
            flow_id, namespace = reference.get("flowId"), reference.get("namespace", flow.namespace)
            if not isinstance(flow_id, str) or not isinstance(namespace, str) or "{{" in flow_id + namespace:
                continue
            if namespace == flow.namespace and (namespace, flow_id) not in deployed:
                hint = f" (this edition deploys it as {by_file[flow_id]})" if flow_id in by_file else ""
                problems.append(
                    f"{_display(flow.path)}: {where} names flow {namespace}.{flow_id}, which edition {edition} "
                    f"does not deploy{hint}; list it for {edition} in {_display(MAP_FILE)}, or change the reference"
                )
    return problems


def edition_flows(
    catalog: Sequence[FlowFile], edition: str, edition_map: EditionMap | None = None
) -> tuple[FlowFile, ...]:
    """The flows `edition` deploys, under its ids, sorted by id; each keeps its file's path."""
    edition_map = edition_map or load_edition_map()
    if edition not in edition_map.editions:
        raise EditionError(f"unknown course edition {edition!r}; use one of {', '.join(edition_map.editions)}")
    files = {flow.flow_id: flow for flow in catalog}
    missing = sorted(set(edition_map.flows) - set(files))
    stand_ins = sorted(set(edition_map.replaced) & set(files))
    problems = [
        f"{_display(MAP_FILE)}: lists flow {file_id}, but flows/ has no {file_id}.yaml; "
        "remove the line or restore the file"
        for file_id in missing
    ] + [
        f"{_display(files[file_id].path)}: {file_id} is listed under replaced in {_display(MAP_FILE)}; "
        "list it under flows instead"
        for file_id in stand_ins
    ]
    if problems:
        raise EditionError("\n".join(problems))
    ids, renames = edition_map.ids(edition), edition_map.renames(edition)
    deployed: list[FlowFile] = []
    for file_id, flow in files.items():
        if file_id in edition_map.flows and file_id not in ids:
            continue  # a course flow of the other edition
        label = _display(flow.path)
        content, document = renamed_source(flow.content, flow.document, renames, label)
        # An unchanged flow stays the catalog's own object, with its cached editable_content.
        renamed = flow
        if content != flow.content:
            renamed = replace(flow, flow_id=document["id"], content=content, document=document)
        if renamed.flow_id != ids.get(file_id, file_id):
            raise EditionError(f"{label}: renamed to id {renamed.flow_id!r}, expected {ids.get(file_id, file_id)!r}")
        if content != flow.content:
            # The renamed document renamed_source parsed (no parse again); repeated keys are the file's,
            # noted when the catalog read it, and only ever warnings.
            lint = lint_report_parsed(document, (), f"{label} (as {renamed.flow_id}, edition {edition})").errors
            if lint:
                raise EditionError("\n".join(lint))
        deployed.append(renamed)
    seen: dict[str, FlowFile] = {}
    for flow in deployed:
        if flow.key in seen:
            raise EditionError(
                f"{_display(flow.path)}: edition {edition} deploys it as {flow.key}, as it does "
                f"{_display(seen[flow.key].path)}; give your flow another id"
            )
        seen[flow.key] = flow
    problems = _dangling_references(deployed, edition, edition_map)
    if problems:
        raise EditionError("\n".join(problems))
    return tuple(sorted(deployed, key=lambda flow: (flow.namespace, flow.flow_id)))


def to_file_ids(source: str, edition: str, label: str, edition_map: EditionMap | None = None) -> str:
    """A flow's source as Kestra holds it in `edition`, with the ids of the files (for make pull-flows)."""
    edition_map = edition_map or load_edition_map()
    back = {new: old for old, new in edition_map.renames(edition).items()}
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise EditionError(f"{label}: not YAML ({error})") from None
    return renamed_source(source, document, back, label)[0]


def deployed_flows(settings: Settings) -> tuple[FlowFile, ...]:
    """What the local stack ships: flows/ in the edition the settings choose."""
    return edition_flows(load_flow_catalog(settings.flows_dir), settings.course_edition)


def id_table(edition_map: EditionMap | None = None) -> list[tuple[str, ...]]:
    """One row per listed flow file: its file id, then its id in each edition ('' when not deployed)."""
    edition_map = edition_map or load_edition_map()
    editions = sorted(edition_map.editions)
    return [(file_id, *(ids.get(e, "") for e in editions)) for file_id, ids in sorted(edition_map.flows.items())]


# Kestra's namespace update (FlowController.updateFlowsInNamespace) cuts its body at every "---", a
# plain substring split, not YAML's document marker: a flow holding "---" anywhere would be cut in two.
KESTRA_FLOW_SEPARATOR = "---"


def deploy_order(flows: Sequence[FlowFile]) -> list[FlowFile]:
    """`flows` (sorted by id) with every flow a Subflow calls in the same namespace placed before its caller."""
    by_id = {flow.flow_id: flow for flow in flows}
    ordered: list[FlowFile] = []
    placed: set[str] = set()

    def place(flow: FlowFile, calling: frozenset[str]) -> None:
        if flow.flow_id in placed or flow.flow_id in calling:
            return
        for _, reference in _flow_references(flow.document):
            callee = by_id.get(str(reference.get("flowId")))
            if callee is not None and reference.get("namespace", flow.namespace) == flow.namespace:
                place(callee, calling | {flow.flow_id})
        placed.add(flow.flow_id)
        ordered.append(flow)

    for flow in flows:
        place(flow, frozenset())
    return ordered


def render_namespace(flows_dir: Path, edition: str, namespace: str) -> tuple[tuple[FlowFile, ...], str]:
    """The flows `edition` deploys from `flows_dir`, and the body of Kestra's namespace update for them.

    Each flow is its file's text under the edition's ids (labels as written: the read-only label
    stays), checked as synth checks it (the catalog, the rename, the flow checker). Called flows
    come before their callers; the texts are joined by "---" lines, none before the first or after
    the last (Kestra would read an empty flow there).
    """
    flows = edition_flows(load_flow_catalog(flows_dir), edition)
    problems = [
        f"{_display(flow.path)}: namespace {flow.namespace}, but the sync deploys namespace {namespace} only; "
        f"write `namespace: {namespace}` in the file"
        for flow in flows
        if flow.namespace != namespace
    ] + [
        f'{_display(flow.path)}: contains "{KESTRA_FLOW_SEPARATOR}", where Kestra\'s namespace update would cut it '
        "in two; write it another way (e.g. a comment line of '=' or '#')"
        for flow in flows
        if KESTRA_FLOW_SEPARATOR in flow.content
    ]
    if not flows:
        problems.append(f"{_display(flows_dir)}: no flow to deploy in edition {edition}; the sync deploys nothing")
    if problems:
        raise EditionError("\n".join(problems))
    ordered = deploy_order(flows)
    body = f"{KESTRA_FLOW_SEPARATOR}\n".join(
        flow.content if flow.content.endswith("\n") else flow.content + "\n" for flow in ordered
    )
    return tuple(ordered), body


def _render(args: Any) -> int:
    """`render`: the namespace-update body of one edition, to a file (the GCE stack's Git sync)."""
    if args.edition not in COURSE_EDITIONS:
        raise EditionError(f"unknown course edition {args.edition!r}; use one of {', '.join(COURSE_EDITIONS)}")
    flows, body = render_namespace(args.flows_dir, args.edition, args.namespace)
    args.output.write_text(body, encoding="utf-8")
    for flow in flows:
        print(f"{flow.namespace}.{flow.flow_id}\t{_display(flow.path)}")
    print(f"{len(flows)} flow(s) of edition {args.edition} written to {args.output}")
    return 0


def _flows(args: Any) -> int:
    """`flows EDITION`: the flows the edition deploys, under its ids, with their files."""
    settings = Settings.from_env({"ZOOMCAMP_COURSE_EDITION": args.edition})
    for flow in deployed_flows(settings):
        print(f"{flow.flow_id}\t{_display(flow.path)}")
    return 0


def _ids(_: Any) -> int:
    """`ids` (the default): one row per listed flow file, its id in each edition."""
    edition_map = load_edition_map()
    print("\t".join(["file", *sorted(edition_map.editions)]))
    for row in id_table(edition_map):
        print("\t".join(cell or "-" for cell in row))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m stacks.course_editions",
        description="The flows each course edition deploys, under which ids (default: the id table).",
    )
    commands = parser.add_subparsers(dest="command", metavar="{ids,flows,render}")
    commands.add_parser("ids", help="the id table: each listed flow file and its id in each edition").set_defaults(
        run=_ids
    )
    flows = commands.add_parser("flows", help="one edition's flows, under its ids, with their files")
    flows.add_argument("edition", help="the course edition: " + ", ".join(COURSE_EDITIONS))
    flows.set_defaults(run=_flows)
    render = commands.add_parser(
        "render",
        help="one edition's flows as the body of Kestra's namespace update (the VM's Git sync)",
        description="Write one edition's flows, under its ids, as the body of Kestra's namespace update.",
    )
    render.add_argument("--edition", required=True, help="the course edition: " + ", ".join(COURSE_EDITIONS))
    render.add_argument("--namespace", required=True, help="the namespace every flow must be in")
    render.add_argument("--flows-dir", type=Path, default=PROJECT_ROOT / "flows", help="default: flows/")
    render.add_argument("--output", type=Path, required=True, help="the file to write")
    render.set_defaults(run=_render)
    args = parser.parse_args(argv)
    return int(getattr(args, "run", _ids)(args))


if __name__ == "__main__":
    sys.exit(run_cli(main))
