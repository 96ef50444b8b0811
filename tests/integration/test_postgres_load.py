"""04_postgres_taxi on a real PostgreSQL: the flow's own shell and SQL, on generated months.

Every command and statement comes from flows/04_postgres_taxi.yaml rendered by tests/support/flow_sql.py
with the inputs Kestra would pass; the data are TLC-shaped files from tests/support/tlc_data.py (empty
fields, exact duplicate rows, trips from other months). What is proven: row counts equal the files'
data rows, the hash is the course's md5 of the loaded values, reruns change nothing, months
accumulate, a bad download or a failure at any step leaves the table exactly as it was, and the
course's own statements still run on the tables our flow made.
"""

from __future__ import annotations

import csv
import gzip
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.flow_sql import TaskFailed, context, flow, load_month, render, split_statements, task
from tests.support.postgres_server import PostgresServer
from tests.support.tlc_data import COLUMNS, TlcMonth, html_instead_of_gzip, rewrite_lines, truncated_copy, write_month

COURSE_HASH = {
    taxi: (
        f"md5(COALESCE(CAST(VendorID AS text), '') || COALESCE(CAST({p}_pickup_datetime AS text), '') || "
        f"COALESCE(CAST({p}_dropoff_datetime AS text), '') || COALESCE(PULocationID, '') || "
        f"COALESCE(DOLocationID, '') || COALESCE(CAST(fare_amount AS text), '') || "
        f"COALESCE(CAST(trip_distance AS text), ''))"
    )
    for taxi, p in (("yellow", "tpep"), ("green", "lpep"))
}


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlcMonth]:
    folder = tmp_path_factory.mktemp("tlc")
    return {
        "yellow_01": write_month(folder / "a", "yellow", 2019, 1, rows=400, duplicates=5),
        "yellow_02": write_month(folder / "b", "yellow", 2019, 2, rows=300, duplicates=2),
        "green_01": write_month(folder / "c", "green", 2019, 1, rows=250, duplicates=3),
        "yellow_2021_07": write_month(folder / "d", "yellow", 2021, 7, rows=50),
    }


@pytest.fixture
def db(postgres: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """A fresh database per test on the shared server (the flow writes to public.*)."""
    name = f"flows_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    dsn = postgres.dsn.replace("dbname=postgres", f"dbname={name}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def snapshot(conn: psycopg.Connection[Any], taxi: str = "yellow") -> tuple[Any, ...]:
    """Everything a learner could see of the table: its rows and a digest of all values."""
    table = f"{taxi}_tripdata"
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()[0]  # type: ignore[index]
    if not exists:
        return ("absent",)
    return conn.execute(  # type: ignore[return-value]
        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM public.{table} AS t"
    ).fetchone()


def csv_rows(month: TlcMonth) -> list[list[str]]:
    with gzip.open(month.path, "rt", encoding="utf-8", newline="") as source:
        return list(csv.reader(source))[1:]


# ---- loading ----------------------------------------------------------------------------------


def test_a_month_loads_every_row_with_the_course_hash_and_filename(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    month = months["yellow_01"]
    result = load_month(db, "yellow", 2019, 1, month.path)
    assert result.rows == month.data_rows == 405
    count, files, distinct, wrong_hash = db.execute(
        f"SELECT count(*), count(DISTINCT filename), count(DISTINCT unique_row_id), "
        f"count(*) FILTER (WHERE unique_row_id IS DISTINCT FROM {COURSE_HASH['yellow']}) FROM yellow_tripdata"
    ).fetchone()  # type: ignore[misc]
    assert count == 405, "every data row is kept, the 5 exact duplicates too"
    assert files == 1 and distinct == 400
    assert wrong_hash == 0, "unique_row_id must equal the course's md5 over the loaded values"
    assert db.execute("SELECT DISTINCT filename FROM yellow_tripdata").fetchone() == ("yellow_tripdata_2019-01.csv",)


def test_the_tables_are_the_course_s_plain_tables_and_staging_stays_for_the_video(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    load_month(db, "yellow", 2019, 1, months["yellow_01"].path)
    kinds = dict(
        db.execute(
            "SELECT relname, relkind::text || relpersistence::text FROM pg_class "
            "WHERE relname IN ('yellow_tripdata', 'yellow_tripdata_staging')"
        ).fetchall()
    )
    assert kinds == {"yellow_tripdata": "rp", "yellow_tripdata_staging": "ru"}, "plain; staging unlogged"
    columns = db.execute(
        "SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = 'public.yellow_tripdata'::regclass AND attnum > 0 AND NOT attisdropped"
    ).fetchone()[0]  # type: ignore[index]
    assert columns[:4] == [
        "unique_row_id text",
        "filename text",
        "vendorid text",
        "tpep_pickup_datetime timestamp without time zone",
    ]
    assert [c.split()[0] for c in columns[2:]] == [c.lower() for c in COLUMNS["yellow"]]
    assert db.execute("SELECT count(*) FROM public.yellow_tripdata_staging").fetchone() == (405,)


def test_every_column_lands_in_its_place_with_empty_fields_as_null(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    for taxi, key in (("yellow", "yellow_01"), ("green", "green_01")):
        month = months[key]
        load_month(db, taxi, 2019, 1, month.path)
        rows = csv_rows(month)
        names = COLUMNS[taxi]
        for index, name in enumerate(names):
            empties = sum(1 for r in rows if r[index] == "")
            nulls = db.execute(f"SELECT count(*) FILTER (WHERE {name} IS NULL) FROM {taxi}_tripdata").fetchone()[0]  # type: ignore[index]
            assert nulls == empties, f"{taxi}.{name}: {nulls} NULLs in the table, {empties} empty fields in the file"
        assert any(r[names.index("passenger_count")] == "" for r in rows), "the data must include empty fields"
        fare = names.index("fare_amount")
        expected_sum = sum(Decimal(r[fare]) for r in rows if r[fare])
        assert db.execute(f"SELECT sum(fare_amount::numeric) FROM {taxi}_tripdata").fetchone()[0] == expected_sum
        first = rows[0]
        as_text = ", ".join(f"coalesce(CAST({n} AS text), '')" for n in names)
        match = db.execute(
            f"SELECT {as_text} FROM {taxi}_tripdata WHERE unique_row_id = {COURSE_HASH[taxi]} "
            f"AND {names[1]} = %s AND PULocationID = %s AND DOLocationID = %s LIMIT 1",
            (first[1], first[names.index("PULocationID")], first[names.index("DOLocationID")]),
        ).fetchone()
        assert list(match) == first, f"{taxi}: the first trip of the file reads back unchanged"  # type: ignore[arg-type]


def test_loading_a_month_twice_gives_the_same_rows(db: psycopg.Connection[Any], months: dict[str, TlcMonth]) -> None:
    month = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, month.path)
    first = snapshot(db)
    load_month(db, "yellow", 2019, 1, month.path)
    assert snapshot(db) == first
    assert first[0] == month.data_rows


def test_months_accumulate_and_each_keeps_its_own_rows(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    january, february = months["yellow_01"], months["yellow_02"]
    load_month(db, "yellow", 2019, 1, january.path)
    load_month(db, "yellow", 2019, 2, february.path)
    load_month(db, "yellow", 2019, 1, january.path)  # a rerun of January leaves February alone
    per_file = dict(db.execute("SELECT filename, count(*) FROM yellow_tripdata GROUP BY filename").fetchall())
    assert per_file == {
        "yellow_tripdata_2019-01.csv": january.data_rows,
        "yellow_tripdata_2019-02.csv": february.data_rows,
    }
    load_month(db, "green", 2019, 1, months["green_01"].path)
    assert db.execute("SELECT count(*) FROM green_tripdata").fetchone() == (months["green_01"].data_rows,)
    assert db.execute("SELECT count(*) FROM yellow_tripdata").fetchone() == (january.data_rows + february.data_rows,)


def test_replacing_a_month_finds_its_rows_by_the_filename_index(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    """What keeps a load flat as the table grows: the DELETE of the month reads only its rows."""
    load_month(db, "yellow", 2019, 1, months["yellow_01"].path)
    load_month(db, "yellow", 2019, 2, months["yellow_02"].path)
    db.execute("ANALYZE public.yellow_tripdata")
    document = flow("04_postgres_taxi")
    ctx = context(document, {"taxi": "yellow", "year": "2019", "month": "01"})
    delete = render(task(document, "yellow_merge_data")["sql"], ctx).split(";")[0]
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")  # a few hundred rows: make the planner show its choice
        plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {delete}").fetchall())  # type: ignore[call-overload]
    assert "yellow_tripdata_filename" in plan, plan


# ---- failures leave the target as it was ------------------------------------------------------------


def _bad_file(kind: str, good: TlcMonth, folder: Path) -> tuple[Path, str, str]:
    """A damaged download, the task that refuses it and what its message says."""
    target = folder / "yellow_tripdata_2019-01.csv.gz"
    copy_in = "yellow_copy_in_to_staging_table"
    if kind == "truncated":
        return truncated_copy(good.path, target, 0.5), "extract", ".csv.gz is truncated or not gzip data"
    if kind == "not_gzip":
        return html_instead_of_gzip(target), "extract", ".csv.gz is truncated or not gzip data"
    if kind == "wrong_header":
        green = rewrite_lines(good.path, target, {1: ",".join(COLUMNS["green"])})
        return green, "extract", ".csv.gz line 1 is not the yellow taxi header (is the taxi input right?)"
    if kind == "header_only":
        target.write_bytes(gzip.compress((",".join(COLUMNS["yellow"]) + "\n").encode()))
        return target, "extract", ".csv.gz has a header but no trips"
    if kind == "short_row":
        line = ",".join(csv_rows(good)[10][:17])
        return rewrite_lines(good.path, target, {12: line}), copy_in, 'missing data for column "congestion_surcharge"'
    if kind == "long_row":
        line = ",".join(csv_rows(good)[10] + ["1"])
        return rewrite_lines(good.path, target, {12: line}), copy_in, "extra data after last expected column"
    if kind == "bad_number":
        row = csv_rows(good)[20]
        row[COLUMNS["yellow"].index("fare_amount")] = "abc"
        bad = rewrite_lines(good.path, target, {22: ",".join(row)})
        return bad, copy_in, 'invalid input syntax for type double precision: "abc"'
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["truncated", "not_gzip", "wrong_header", "header_only", "short_row", "long_row", "bad_number"]
)
def test_a_bad_download_is_refused_and_the_loaded_month_is_unchanged(
    kind: str, db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)
    bad, task_id, message = _bad_file(kind, good, tmp_path)
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, bad)
    assert failure.value.task_id == task_id
    assert message in failure.value.message
    if task_id == "extract":  # the flow's own line comes last (after gunzip's, if any)
        last = failure.value.message.splitlines()[-1]
        assert message in last and "yellow_tripdata_2019-01.csv.gz" in last, "one line naming the file"
    else:
        line = 22 if kind == "bad_number" else 12
        assert f"COPY yellow_tripdata_staging, line {line}" in failure.value.message, "COPY names the line"
    assert snapshot(db) == before
    load_month(db, "yellow", 2019, 1, good.path)  # the next good run is not blocked by what was left
    assert snapshot(db) == before


def test_a_failure_inside_the_replace_rolls_back_to_the_previous_month(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)

    def break_insert(task_id: str, conn: psycopg.Connection[Any]) -> None:
        if task_id == "yellow_merge_data":  # the DELETE succeeds, then the INSERT fails: all must roll back
            conn.execute("ALTER TABLE public.yellow_tripdata_staging DROP COLUMN fare_amount")

    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, good.path, on_task=break_insert)
    assert failure.value.task_id == "yellow_merge_data" and "fare_amount" in failure.value.message
    assert snapshot(db) == before


def test_postgresql_older_than_15_is_refused_with_a_clear_message(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    """current_setting() is shadowed to report 14.9 (pg_catalog placed after our schema)."""
    db.execute("CREATE SCHEMA fake_old")
    db.execute(
        "CREATE FUNCTION fake_old.current_setting(name text) RETURNS text LANGUAGE sql AS "
        "$$ SELECT CASE name WHEN 'server_version_num' THEN '140009' WHEN 'server_version' THEN '14.9' "
        "ELSE pg_catalog.current_setting(name) END $$"
    )
    db.execute("SET search_path = fake_old, pg_catalog, public")
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, months["yellow_01"].path)
    assert failure.value.task_id == "yellow_create_table"
    assert "need PostgreSQL 15 or newer and this server is 14.9" in failure.value.message
    assert db.execute("SELECT to_regclass('public.yellow_tripdata')").fetchone() == (None,)


# ---- the month range -------------------------------------------------------------------------------


def test_months_after_2021_07_are_refused_in_one_line(db: psycopg.Connection[Any], months: dict[str, TlcMonth]) -> None:
    """The scheduled flow reaches any month; a month the releases do not have fails before the download."""

    def scheduled(year: int, month: int) -> Any:
        trigger = {"date": datetime(year, month, 1, 10)}
        path = months["yellow_2021_07"].path
        return load_month(db, "yellow", year, month, path, flow_name="05_postgres_taxi_scheduled", trigger=trigger)

    with pytest.raises(TaskFailed) as failure:
        scheduled(2021, 8)
    assert failure.value.task_id == "extract"
    assert failure.value.message == "2021-08 is not published, the nyc-tlc-data releases stop at 2021-07"
    assert snapshot(db) == ("absent",)
    assert scheduled(2021, 7).rows == 50


# ---- the course's own flow on our tables -----------------------------------------------------------

# The course's 04_postgres_taxi, yellow branch, as its steps run (its SQL, typed here; the tables
# already exist, so its CREATE TABLE IF NOT EXISTS statements do nothing).
COURSE_STEPS = [
    "TRUNCATE TABLE public.yellow_tripdata_staging",
    "COPY public.yellow_tripdata_staging ({columns}) FROM STDIN WITH (FORMAT CSV, HEADER TRUE)",
    """UPDATE public.yellow_tripdata_staging
       SET unique_row_id = md5(
             COALESCE(CAST(VendorID AS text), '') || COALESCE(CAST(tpep_pickup_datetime AS text), '') ||
             COALESCE(CAST(tpep_dropoff_datetime AS text), '') || COALESCE(PULocationID, '') ||
             COALESCE(DOLocationID, '') || COALESCE(CAST(fare_amount AS text), '') ||
             COALESCE(CAST(trip_distance AS text), '')),
           filename = '{file}'""",
    """MERGE INTO public.yellow_tripdata AS T
       USING public.yellow_tripdata_staging AS S
       ON T.unique_row_id = S.unique_row_id
       WHEN NOT MATCHED THEN INSERT ({all_columns}) VALUES ({source_columns})""",
]


def _run_course_flow(conn: psycopg.Connection[Any], month: TlcMonth, file: str) -> None:
    columns = COLUMNS["yellow"]
    all_columns = ["unique_row_id", "filename", *columns]
    values = {
        "columns": ", ".join(columns),
        "file": file,
        "all_columns": ", ".join(all_columns),
        "source_columns": ", ".join(f"S.{c}" for c in all_columns),
    }
    for step in COURSE_STEPS:
        statement = step.format(**values)
        if statement.startswith("COPY"):
            with conn.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[arg-type]
                copy.write(gzip.decompress(month.path.read_bytes()))
        else:
            conn.execute(statement)  # type: ignore[arg-type]


def test_the_course_s_own_flow_runs_on_the_tables_ours_made(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    january, february = months["yellow_01"], months["yellow_02"]
    load_month(db, "yellow", 2019, 1, january.path)
    _run_course_flow(db, february, "yellow_tripdata_2019-02.csv")
    per_file = dict(db.execute("SELECT filename, count(*) FROM yellow_tripdata GROUP BY filename").fetchall())
    # The course's MERGE drops a trip whose hash is already in the table: February's own exact
    # duplicates arrive in one MERGE and are all kept; none of its trips is in January.
    assert per_file == {
        "yellow_tripdata_2019-01.csv": january.data_rows,
        "yellow_tripdata_2019-02.csv": february.data_rows,
    }
    wrong = db.execute(
        f"SELECT count(*) FROM yellow_tripdata WHERE unique_row_id IS DISTINCT FROM {COURSE_HASH['yellow']}"
    )
    assert wrong.fetchone() == (0,), "both paths compute the same md5"
    _run_course_flow(db, february, "yellow_tripdata_2019-02.csv")  # the course's rerun adds nothing
    assert db.execute("SELECT count(*) FROM yellow_tripdata").fetchone() == (january.data_rows + february.data_rows,)
    load_month(db, "yellow", 2019, 2, february.path)  # and ours replaces the month the course's flow loaded
    assert db.execute("SELECT count(*) FROM yellow_tripdata").fetchone() == (january.data_rows + february.data_rows,)


def test_a_table_made_by_the_course_s_own_flow_keeps_working(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    """The course's flow creates plain tables without an index (its CREATE statements are ours without
    UNLOGGED and the index): ours loads into them, and adds the index."""
    document = flow("04_postgres_taxi")
    ctx = context(document, {"taxi": "yellow"})
    create_table = split_statements(render(task(document, "yellow_create_table")["sql"], ctx))[1]
    create_staging = render(task(document, "yellow_create_staging_table")["sql"], ctx).replace(" UNLOGGED", "")
    db.execute(create_table)  # type: ignore[arg-type]
    db.execute(create_staging)  # type: ignore[arg-type]
    db.execute(
        "INSERT INTO public.yellow_tripdata (unique_row_id, filename) VALUES ('x', 'yellow_tripdata_2019-02.csv')"
    )
    month = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, month.path)
    first = snapshot(db)
    load_month(db, "yellow", 2019, 1, month.path)
    assert snapshot(db) == first, "a rerun replaces the month, in one transaction"
    counts = dict(db.execute("SELECT filename, count(*) FROM public.yellow_tripdata GROUP BY 1").fetchall())
    assert counts == {"yellow_tripdata_2019-02.csv": 1, "yellow_tripdata_2019-01.csv": month.data_rows}
    assert db.execute("SELECT to_regclass('public.yellow_tripdata_filename')").fetchone() == (
        "yellow_tripdata_filename",
    )


# ---- files shaped differently from the releases, same trips -----------------------------------


def _gzip_text(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


def _month_text(month: TlcMonth) -> str:
    with gzip.open(month.path, "rt", encoding="utf-8", newline="") as source:
        return source.read()


@pytest.mark.parametrize("ending", ["\n", "\n\n", "\r\n", "\n  \n"])
def test_blank_lines_at_the_end_load_like_the_file_without_them(
    ending: str, db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    month = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, month.path)
    clean = snapshot(db)
    padded = _gzip_text(tmp_path / "padded.csv.gz", _month_text(month) + ending)
    load_month(db, "yellow", 2019, 1, padded)
    assert snapshot(db) == clean and clean[0] == month.data_rows


def test_a_blank_line_between_trips_is_skipped_like_one_at_the_end(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    """COPY would read a blank line as a row of NULLs and fail: extract drops blank lines, nothing else."""
    month = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, month.path)
    clean = snapshot(db)
    lines = _month_text(month).splitlines(keepends=True)
    gapped = _gzip_text(tmp_path / "gapped.csv.gz", "".join([*lines[:10], "\n", *lines[10:]]))
    load_month(db, "yellow", 2019, 1, gapped)
    assert snapshot(db) == clean


@pytest.mark.parametrize(("taxi", "key"), [("yellow", "yellow_01"), ("green", "green_01")])
def test_every_field_quoted_loads_the_same_rows_with_empty_fields_as_null(
    taxi: str, key: str, db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    """Some tools write "" for an empty field: COPY reads it as NULL (FORCE_NULL is not needed: see below)."""
    month = months[key]
    load_month(db, taxi, 2019, 1, month.path)
    plain = snapshot(db, taxi)
    header, *rows = _month_text(month).splitlines()
    quoted_rows = [",".join(f'"{field}"' for field in row.split(",")) for row in rows]
    assert any('""' in row for row in quoted_rows), "the data must include empty fields"
    quoted = _gzip_text(tmp_path / "quoted.csv.gz", "\n".join([header, *quoted_rows]) + "\n")
    load_month(db, taxi, 2019, 1, quoted)
    assert snapshot(db, taxi) == plain


# ---- the connection dies in the middle -------------------------------------------------------


def _terminate_when_waiting(dsn: str, pid: int, seen: list[str]) -> threading.Thread:
    """Kill backend `pid` once it waits on a lock: Kestra's JDBC connection dying mid-statement.
    `seen` gets the statement it was then running."""

    def kill() -> None:
        with psycopg.connect(dsn, autocommit=True) as admin:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                state = admin.execute(
                    "SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone()
                if state and state[0] == "Lock":
                    seen.append(state[1])
                    break
                time.sleep(0.02)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_connection_killed_inside_the_replace_loses_nothing(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    """Killed after the month's DELETE, while its INSERT waits: PostgreSQL rolls the replace back,
    the previous rows are all there, and the next run gives the same rows."""
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)
    dsn = db.info.dsn
    killers: list[threading.Thread] = []
    running: list[str] = []
    with psycopg.connect(dsn) as blocker:  # holds a lock the replace's INSERT needs

        def kill_inside_the_replace(task_id: str, conn: psycopg.Connection[Any]) -> None:
            if task_id == "yellow_merge_data":
                blocker.execute("LOCK TABLE public.yellow_tripdata_staging IN ACCESS EXCLUSIVE MODE")
                killers.append(_terminate_when_waiting(dsn, conn.info.backend_pid, running))

        with pytest.raises(TaskFailed) as failure:
            load_month(db, "yellow", 2019, 1, good.path, on_task=kill_inside_the_replace)
        blocker.rollback()
    killers[0].join(timeout=30)
    assert failure.value.task_id == "yellow_merge_data" and "terminat" in failure.value.message
    assert running and running[0].startswith("INSERT INTO public.yellow_tripdata"), f"not after the DELETE: {running}"
    with psycopg.connect(dsn, autocommit=True) as fresh:
        assert snapshot(fresh) == before, "the previous month is intact"
        load_month(fresh, "yellow", 2019, 1, good.path)
        assert snapshot(fresh) == before, "the rerun gives the same rows as one clean load"
