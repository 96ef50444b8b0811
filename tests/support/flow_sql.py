"""Run the flows' own SQL and scripts here, rendered exactly as Kestra would render them.

Nothing in this module copies SQL: it reads flows/*.yaml, renders each task's properties with
Kestra's own renderer (tests/support/kestra_render.py) from the same inputs, variables, KV values
and outputs Kestra would pass, and executes them the way the plugins do (the plugins themselves
are not served here, so this part is a stand-in):

* `jdbc.postgresql.Queries`: the rendered SQL split into statements (both splitters Kestra's
  JDBC plugin has shipped must agree) and run in one transaction (the plugin's default);
* `jdbc.postgresql.CopyIn`: the `COPY table FROM STDIN WITH (...)` statement the plugin builds;
* `scripts.shell.Commands` (Process runner): the rendered commands run by /bin/sh in a scratch
  directory, with a stand-in `wget` serving the test's file for the flow's URL only;
* `scripts.python.Script` (other flows' tests): the rendered script run with its `inputFiles` and `env`.

The one entry point other tests need (the dbt tests load tables with it):

    from tests.support.flow_sql import load_month
    result = load_month(conn, "yellow", 2019, 1, month.path)   # conn: psycopg, autocommit=True
    result.rows                                                 # data rows loaded

It raises `TaskFailed(task_id, message)` where Kestra would fail the execution.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import psycopg.rows
import yaml

from stacks.settings import PROJECT_ROOT
from tests.support.kestra_render import KestraRenderer, flow_variables

# FLOW_SQL_FLOWS_DIR points the harness at a mutated copy of flows/ (to prove a test can fail).
FLOWS_DIR = Path(os.environ.get("FLOW_SQL_FLOWS_DIR", str(PROJECT_ROOT / "flows")))
PG_FLOW = "04_postgres_taxi"
TLC_URL = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/{taxi}/{taxi}_tripdata_{year:04d}-{month:02d}.csv.gz"

# What the stacks provide at run time (local stack KV + secret; GCP KV from the gcp settings).
KV: dict[str, str] = {
    "ZOOMCAMP_PG_URL": "jdbc:postgresql://zoomcamp-postgres:5432/ny_taxi",
    "ZOOMCAMP_PG_USER": "zoomcamp",
    "GCP_PROJECT_ID": "zoomcamp-test-project",
    "GCP_LOCATION": "EU",
    "GCP_BUCKET_NAME": "zoomcamp-test-project-zoomcamp",
    "GCP_DATASET": "zoomcamp",
}
SECRETS: dict[str, str] = {"ZOOMCAMP_DB_PASSWORD": "not-used-by-tests"}


class TaskFailed(Exception):
    """A task failed where Kestra would fail the execution; `message` is what the learner sees."""

    def __init__(self, task_id: str, message: str) -> None:
        super().__init__(f"task '{task_id}' failed: {message}")
        self.task_id = task_id
        self.message = message


# ---- reading flows ---------------------------------------------------------------------------


@cache
def _flow_text(name: str) -> str:
    return (FLOWS_DIR / f"{name}.yaml").read_text(encoding="utf-8")


def flow(name: str) -> dict[str, Any]:
    """The parsed flow file (a fresh copy each call)."""
    return yaml.safe_load(_flow_text(name))


def iter_tasks(tasks: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    """Tasks in document order, nested ones (then/else/tasks/cases) after their parent."""
    for task in tasks or []:
        yield task
        for key in ("then", "else", "tasks", "defaults"):
            yield from iter_tasks(task.get(key))
        for case in (task.get("cases") or {}).values():
            yield from iter_tasks(case)


def task(document: Mapping[str, Any], task_id: str) -> dict[str, Any]:
    for section in ("tasks", "errors", "finally", "afterExecution"):
        for found in iter_tasks(document.get(section)):
            if found.get("id") == task_id:
                return found
    raise KeyError(f"flow {document.get('id')} has no task {task_id!r}")


def tasks_of_type(document: Mapping[str, Any], type_: str) -> list[dict[str, Any]]:
    return [t for t in iter_tasks(document.get("tasks")) if t.get("type") == type_]


# ---- rendering --------------------------------------------------------------------------------


def resolve_inputs(document: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as Kestra passes them: given values, else defaults; SELECT values are checked."""
    resolved: dict[str, Any] = {}
    for spec in document.get("inputs") or []:
        name = spec["id"]
        value = given.get(name, spec.get("defaults"))
        values = spec.get("values")
        if values is not None and value not in values:
            raise TaskFailed("inputs", f"Invalid input for `{name}`, it must match the values `{values}`")
        resolved[name] = value
    unknown = set(given) - set(resolved)
    if unknown:
        raise KeyError(f"flow {document.get('id')} declares no input(s) {sorted(unknown)}")
    return resolved


@dataclass(frozen=True)
class Context:
    """What Kestra gives one task of one execution: its variables, and the namespace's KV values."""

    variables: dict[str, Any]
    namespace: str


_RENDERER: KestraRenderer | None = None


def _kestra() -> KestraRenderer:
    """Kestra's own renderer (tests/support/kestra_render.py), one JVM for the whole process."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = KestraRenderer(secrets=SECRETS).start()
        atexit.register(_RENDERER.close)
    return _RENDERER


def context(
    document: Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    trigger: Mapping[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Context:
    """The variables of one execution of `document`, as Kestra's RunContext holds them."""
    variables = flow_variables(
        document, resolve_inputs(document, inputs), outputs=outputs if outputs is not None else {}, trigger=trigger
    )
    variables.update(extra or {})
    return Context(variables, str(document.get("namespace")))


def _templates(value: Any, path: str, found: dict[str, str]) -> None:
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        found[path] = value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _templates(item, f"{path}[{index}]", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _templates(item, f"{path}.{key}", found)


def _rebuild(value: Any, path: str, rendered: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return rendered.get(path, value)
    if isinstance(value, list):
        return [_rebuild(item, f"{path}[{index}]", rendered) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _rebuild(item, f"{path}.{key}", rendered) for key, item in value.items()}
    return value


def render(value: Any, ctx: Context) -> Any:
    """Render a property value (strings, lists and maps of strings) with Kestra's own renderer:
    every templated string of it in one request; a string without an expression is left as it is."""
    found: dict[str, str] = {}
    _templates(value, "$", found)
    if not found:
        return value
    rendered = _kestra().render(found, ctx.variables, kv={ctx.namespace: KV})
    return _rebuild(value, "$", rendered)


def truthy(text: str) -> bool:
    """An If condition's verdict on its rendered text, as Kestra's TruthUtils decides (read from
    core's bytecode: "false", "0", "-0" and "" after trimming are false, anything else true)."""
    return text.strip() not in ("false", "0", "-0", "")


def with_plugin_defaults(document: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """The task's properties with the flow's pluginDefaults filled in (task values win)."""
    merged: dict[str, Any] = {}
    type_ = node.get("type", "")
    for entry in document.get("pluginDefaults") or []:
        if type_ == entry["type"] or type_.startswith(entry["type"] + "."):
            merged.update(entry["values"])
    merged.update(node)
    return merged


# ---- Kestra's two SQL splitters ------------------------------------------------------------------


def split_naive(sql: str) -> list[str]:
    """Older plugin-jdbc: Java `sql.split(";[^']")` (trailing empty pieces dropped)."""
    pieces = re.split(r";[^']", sql)
    while pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


def split_sql_splitter(sql: str) -> list[str]:
    """Newer plugin-jdbc (SqlSplitter): quotes, comments, $$ blocks and BEGIN...END aware."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    in_quote = in_line = in_block = False
    dollar: str | None = None
    begin_depth = 0
    saw_end = False
    token = ""
    do_block = False
    last_token = ""

    def flush_token() -> None:
        nonlocal token, begin_depth, saw_end, last_token
        if token:
            upper = token.upper()
            last_token = upper
            token = ""
            if upper == "BEGIN":
                begin_depth += 1
                saw_end = False
            else:
                saw_end = upper == "END"

    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if in_line:
            current.append(c)
            in_line = c != "\n"
            i += 1
            continue
        if in_block:
            current.append(c)
            if c == "*" and nxt == "/":
                current.append("/")
                i += 1
                in_block = False
            i += 1
            continue
        if dollar is not None:
            if sql.startswith(dollar, i):
                current.append(dollar)
                i += len(dollar)
                dollar = None
            else:
                current.append(c)
                i += 1
            continue
        if not in_quote and c == "-" and nxt == "-":
            flush_token()
            in_line = True
            current.append(c)
            i += 1
            continue
        if not in_quote and c == "/" and nxt == "*":
            flush_token()
            in_block = True
            current.append(c)
            i += 1
            continue
        if c == "'":
            flush_token()
            current.append(c)
            if in_quote and nxt == "'":
                current.append(nxt)
                i += 2
                continue
            in_quote = not in_quote
            i += 1
            continue
        if not in_quote and c == "$":
            match = re.match(r"\$[A-Za-z0-9_]*\$", sql[i:])
            if match:
                flush_token()
                do_block = do_block or last_token == "DO"
                dollar = match.group()
                current.append(dollar)
                i += len(dollar)
                continue
        current.append(c)
        if not in_quote:
            if c.isalnum() or c == "_":
                token += c
            else:
                flush_token()
                if c == ";" and begin_depth > 0 and saw_end:
                    begin_depth = max(0, begin_depth - 1)
                    saw_end = False
                    if begin_depth == 0:
                        statements.append("".join(current).strip())
                        current = []
                        do_block = False
                        i += 1
                        continue
                elif not c.isspace():
                    saw_end = False
        if begin_depth == 0 and c == ";" and not in_quote:
            text = "".join(current).strip()
            if text:
                statements.append(text if do_block else text[:-1])
            current = []
            do_block = False
        i += 1
    leftover = "".join(current).strip()
    if leftover:
        statements.append(leftover)
    return statements


def split_statements(sql: str) -> list[str]:
    """The statements Kestra's Queries task sends; fails if the two splitters would disagree."""
    naive = [s.strip() for s in split_naive(sql) if s.strip()]
    modern = [s.strip() for s in split_sql_splitter(sql) if s.strip()]
    if naive != modern:
        raise AssertionError(f"Kestra's SQL splitters disagree on this SQL:\n{naive}\n!=\n{modern}")
    for statement in modern:
        # pgjdbc prepares each statement: a bare '?' would become a bind parameter.
        if "?" in re.sub(r"'[^']*'", "", statement):
            raise AssertionError(f"'?' outside a string literal breaks a JDBC prepared statement: {statement}")
    return modern


def run_queries(conn: psycopg.Connection[Any], sql: str, *, task_id: str = "queries") -> None:
    """Like jdbc Queries with transaction: true: all statements commit together or not at all."""
    try:
        with conn.transaction():
            for statement in split_statements(sql):
                conn.execute(statement)  # type: ignore[arg-type]
    except psycopg.Error as error:
        raise TaskFailed(task_id, str(error).strip()) from None


def copy_statement(properties: Mapping[str, Any]) -> str:
    """The COPY statement plugin-jdbc's AbstractCopy.query() builds from CopyIn properties."""
    parts = ["COPY", properties["table"]]
    if properties.get("columns"):
        parts.append("(" + ", ".join(properties["columns"]) + ")")
    parts.append("FROM STDIN")
    options = []
    fmt = str(properties.get("format", "TEXT")).upper()
    if fmt != "TEXT":
        options.append(f"FORMAT {fmt}")
    if "delimiter" in properties:
        options.append(f"DELIMITER '{properties['delimiter']}'")
    if "nullString" in properties:
        options.append(f"NULL '{properties['nullString']}'")
    if "header" in properties:
        options.append("HEADER " + ("TRUE" if truthy(str(properties["header"])) else "FALSE"))
    if "quote" in properties:
        options.append(f"QUOTE '{properties['quote']}'")
    if "escape" in properties:
        options.append(f"ESCAPE '{properties['escape']}'")
    if "encoding" in properties:
        options.append(f"ENCODING '{properties['encoding']}'")
    if options:
        parts.append("WITH (" + ", ".join(options) + ")")
    return " ".join(parts)


def copy_in(conn: psycopg.Connection[Any], statement: str, path: Path, *, task_id: str = "copy_in") -> int:
    """Stream `path` through COPY on an autocommit connection, as the CopyIn task does."""
    try:
        with conn.cursor() as cursor, path.open("rb") as source:
            with cursor.copy(statement) as copy:  # type: ignore[arg-type]
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            return cursor.rowcount
    except psycopg.Error as error:
        raise TaskFailed(task_id, str(error).strip()) from None


# ---- script tasks --------------------------------------------------------------------------------


@dataclass
class ScriptRun:
    exit_code: int
    stdout: str
    stderr: str
    output_files: dict[str, Path] = field(default_factory=dict)


def run_python_script(
    node: Mapping[str, Any], ctx: Context, input_files: Mapping[str, Path], workdir: Path
) -> ScriptRun:
    """Run a rendered io.kestra.plugin.scripts.python.Script in `workdir` (our Python, not the image's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, value in (node.get("inputFiles") or {}).items():
        source = input_files.get(render(value, ctx))
        if source is None:
            raise KeyError(f"no local file given for inputFiles {name!r} = {render(value, ctx)!r}")
        shutil.copyfile(source, workdir / name)
    script = workdir / "script.py"
    script.write_text(render(node["script"], ctx), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", **{k: str(v) for k, v in render(node.get("env") or {}, ctx).items()}}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    outputs: dict[str, Path] = {}
    for pattern in node.get("outputFiles") or []:
        for found in sorted(workdir.glob(render(pattern, ctx))):
            outputs[found.name] = found
    return ScriptRun(done.returncode, done.stdout, done.stderr, outputs)


# ---- running the PostgreSQL flow -------------------------------------------------------------------

# A stand-in for wget (no network here): serves the file the test gives, and only for the flow's URL.
WGET_STAND_IN = """#!/bin/sh
[ "$1" = -qO ] && [ "$3" = "$FLOW_SQL_URL" ] || { echo "wget stand-in: unexpected arguments $*" >&2; exit 2; }
cp "$FLOW_SQL_DOWNLOAD" "$2"
"""


def run_commands(node: Mapping[str, Any], ctx: Context, workdir: Path, download: Path, url: str) -> ScriptRun:
    """Run a rendered shell.Commands task like its Process runner: the commands joined by newlines,
    one `/bin/sh -c` in `workdir`; collects its `outputFiles`. `wget` is the stand-in above."""
    bin_dir = workdir / ".bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "wget").write_text(WGET_STAND_IN, encoding="utf-8")
    (bin_dir / "wget").chmod(0o755)
    script = "\n".join(render(node["commands"], ctx))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FLOW_SQL_URL": url, "FLOW_SQL_DOWNLOAD": str(download)}
    done = subprocess.run(
        ["/bin/sh", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    outputs: dict[str, Path] = {}
    for pattern in node.get("outputFiles") or []:
        for found in sorted(workdir.glob(render(pattern, ctx))):
            outputs[found.name] = found
    return ScriptRun(done.returncode, done.stdout, done.stderr, outputs)


@dataclass
class LoadResult:
    rows: int
    outputs: dict[str, Any]
    extracted: dict[str, int]  # the extract's output files and their sizes (homework question 1)


def load_month(
    conn: psycopg.Connection[Any],
    taxi: str,
    year: int,
    month: int,
    csv_gz_path: Path,
    *,
    flow_name: str = PG_FLOW,
    trigger: Mapping[str, Any] | None = None,
    on_task: Callable[[str, psycopg.Connection[Any]], None] | None = None,
) -> LoadResult:
    """Run the tasks of flows/04_postgres_taxi.yaml (or `flow_name`) for one month against `conn`.

    `csv_gz_path` is what wget downloads (the flow's URL is checked, not fetched). The scheduled
    flow takes its month from `trigger` ({"date": ...}) and only the taxi as input. The connection
    must be autocommit (CopyIn commits on its own, each Queries task is one transaction).
    `on_task(task_id, conn)` is called before each task (tests inject faults). Raises TaskFailed
    where Kestra would fail the execution.
    """
    document = flow(flow_name)
    names = {spec["id"] for spec in document.get("inputs") or []}
    given = {"taxi": taxi, "year": f"{year:04d}", "month": f"{month:02d}"}
    outputs: dict[str, Any] = {}
    ctx = context(document, {k: v for k, v in given.items() if k in names}, trigger=trigger, outputs=outputs)
    rows = 0
    extracted: dict[str, int] = {}
    workdir = Path(tempfile.mkdtemp(prefix=f"flow-{taxi}-{year}-{month:02d}-"))
    local_files: dict[str, Path] = {}
    try:
        pending = list(document["tasks"])
        while pending:
            node = pending.pop(0)
            task_id, type_ = node["id"], node["type"]
            if on_task:
                on_task(task_id, conn)
            props = with_plugin_defaults(document, node)
            if type_ == "io.kestra.plugin.core.execution.Labels":
                render(props["labels"], ctx)
            elif type_ == "io.kestra.plugin.scripts.shell.Commands":
                url = TLC_URL.format(taxi=taxi, year=year, month=month)
                run = run_commands(props, ctx, workdir / task_id, csv_gz_path, url)
                if run.exit_code != 0:
                    raise TaskFailed(task_id, (run.stderr or run.stdout).strip())
                files = {}
                for name, path in run.output_files.items():
                    local_files[f"kestra:///{task_id}/{name}"] = path
                    files[name] = f"kestra:///{task_id}/{name}"
                outputs[task_id] = {"exitCode": 0, "outputFiles": files}
                extracted = {name: path.stat().st_size for name, path in run.output_files.items()}
            elif type_ == "io.kestra.plugin.jdbc.postgresql.Queries":
                run_queries(conn, render(props["sql"], ctx), task_id=task_id)
            elif type_ == "io.kestra.plugin.core.flow.If":
                branch = "then" if truthy(render(props["condition"], ctx)) else "else"
                pending[:0] = list(props.get(branch) or [])
            elif type_ == "io.kestra.plugin.jdbc.postgresql.CopyIn":
                rendered = render({k: v for k, v in props.items() if k not in ("id", "type", "description")}, ctx)
                rows = copy_in(conn, copy_statement(rendered), local_files[rendered["from"]], task_id=task_id)
                outputs[task_id] = {"rowCount": rows}
            elif type_ != "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles":
                raise NotImplementedError(f"flow_sql cannot emulate task '{task_id}' of type {type_}")
        return LoadResult(rows=rows, outputs=outputs, extracted=extracted)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
