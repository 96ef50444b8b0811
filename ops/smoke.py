"""`make smoke`: after `make deploy-local`, check the live local stack the way a learner would.

    make smoke            # or: python -m ops.smoke [--timeout SECONDS]

One line per step, ✓ or ✗ with what to do; a step whose prerequisite failed is reported as
skipped. The steps, in order:

1. Kestra answers on its published URL and the login of `.secrets/local.env` (or
   KESTRA_PASSWORD) works;
2. every flow the local stack ships (flows/, each under the id it names) is in Kestra;
3. the KV values the local stack sets (stacks/local/kv.py) are in the namespace, with their values;
4. the getting-started pipeline (flows/03_getting_started_data_pipeline.yaml) runs through
   Kestra's API to SUCCESS;
5. the taxi flow (flows/04_postgres_taxi.yaml) loads green 2019-01 into the data PostgreSQL, with
   the row count the execution reported (else the published file's);
6. the same month loaded again leaves the same rows (count and md5 of the ordered unique_row_id).

It talks to Kestra through the one client of ops/deploy/kestra_health.py and to the data
PostgreSQL with psycopg, as `psql` on the learner's machine would. The exit code is non-zero
when a step fails. Steps 4-6 download from the internet (dummyjson.com, the nyc-tlc-data release)
and take a few minutes the first time (task images are pulled).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from common.errors import BundleError, CommandLine, run_cli
from flowcheck.flow_catalog import FlowFile, load_flow_catalog
from ops.deploy.kestra_health import KestraApi, ask_kestra, local_kestra_api, login_problem
from stacks.local.credentials import CREDENTIALS_FILE, read_credentials
from stacks.local.kv import local_kv_values
from stacks.settings import PROJECT_ROOT, Settings

# The flows the smoke runs, by id (flows/<id>.yaml, deployed under that id).
GETTING_STARTED = "03_getting_started_data_pipeline"
TAXI_FLOW = "04_postgres_taxi"
TAXI_INPUTS = {"taxi": "green", "year": "2019", "month": "01"}
TAXI_TABLE = ("public", "green_tripdata")
TAXI_FILE = "green_tripdata_2019-01.csv"
# Data rows of green_tripdata_2019-01.csv.gz in the DataTalksClub/nyc-tlc-data `green` release
# (the file the flow downloads; its header line not counted). Used only when the execution does
# not report the count itself (copy_in's rowCount output).
EXPECTED_GREEN_2019_01_ROWS = 630918
# Kestra's State.Type values after which an execution never changes again.
TERMINAL_STATES = frozenset({"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"})
DEFAULT_TIMEOUT = 900.0  # seconds per execution: the first run pulls the task images


class StepFailed(Exception):
    """A step's ✗: what was found and what to do about it, one line each."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class Month:
    """What the data PostgreSQL holds of one source file: rows and md5 of the ordered unique_row_id."""

    rows: int
    digest: str


MonthReader = Callable[[], Month]


@dataclass
class Smoke:
    """What the steps share: the settings, the API once logged in, the first load's result."""

    settings: Settings
    read_month: MonthReader
    credentials: Path = CREDENTIALS_FILE
    timeout: float = DEFAULT_TIMEOUT
    poll_interval: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    api: KestraApi | None = None
    catalog: tuple[FlowFile, ...] = ()
    first_load: Month | None = None
    first_execution: str = ""

    @property
    def kestra(self) -> KestraApi:
        assert self.api is not None, "the login step runs first"
        return self.api

    def flow(self, name: str) -> FlowFile:
        """The deployed flow of file flows/<name>.yaml."""
        for flow in self.catalog:
            if flow.path.stem == name:
                return flow
        folder = self.settings.flows_dir.name
        raise StepFailed(f"{folder}/ has no {name}.yaml", f"restore it: git checkout -- {folder}/{name}.yaml")

    def execution_link(self, flow: FlowFile, execution_id: str) -> str:
        return f"{self.kestra.url}/ui/main/executions/{flow.namespace}/{flow.flow_id}/{execution_id}"


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    run: Callable[[Smoke], str]  # the ✓ line, or raises StepFailed
    needs: tuple[str, ...] = field(default=())


def check_login(smoke: Smoke) -> str:
    """Kestra answers (the open /api/v1/configs), then a call that needs the login (ask_kestra)."""
    settings = smoke.settings
    try:
        api = local_kestra_api(smoke.settings, smoke.credentials)
    except BundleError as error:
        raise StepFailed(str(error), "deploy the stack first: make deploy-local") from None
    answer = ask_kestra(api.url, api.username, api.password, settings.kestra.namespace)
    if answer.unauthorized:
        raise StepFailed(*login_problem(answer, api.url, api.username, api.password_from))
    if not answer.healthy:
        raise StepFailed(
            f"Kestra does not answer at {api.url} ({answer.detail})",
            f"start the stack with make deploy-local; if it is deployed, read "
            f"`docker logs {settings.local.prefix}-kestra`",
        )
    smoke.api = api
    return f"{answer.detail} answers at {api.url}; {api.username} is logged in"


def check_flows(smoke: Smoke) -> str:
    smoke.catalog = load_flow_catalog(smoke.settings.flows_dir)
    namespaces = sorted({flow.namespace for flow in smoke.catalog})
    present = {namespace: set(smoke.kestra.flow_ids(namespace)) for namespace in namespaces}
    missing = [flow.key.replace("/", ".") for flow in smoke.catalog if flow.flow_id not in present[flow.namespace]]
    shipped = f"{len(smoke.catalog)} flows the stack ships ({smoke.settings.flows_dir.name}/)"
    if missing:
        raise StepFailed(
            f"{len(missing)} of the {shipped} are not in Kestra: {', '.join(missing)}",
            "run make deploy-local (it ships them again)",
        )
    return f"all {shipped} are in Kestra (namespace {', '.join(namespaces)})"


def check_kv(smoke: Smoke) -> str:
    namespace = smoke.settings.kestra.namespace
    expected = local_kv_values(smoke.settings)
    problems = []
    for key, (value, _) in expected.items():
        status, answer = smoke.kestra.get(f"/api/v1/main/namespaces/{quote(namespace)}/kv/{quote(key)}")
        if status != 200 or not isinstance(answer, dict):
            problems.append(f"{key} is missing")
        elif answer.get("value") != value:
            problems.append(f"{key} is {answer.get('value')!r}, the stack sets {value!r}")
    if problems:
        raise StepFailed(
            f"KV values of namespace {namespace}: {'; '.join(problems)}",
            "run make deploy-local (it sets them again)",
        )
    return f"the {len(expected)} KV values of the local stack are set in namespace {namespace}"


def _state(execution: Any) -> str:
    state = execution.get("state") if isinstance(execution, dict) else None
    return str(state.get("current", "?")) if isinstance(state, dict) else "?"


def _failed_task(execution: Mapping[str, Any]) -> str:
    for task_run in execution.get("taskRunList") or []:
        if _state(task_run) in ("FAILED", "KILLED"):
            return f" (task {task_run.get('taskId', '?')} {_state(task_run)})"
    return ""


def execute(smoke: Smoke, flow: FlowFile, inputs: Mapping[str, str]) -> tuple[dict[str, Any], float]:
    """Start `flow` with `inputs` through Kestra's API, wait for a terminal state: (execution, seconds)."""
    api, name = smoke.kestra, f"{flow.namespace}.{flow.flow_id}"
    start = smoke.clock()
    status, execution = api.post_form(f"/api/v1/main/executions/{quote(flow.namespace)}/{quote(flow.flow_id)}", inputs)
    if status != 200 or not isinstance(execution, dict) or not execution.get("id"):
        detail = execution.get("message") if isinstance(execution, dict) else execution
        raise StepFailed(
            f"Kestra refused to start {name}: HTTP {status} {str(detail or '')[:300]}".rstrip(),
            f"open {api.url}/ui/main/flows/edit/{flow.namespace}/{flow.flow_id} and read what Kestra says",
        )
    execution_id = str(execution["id"])
    link = smoke.execution_link(flow, execution_id)
    polls = 0
    while _state(execution) not in TERMINAL_STATES:
        waited = smoke.clock() - start
        if waited >= smoke.timeout:
            raise StepFailed(
                f"execution {execution_id} of {name} is still {_state(execution)} after {waited:.0f}s",
                f"watch it at {link}; give it longer with make smoke SMOKE_TIMEOUT={int(smoke.timeout * 2)}",
            )
        # Quick first polls (a flow that fails at once is reported at once), then every poll_interval.
        smoke.sleep(min(smoke.poll_interval, 0.05 * 2 ** min(polls, 8)))
        polls += 1
        status, answer = api.get(f"/api/v1/main/executions/{quote(execution_id)}")
        if status != 200 or not isinstance(answer, dict):
            raise StepFailed(
                f"Kestra answered HTTP {status} about execution {execution_id} of {name}", f"look at it at {link}"
            )
        execution = answer
    if _state(execution) != "SUCCESS":
        raise StepFailed(
            f"execution {execution_id} of {name} ended {_state(execution)}{_failed_task(execution)}",
            f"read its logs at {link}/logs",
        )
    return execution, smoke.clock() - start


def run_getting_started(smoke: Smoke) -> str:
    flow = smoke.flow(GETTING_STARTED)
    execution, seconds = execute(smoke, flow, {})
    return f"{flow.flow_id}: execution {execution['id']} SUCCESS in {seconds:.0f}s"


def _reported_rows(execution: Mapping[str, Any]) -> int | None:
    """The rowCount output of the execution's COPY task (copy_in), when Kestra shows outputs."""
    counts = [
        outputs["rowCount"]
        for task_run in execution.get("taskRunList") or []
        if isinstance(outputs := task_run.get("outputs"), dict) and isinstance(outputs.get("rowCount"), int)
    ]
    return counts[0] if len(counts) == 1 else None


def _load_month(smoke: Smoke) -> tuple[dict[str, Any], float, Month, FlowFile]:
    flow = smoke.flow(TAXI_FLOW)
    execution, seconds = execute(smoke, flow, TAXI_INPUTS)
    return execution, seconds, smoke.read_month(), flow


def _table() -> str:
    return ".".join(TAXI_TABLE)


def _month_label() -> str:
    return f"{TAXI_INPUTS['taxi']} {TAXI_INPUTS['year']}-{TAXI_INPUTS['month']}"


def load_taxi_month(smoke: Smoke) -> str:
    execution, seconds, month, flow = _load_month(smoke)
    reported = _reported_rows(execution)
    expected = reported if reported is not None else EXPECTED_GREEN_2019_01_ROWS
    source = "as the execution's COPY reported" if reported is not None else "the published file's rows"
    if month.rows != expected:
        raise StepFailed(
            f"{_table()} holds {month.rows} rows of {TAXI_FILE} after execution {execution['id']}, "
            f"expected {expected} ({source})",
            f"read the execution's logs at {smoke.execution_link(flow, str(execution['id']))}/logs",
        )
    smoke.first_load, smoke.first_execution = month, str(execution["id"])
    return (
        f"{flow.flow_id} {_month_label()}: execution {execution['id']} SUCCESS in {seconds:.0f}s; "
        f"{_table()} holds {month.rows} rows of {TAXI_FILE} ({source})"
    )


def reload_taxi_month(smoke: Smoke) -> str:
    first = smoke.first_load
    assert first is not None, "needs the first load"
    execution, seconds, month, flow = _load_month(smoke)
    ids = f"executions {smoke.first_execution} and {execution['id']}"
    fix = f"the month's load is not repeatable: compare the logs of {ids} in {smoke.kestra.url}"
    if month.rows != first.rows:
        raise StepFailed(f"loading {_month_label()} again left {month.rows} rows, the first load {first.rows}", fix)
    if month.digest != first.digest:
        raise StepFailed(
            f"loading {_month_label()} again left {month.rows} rows as before but other unique_row_id values "
            f"(md5 {month.digest[:12]}…, first load {first.digest[:12]}…)",
            fix,
        )
    return (
        f"{flow.flow_id} {_month_label()} again: execution {execution['id']} SUCCESS in {seconds:.0f}s; "
        f"the same {month.rows} rows (same unique_row_id values)"
    )


STEPS: tuple[Step, ...] = (
    Step("kestra", "Kestra login", check_login),
    Step("flows", "Flows in Kestra", check_flows, ("kestra",)),
    Step("kv", "KV values", check_kv, ("kestra",)),
    Step("getting_started", "Getting-started flow", run_getting_started, ("flows",)),
    Step("taxi", f"Taxi month {_month_label()}", load_taxi_month, ("flows", "kv")),
    Step("taxi_again", f"Taxi month {_month_label()} again", reload_taxi_month, ("taxi",)),
)


def run_smoke(smoke: Smoke, out: TextIO, steps: Sequence[Step] = STEPS) -> int:
    """Run the steps, one line each; the number of failed steps."""
    titles = {step.key: step.title for step in steps}
    passed: set[str] = set()
    failed = skipped = 0
    live = out.isatty()
    for step in steps:
        missing = [titles[key] for key in step.needs if key not in passed]
        if missing:
            skipped += 1
            print(f"  - {step.title}: skipped ({', '.join(missing)} did not pass)", file=out, flush=True)
            continue
        if live:
            print(f"  … {step.title}", end="\r", file=out, flush=True)
        try:
            line = f"✓ {step.run(smoke)}"
            passed.add(step.key)
        except StepFailed as failure:
            failed += 1
            line = f"✗ {failure.problem} — {failure.fix}"
        except BundleError as error:  # Kestra went away, or answered something unexpected, mid-step
            failed += 1
            line = f"✗ {step.title}: {error} — fix that, then run make smoke again"
        print(("\033[K" if live else "") + f"  {line}", file=out, flush=True)
    if failed:
        print(f"{failed} of {len(steps)} checks failed, {skipped} skipped.", file=out)
    else:
        print(f"All {len(steps)} checks passed.", file=out)
    return failed


def where_to_look(settings: Settings, credentials: Path = CREDENTIALS_FILE) -> str:
    local = settings.local
    try:
        secrets = str(credentials.relative_to(PROJECT_ROOT))
    except ValueError:
        secrets = str(credentials)
    schema, table = TAXI_TABLE
    query = f"SELECT filename, count(*) FROM {schema}.{table} GROUP BY filename"
    return "\n".join(
        [
            "Look next:",
            f"  Kestra UI   {local.kestra_url} (user {settings.kestra.username}, "
            f"password TF_VAR_kestra_password in {secrets})",
            f"  Taxi data   psql -h {local.data_pg_host} -p {local.data_pg_port} -U {local.data_db_user} "
            f'-d {local.data_db_name} -c "{query}"',
            f"              (password TF_VAR_zoomcamp_db_password in {secrets})",
        ]
    )


def postgres_month_reader(settings: Settings, credentials: Path = CREDENTIALS_FILE) -> MonthReader:
    """Reads the smoke month from the data PostgreSQL on the published port, as psql would."""
    local = settings.local
    where = f"{local.data_db_name} at {local.data_pg_host}:{local.data_pg_port}"

    def read() -> Month:
        import psycopg
        from psycopg import sql

        try:
            password = read_credentials(credentials)["zoomcamp_db_password"]
        except (OSError, KeyError):
            raise StepFailed(
                f"no zoomcamp_db_password in {credentials}", "deploy the stack first: make deploy-local"
            ) from None
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(unique_row_id, ',' ORDER BY unique_row_id), '')) "
            "FROM {} WHERE filename = %s"
        ).format(sql.Identifier(*TAXI_TABLE))
        try:
            with psycopg.connect(
                host=local.data_pg_host,
                port=local.data_pg_port,
                dbname=local.data_db_name,
                user=local.data_db_user,
                password=password,
                connect_timeout=10,
            ) as connection:
                rows, digest = connection.execute(query, (TAXI_FILE,)).fetchone() or (0, "")
        except psycopg.errors.UndefinedTable:
            raise StepFailed(
                f"{_table()} does not exist in {where}", "the flow did not create it: read its execution's logs"
            ) from None
        except psycopg.Error as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StepFailed(
                f"cannot read {_table()} in {where} ({reason})",
                f"is the {local.prefix}-postgres container running? (docker ps; make deploy-local)",
            ) from None
        return Month(int(rows), str(digest))

    return read


def main(
    argv: list[str] | None = None,
    out: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    credentials: Path = CREDENTIALS_FILE,
    read_month: MonthReader | None = None,
) -> int:
    parser = CommandLine(prog="make smoke", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for each execution (default {DEFAULT_TIMEOUT:.0f})",
    )
    args = parser.parse_args(argv)
    out = out or sys.stdout
    env = os.environ if env is None else env
    settings = Settings.from_env(env)
    reader = read_month or postgres_month_reader(settings, credentials)
    smoke = Smoke(settings, reader, credentials=credentials, timeout=args.timeout)
    print(f"==> Checking the local stack at {settings.local.kestra_url} as a learner would", file=out)
    failed = run_smoke(smoke, out)
    print("", file=out)
    print(where_to_look(settings, credentials), file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
