"""Kestra itself as the judge of flow files: its own FlowService.validate, run in a JVM.

`tools/ensure_kestra.sh` resolves Kestra's modules from Maven Central at the pinned version
(tools/kestra/pom.xml, kept equal to stacks/versions.py by a test) and compiles
tools/kestra/src/FlowCheck.java; one JVM then validates every file it is given (~8 s, most of it
Kestra's start-up), so a test run asks Kestra once for all files.

What Kestra cannot judge here: the inside of tasks whose plugin is not served by the Maven
registry these machines reach (see UNSERVED_PLUGINS). Kestra then answers "Invalid type: <type>"
for the first such task and checks nothing else of that flow; `unjudged_plugin()` names that case
so no caller mistakes it for a verdict.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from common.errors import BundleError, CommandLine, run_cli

ROOT = Path(__file__).resolve().parents[2]
KESTRA_DIR = ROOT / "tools" / "kestra"

# Plugin type prefix -> the Maven artifact that would bring it. Every version of these tried on
# 2026-12-02 answered 404 (maven-metadata.xml included); see tools/kestra/pom.xml.
UNSERVED_PLUGINS = {
    "io.kestra.plugin.jdbc.postgresql.": "io.kestra.plugin:plugin-jdbc-postgres",
    "io.kestra.plugin.jdbc.duckdb.": "io.kestra.plugin:plugin-jdbc-duckdb",
    "io.kestra.plugin.scripts.python.": "io.kestra.plugin:plugin-script-python",
    "io.kestra.plugin.scripts.shell.": "io.kestra.plugin:plugin-script-shell",
    "io.kestra.plugin.scripts.runner.docker.": "io.kestra.plugin:plugin-script (Docker runner)",
    "io.kestra.plugin.dbt.": "io.kestra.plugin:plugin-dbt",
    "io.kestra.plugin.gcp.": "io.kestra.plugin:plugin-gcp",
    "io.kestra.plugin.git.": "io.kestra.plugin:plugin-git",
    "io.kestra.plugin.ai.": "io.kestra.plugin:plugin-ai",
}
_INVALID_TYPE = "Validation error: Invalid type: "


class KestraUnavailable(BundleError):
    """Kestra could not be prepared or started; the message is the one line that says why (the
    command line prints it as `error: ...`; a test skips or fails with it)."""


@dataclass(frozen=True)
class KestraVerdict:
    file: str
    error: str | None
    warnings: tuple[str, ...]
    infos: tuple[str, ...]
    deprecations: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return self.error is None

    def unjudged_plugin(self) -> str | None:
        """The Maven artifact Kestra lacked to judge this flow, or None when the verdict is real."""
        if self.error is None or not self.error.startswith(_INVALID_TYPE):
            return None
        type_ = self.error.removeprefix(_INVALID_TYPE).strip()
        return next((artifact for prefix, artifact in UNSERVED_PLUGINS.items() if type_.startswith(prefix)), None)

    def agrees_with(self, lint_errors: list[str]) -> bool:
        """flow_lint agrees when it has errors exactly for the flows Kestra rejects."""
        return self.accepted != bool(lint_errors)

    @property
    def first_line(self) -> str:
        return (self.error or "").strip().splitlines()[0] if self.error else "accepted"


def pinned_kestra_version() -> str:
    """The Kestra version tools/ensure_kestra.sh resolves: stacks/versions.py's, passed to Maven."""
    from stacks.versions import KESTRA_VERSION

    return KESTRA_VERSION


@cache
def java_for_kestra() -> str:
    """Prepare Kestra (idempotent) and return the java binary to run it with."""
    run = subprocess.run(
        ["bash", str(ROOT / "tools" / "ensure_kestra.sh")], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        reason = next((ln for ln in reversed(run.stderr.splitlines()) if ln.startswith("error:")), run.stderr[-500:])
        raise KestraUnavailable(f"tools/ensure_kestra.sh failed: {reason.strip()}")
    return run.stdout.strip().splitlines()[-1]


def judge(paths: list[Path]) -> dict[Path, KestraVerdict]:
    """Kestra's verdict on each flow file, in one JVM."""
    java = java_for_kestra()
    classpath = f"{KESTRA_DIR / 'classes'}:{KESTRA_DIR / 'lib'}/*"
    with tempfile.TemporaryDirectory(prefix="kestra-storage-") as storage:
        run = subprocess.run(
            [
                java,
                f"-Dlogback.configurationFile={KESTRA_DIR / 'src' / 'logback.xml'}",
                "-cp",
                classpath,
                "FlowCheck",
                storage,
                *map(str, paths),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=240,
        )
    if run.returncode != 0:
        tail = [ln for ln in run.stderr.splitlines() if ln.strip() and not ln.startswith("\tat ")][-3:]
        raise KestraUnavailable(f"Kestra's FlowCheck exited {run.returncode}: {' | '.join(tail)}")
    answers = json.loads(run.stdout)
    if len(answers) != len(paths):
        raise KestraUnavailable(f"Kestra answered for {len(answers)} of {len(paths)} files")
    return {
        path: KestraVerdict(
            file=answer["file"],
            error=answer["error"],
            warnings=tuple(answer["warnings"] or ()),
            infos=tuple(answer["infos"] or ()),
            deprecations=tuple(answer["deprecations"] or ()),
        )
        for path, answer in zip(paths, answers, strict=True)
    }


def encryption_key_problem(key: str) -> str | None:
    """None when Kestra's own EncryptionService encrypts and decrypts with `key`, else its error."""
    run = subprocess.run(
        [java_for_kestra(), "-cp", f"{KESTRA_DIR / 'classes'}:{KESTRA_DIR / 'lib'}/*", "EncryptionCheck", key],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    answer = run.stdout.strip()
    return None if run.returncode == 0 and answer == "ok" else (answer or run.stderr.strip()[-300:])


@dataclass(frozen=True)
class KestraRun:
    """A flow of core tasks run by Kestra's own task code (tools/kestra/src/FlowRun.java)."""

    inputs: dict[str, object]
    tasks: list[dict[str, object]]
    logs: list[str]  # Kestra's task log lines: "LEVEL logger - message"

    def task(self, task_id: str) -> dict[str, object]:
        return next(task for task in self.tasks if task["id"] == task_id)


_TASK_LOG = re.compile(r"^(TRACE|DEBUG|INFO|WARN|ERROR) f\.\S+ - (.*)$")


def run_core_flow(path: Path, inputs: dict[str, object]) -> KestraRun:
    """Run a flow made only of Kestra's core runnable tasks, with Kestra's own code, in one JVM."""
    with tempfile.TemporaryDirectory(prefix="kestra-run-") as storage:
        run = subprocess.run(
            [
                java_for_kestra(),
                f"-Dlogback.configurationFile={KESTRA_DIR / 'src' / 'logback.xml'}",
                "-cp",
                f"{KESTRA_DIR / 'classes'}:{KESTRA_DIR / 'lib'}/*",
                "FlowRun",
                storage,
                str(path),
                json.dumps(inputs),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=240,
        )
    if run.returncode != 0 or not run.stdout.strip():
        tail = [ln for ln in run.stderr.splitlines() if ln.strip() and not ln.startswith("\tat ")][-3:]
        raise KestraUnavailable(f"Kestra's FlowRun exited {run.returncode}: {' | '.join(tail)}")
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    logs = [f"{m[1]} {m[2]}" for ln in run.stderr.splitlines() if (m := _TASK_LOG.match(ln))]
    return KestraRun(inputs=answer["inputs"], tasks=answer["tasks"], logs=logs)


_PROBE_PROPERTY = "zzUnknownProbeProperty"
_KNOWN = re.compile(r"known properties: (.*)\)", re.DOTALL)


def _probe_flow(type_: str, kind: str) -> str:
    """A flow whose only fault is one unknown property on `type_`: Kestra then lists the known ones."""
    probe = f"  - id: probe\n    type: {type_}\n    {_PROBE_PROPERTY}: 1\n"
    log = "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: probe\n"
    if kind == "task":
        return f"id: probe\nnamespace: zoomcamp\ntasks:\n{probe}"
    return f"id: probe\nnamespace: zoomcamp\ntasks:\n{log}triggers:\n{probe}"


def write_probes(types: dict[str, str], folder: Path) -> dict[Path, str]:
    """One probe flow file per core type ({type: "task"|"trigger"}) in `folder`: {path: type}."""
    probes = {}
    for index, (type_, kind) in enumerate(sorted(types.items())):
        path = folder / f"probe_{index}.yaml"
        path.write_text(_probe_flow(type_, kind), encoding="utf-8")
        probes[path] = type_
    return probes


def properties_from(verdicts: dict[Path, KestraVerdict], probes: dict[Path, str]) -> dict[str, list[str]]:
    """Every property Kestra accepts on each probed type, read from its own
    "Unrecognized field ... (N known properties: ...)" answer to the probe flow."""
    known: dict[str, list[str]] = {}
    for path, type_ in probes.items():
        error = verdicts[path].error or ""
        match = _KNOWN.search(error)
        if match is None or _PROBE_PROPERTY not in error:
            raise KestraUnavailable(f"Kestra did not list the properties of {type_}: {verdicts[path].first_line}")
        known[type_] = sorted(re.findall(r'"([^"]+)"', match.group(1)))
    return known


def core_properties(types: dict[str, str]) -> dict[str, list[str]]:
    """Every property Kestra accepts on each core type, in one JVM of its own."""
    with tempfile.TemporaryDirectory(prefix="kestra-probe-") as folder:
        probes = write_probes(types, Path(folder))
        return properties_from(judge(list(probes)), probes)


def disagreements_table(fixtures: list[Path]) -> tuple[str, int]:
    """Kestra's verdict beside flow_lint's for each fixture; returns the table and the disagreement count."""
    from flowcheck import flow_lint

    verdicts = judge(fixtures)
    rows = ["| fixture | Kestra | flow_lint | agree |", "| --- | --- | --- | --- |"]
    count = 0
    for path in fixtures:
        verdict, report = verdicts[path], flow_lint.lint_report_file(path)
        lint = "rejects" if report.errors else ("warns" if report.warnings else "accepts")
        unjudged = verdict.unjudged_plugin()
        if unjudged:
            kestra, agree = f"cannot judge ({unjudged} not served)", "n/a"
        else:
            kestra = "accepts" if verdict.accepted else "rejects"
            agree = "yes" if verdict.agrees_with(report.errors) else "**NO**"
            count += agree != "yes"
        rows.append(f"| {path.stem} | {kestra} | {lint} | {agree} |")
    return "\n".join(rows), count


def _write_core_properties() -> None:
    """`make kestra-properties`: rewrite flowcheck/kestra_core_properties.json from Kestra itself."""
    from flowcheck import kestra_plugins

    data = {"kestra_version": pinned_kestra_version(), "properties": core_properties(kestra_plugins.core_types())}
    kestra_plugins.CORE_PROPERTIES_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"{kestra_plugins.CORE_PROPERTIES_FILE.relative_to(ROOT)}: {len(data['properties'])} core types from Kestra")


def _table() -> int:
    """`table`: Kestra's verdict beside flow_lint's on every broken fixture; exit 1 on a disagreement."""
    table, disagreeing = disagreements_table(sorted((ROOT / "tests/fixtures/bad_flows").glob("*.yaml")))
    print(table)
    print(f"\n{disagreeing} disagreement(s) where Kestra could judge")
    return 1 if disagreeing else 0


def main(argv: list[str] | None = None) -> int:
    """`make kestra-table` / `make kestra-properties`."""
    parser = CommandLine(
        prog="python -m tests.support.kestra_judge",
        description="Ask Kestra itself about flows (see the module docstring).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{table,properties}")
    commands.add_parser("table", help="Kestra's verdict beside flow_lint's on every broken fixture")
    commands.add_parser("properties", help="rewrite flowcheck/kestra_core_properties.json from Kestra")
    if parser.parse_args(argv).command == "properties":
        _write_core_properties()
        return 0
    return _table()


if __name__ == "__main__":
    sys.exit(run_cli(main))
