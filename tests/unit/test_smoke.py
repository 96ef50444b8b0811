"""`make smoke` against a fake Kestra API and a fake taxi database: its logic, line by line.

What only a real Docker can prove (Kestra really running the flows, the real green 2019-01 file
loaded) is the end-to-end workflow's job (.github/workflows/e2e.yml). Here Kestra is the fake
of tests/support/fakes.py (FlowController, KVController and ExecutionController as Kestra 1.x answers
them) and the data PostgreSQL a dict the fake "flow" writes to; the SQL that reads a month is
proven once on the real PostgreSQL of tests/support/postgres_server.py.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from flowcheck.flow_catalog import load_flow_catalog
from ops.smoke import (
    EXPECTED_GREEN_2019_01_ROWS,
    GETTING_STARTED,
    STEPS,
    TAXI_FILE,
    TAXI_FLOW,
    Month,
    Smoke,
    StepFailed,
    main,
    postgres_month_reader,
    run_smoke,
)
from stacks.local.kv import local_kv_values
from stacks.settings import Settings
from stacks.versions import KESTRA_VERSION
from tests.support.fakes import FakeKestraState, fake_kestra_api, free_port
from tests.support.postgres_server import PostgresServer

USER, PASSWORD = "admin@example.com", "Secret123pass"
ROWS = EXPECTED_GREEN_2019_01_ROWS
CATALOG = load_flow_catalog(Settings.from_env({}).flows_dir)  # what `make deploy-local` ships, as Kestra holds it
DEPLOYED = {flow.flow_id: flow.editable_content for flow in CATALOG}
STARTER, TAXI = GETTING_STARTED, TAXI_FLOW  # the ids Kestra holds the smoke's two flows under


@dataclass
class Live:
    """One deployed local stack, faked: Kestra's state, the taxi database, and how to reach them."""

    kestra: FakeKestraState
    env: dict[str, str]
    credentials: Path
    months: dict[str, Month] = field(default_factory=dict)  # filename -> what the database holds
    loads: int = 0

    def read_month(self) -> Month:
        return self.months.get(TAXI_FILE, Month(0, ""))

    def smoke(self, **options: Any) -> Smoke:
        settings = Settings.from_env(self.env)
        return Smoke(settings, self.read_month, credentials=self.credentials, sleep=lambda _: None, **options)

    def run(self, **options: Any) -> tuple[int, list[str]]:
        out = io.StringIO()
        failed = run_smoke(self.smoke(**options), out)
        return failed, out.getvalue().splitlines()


def load_month(live: Live, rows: int = ROWS, digest: str = "d41d8cd98f00b204e9800998ecf8427e") -> dict[str, Any]:
    """What 04_postgres_taxi does to the database, and what its execution reports."""
    live.loads += 1
    live.months[TAXI_FILE] = Month(rows, digest)
    copy_in = {"taskId": "copy_in", "state": {"current": "SUCCESS"}, "outputs": {"rowCount": ROWS}}
    return {"state": "SUCCESS", "taskRunList": [copy_in]}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """Kestra as `make deploy-local` leaves it: every flow of flows/, the stack's KV values."""
    settings = Settings.from_env({})
    state = FakeKestraState(
        USER,
        PASSWORD,
        flows=dict(DEPLOYED),
        kv={key: value for key, (value, _) in local_kv_values(settings).items()},
    )
    credentials = tmp_path / "local.env"
    credentials.write_text(f"TF_VAR_kestra_password='{PASSWORD}'\nTF_VAR_zoomcamp_db_password='Db123pass'\n")
    with fake_kestra_api(state) as url:
        live = Live(state, {"KESTRA_PORT": str(urlsplit(url).port)}, credentials)
        state.finish = lambda flow_id, inputs: load_month(live) if flow_id == TAXI else {"state": "SUCCESS"}
        yield live


def marks(lines: list[str]) -> str:
    """The step lines' marks in order, e.g. '✓✓✗---'."""
    return "".join(line.strip()[0] for line in lines if line.startswith("  "))


def test_all_good_is_six_ticks_and_exit_code_0(live: Live) -> None:
    out = io.StringIO()
    code = main([], out, live.env, live.credentials, live.read_month)
    lines = out.getvalue().splitlines()
    assert code == 0, out.getvalue()
    assert marks(lines[1:7]) == "✓" * len(STEPS) == "✓✓✓✓✓✓"
    assert "All 6 checks passed." in lines
    assert live.kestra.started == [
        (STARTER, {}),
        (TAXI, {"taxi": "green", "year": "2019", "month": "01"}),
        (TAXI, {"taxi": "green", "year": "2019", "month": "01"}),
    ]
    text = out.getvalue()
    assert (
        f"✓ Kestra {KESTRA_VERSION} answers at http://localhost:{live.env['KESTRA_PORT']}; {USER} is logged in" in text
    )
    assert f"✓ all {len(CATALOG)} flows the stack ships (flows/) are in Kestra (namespace zoomcamp)" in text
    assert "✓ the 4 KV values of the local stack are set in namespace zoomcamp" in text
    assert f"public.green_tripdata holds {ROWS} rows of {TAXI_FILE} (as the execution's COPY reported)" in text
    assert f"the same {ROWS} rows (same unique_row_id values)" in text
    # where the learner looks next
    port = live.env["KESTRA_PORT"]
    assert f"  Kestra UI   http://localhost:{port} (user {USER}, password TF_VAR_kestra_password in " in text
    assert "psql -h 127.0.0.1 -p 5432 -U zoomcamp -d ny_taxi -c" in text


def test_kestra_down_is_one_cross_with_the_fix_and_the_rest_skipped(live: Live) -> None:
    out = io.StringIO()
    env = {**live.env, "KESTRA_PORT": str(free_port())}
    assert main([], out, env, live.credentials, live.read_month) == 1
    lines = out.getvalue().splitlines()
    (cross,) = [line for line in lines if "✗" in line]
    assert cross == (
        f"  ✗ Kestra does not answer at http://localhost:{env['KESTRA_PORT']} (connection refused) — "
        "start the stack with make deploy-local; if it is deployed, read `docker logs zoomcamp-kestra`"
    )
    assert marks(lines[1:7]) == "✗-----"
    assert "  - Flows in Kestra: skipped (Kestra login did not pass)" in lines
    assert "1 of 6 checks failed, 5 skipped." in lines
    assert "Look next:" in lines  # still says where to look
    assert live.kestra.started == []


def test_a_wrong_password_is_one_cross_naming_the_login(live: Live) -> None:
    live.kestra.password = "Other123pass"
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✗-----"
    assert lines[0].startswith(f"  ✗ Kestra at http://localhost:{live.env['KESTRA_PORT']} refuses the login {USER} — ")
    assert "check KESTRA_USERNAME and TF_VAR_kestra_password in .secrets/local.env: Kestra saves" in lines[0]


def test_a_login_kestra_never_saved_is_one_cross_in_kestras_words(live: Live) -> None:
    """Kestra starts with a pair that breaks its rule, saves no login and answers 401 to everything."""
    error = "Invalid username for Basic Authentication. Please provide a valid email address."
    live.kestra.login_saved, live.kestra.validation_errors = False, [error]
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✗-----"
    assert lines[0] == (
        f"  ✗ Kestra at http://localhost:{live.env['KESTRA_PORT']} did not save the basic-auth login ({error}) — "
        "fix KESTRA_USERNAME / TF_VAR_kestra_password in .secrets/local.env to pass Kestra 1.3's basic-auth rule "
        "and run make deploy-local"
    )


def test_a_never_deployed_checkout_says_deploy_first(live: Live, tmp_path: Path) -> None:
    smoke = live.smoke()
    smoke.credentials = tmp_path / "missing.env"
    out = io.StringIO()
    assert run_smoke(smoke, out) == 1
    assert out.getvalue().splitlines()[0].endswith("— deploy the stack first: make deploy-local")


def test_a_failed_execution_names_its_id_state_and_task(live: Live) -> None:
    def finish(flow_id: str, inputs: dict[str, str]) -> dict[str, Any]:
        if flow_id == STARTER:
            return {"state": "FAILED", "taskRunList": [{"taskId": "transform", "state": {"current": "FAILED"}}]}
        return load_month(live)

    live.kestra.finish = finish
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✓✓✓✗✓✓"  # the taxi month does not need the getting-started flow
    (execution_id,) = [i for i, e in live.kestra.executions.items() if e["flowId"] == STARTER]
    port = live.env["KESTRA_PORT"]
    assert lines[3] == (
        f"  ✗ execution {execution_id} of zoomcamp.{STARTER} ended FAILED (task transform FAILED) — "
        f"read its logs at http://localhost:{port}/ui/main/executions/zoomcamp/{STARTER}/{execution_id}/logs"
    )


def test_a_failed_month_load_skips_the_rerun(live: Live) -> None:
    live.kestra.finish = lambda flow_id, inputs: {"state": "FAILED" if flow_id == TAXI else "SUCCESS"}
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✓✓✓✓✗-"
    assert " ended FAILED — read its logs at " in lines[4]
    assert lines[5] == "  - Taxi month green 2019-01 again: skipped (Taxi month green 2019-01 did not pass)"


def test_a_row_count_that_differs_on_rerun_is_a_cross(live: Live) -> None:
    live.kestra.finish = lambda flow_id, inputs: (
        load_month(live, rows=ROWS if live.loads == 0 else ROWS + 1) if flow_id == TAXI else {"state": "SUCCESS"}
    )
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✓✓✓✓✓✗"
    first, second = [i for i, e in live.kestra.executions.items() if e["flowId"] == TAXI]
    assert lines[5] == (
        f"  ✗ loading green 2019-01 again left {ROWS + 1} rows, the first load {ROWS} — the month's load is not "
        f"repeatable: compare the logs of executions {first} and {second} in http://localhost:{live.env['KESTRA_PORT']}"
    )


def test_the_same_count_with_other_rows_on_rerun_is_a_cross(live: Live) -> None:
    live.kestra.finish = lambda flow_id, inputs: (
        load_month(live, digest=f"{live.loads:032x}") if flow_id == TAXI else {"state": "SUCCESS"}
    )
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✓✓✓✓✓✗"
    assert f"left {ROWS} rows as before but other unique_row_id values" in lines[5]


def test_rows_other_than_the_execution_reported_are_a_cross(live: Live) -> None:
    live.kestra.finish = lambda flow_id, inputs: (
        load_month(live, rows=ROWS - 5) if flow_id == TAXI else {"state": "SUCCESS"}
    )
    failed, lines = live.run()
    assert failed == 1 and marks(lines) == "✓✓✓✓✗-"
    assert f"holds {ROWS - 5} rows of {TAXI_FILE} after execution " in lines[4]
    assert f"expected {ROWS} (as the execution's COPY reported)" in lines[4]


def test_without_a_reported_count_the_published_files_count_is_expected(live: Live) -> None:
    def finish(flow_id: str, inputs: dict[str, str]) -> dict[str, Any]:
        if flow_id == TAXI:
            live.months[TAXI_FILE] = Month(ROWS, "d41d8cd98f00b204e9800998ecf8427e")
        return {"state": "SUCCESS"}

    live.kestra.finish = finish
    failed, lines = live.run()
    assert failed == 0
    assert f"holds {ROWS} rows of {TAXI_FILE} (the published file's rows)" in lines[4]


def test_missing_flows_and_kv_values_are_named_and_the_runs_skipped(live: Live) -> None:
    del live.kestra.flows[TAXI]
    del live.kestra.kv["ZOOMCAMP_PG_URL"]
    live.kestra.kv["ZOOMCAMP_PG_USER"] = "postgres"
    failed, lines = live.run()
    assert failed == 2 and marks(lines) == "✓✗✗---"
    assert lines[1] == (
        f"  ✗ 1 of the {len(CATALOG)} flows the stack ships (flows/) are not in Kestra: zoomcamp.{TAXI} — "
        "run make deploy-local (it ships them again)"
    )
    assert lines[2] == (
        "  ✗ KV values of namespace zoomcamp: ZOOMCAMP_PG_URL is missing; ZOOMCAMP_PG_USER is 'postgres', "
        "the stack sets 'zoomcamp' — run make deploy-local (it sets them again)"
    )


def test_an_execution_that_never_ends_hits_the_time_limit(live: Live) -> None:
    live.kestra.polls = 10**6
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 60

    smoke = live.smoke(timeout=300)
    smoke.clock, smoke.sleep = (lambda: now[0]), sleep
    out = io.StringIO()
    run_smoke(smoke, out, STEPS[:4])
    cross = out.getvalue().splitlines()[3]
    assert cross.startswith(f"  ✗ execution 7smoke0XyZ of zoomcamp.{STARTER} is still RUNNING after 300s — ")
    assert cross.endswith("give it longer with make smoke SMOKE_TIMEOUT=600")


def test_the_month_is_read_with_count_and_md5_of_the_ordered_row_ids(postgres: PostgresServer, tmp_path: Path) -> None:
    """The reader's SQL on a real PostgreSQL (the suite's shared server, a database of its own)."""
    name = f"smoke_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    env = {"ZOOMCAMP_PG_PORT": str(postgres.port), "ZOOMCAMP_PG_USER": "postgres", "ZOOMCAMP_PG_DB": name}
    credentials = tmp_path / "local.env"
    credentials.write_text("TF_VAR_zoomcamp_db_password='unused'\n")
    read = postgres_month_reader(Settings.from_env(env), credentials)
    try:
        with pytest.raises(StepFailed, match=rf"^public\.green_tripdata does not exist in {name} at 127\.0\.0\.1:"):
            read()
        ids = ["b" * 32, "a" * 32, "a" * 32, "c" * 32]  # every row of the file is kept, duplicates too
        with psycopg.connect(postgres.dsn.replace("dbname=postgres", f"dbname={name}"), autocommit=True) as db:
            db.execute("CREATE TABLE public.green_tripdata (unique_row_id text, filename text)")
            with db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO public.green_tripdata VALUES (%s, %s)",
                    [(i, TAXI_FILE) for i in ids] + [("d" * 32, "green_tripdata_2019-02.csv")],
                )
        assert read() == Month(4, hashlib.md5(",".join(sorted(ids)).encode()).hexdigest())
    finally:
        with psycopg.connect(postgres.dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    with pytest.raises(StepFailed, match=rf"^cannot read public\.green_tripdata in {name} at 127\.0\.0\.1:\d+ \("):
        read()  # the database is gone
