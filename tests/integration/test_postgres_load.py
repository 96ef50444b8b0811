"""04_postgres_taxi on a real PostgreSQL: the flow's own SQL and script, on generated months.

Every statement comes from flows/04_postgres_taxi.yaml rendered by tests/support/flow_sql.py with the
inputs Kestra would pass; the data are TLC-shaped files from tests/support/tlc_data.py (empty fields,
exact duplicate rows, trips from other months). What is proven: row counts equal the files'
data rows, the hash is the course's md5 of the loaded values, reruns change nothing, months
accumulate, a bad download or a failure at any step leaves the table exactly as it was.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import random
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from flowcheck import pebble
from tests.support.flow_sql import TaskFailed, flow, load_month, render, run_python_script, task
from tests.support.flow_sql import context as flow_context
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
    """Everything a learner could see of the table: rows, a digest of all values, partitions."""
    table = f"{taxi}_tripdata"
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()[0]  # type: ignore[index]
    if not exists:
        return ("absent",)
    count, digest = conn.execute(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM public.{table} AS t"
    ).fetchone()  # type: ignore[misc]
    partitions = conn.execute(
        "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        (f"public.{table}",),
    ).fetchone()[0]  # type: ignore[index]
    return count, digest, partitions


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
    assert count == 405, "every data row is kept, the 5 exact duplicates too (as the course's MERGE keeps them)"
    assert files == 1 and distinct == 400
    assert wrong_hash == 0, "unique_row_id must equal the course's md5 over the loaded values"
    assert db.execute("SELECT DISTINCT filename FROM yellow_tripdata").fetchone() == ("yellow_tripdata_2019-01.csv",)


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
    assert first[2] == "yellow_tripdata_2019_01", "one partition per month; the load table is gone"


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


def test_attach_skips_the_validation_scan(db: psycopg.Connection[Any], months: dict[str, TlcMonth]) -> None:
    """The CHECK on filename proves the partition constraint: swapping a month in is metadata only."""
    notices: list[str] = []
    db.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))

    def debug_before_swap(task_id: str, conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET client_min_messages = " + ("debug1" if task_id == "attach_month" else "notice"))

    load_month(db, "yellow", 2019, 1, months["yellow_01"].path, on_task=debug_before_swap)
    assert any("is implied by existing constraints" in n for n in notices), notices


# ---- failures leave the target as it was ------------------------------------------------------------


def _bad_file(kind: str, good: TlcMonth, folder: Path) -> tuple[Path, str]:
    target = folder / "yellow_tripdata_2019-01.csv.gz"
    if kind == "truncated":
        return truncated_copy(good.path, target, 0.5), "is truncated or corrupt after line"
    if kind == "not_gzip":
        return html_instead_of_gzip(target), "is not gzip data (it starts with b'<!DOCTYPE html>"
    if kind == "wrong_header":
        return rewrite_lines(
            good.path, target, {1: ",".join(COLUMNS["green"])}
        ), "(it is the green taxi header: wrong taxi?)"
    if kind == "short_row":
        line = ",".join(csv_rows(good)[10][:17])
        return rewrite_lines(good.path, target, {12: line}), "line 12: expected 18 comma-separated fields, found 17"
    if kind == "bad_number":
        row = csv_rows(good)[20]
        row[COLUMNS["yellow"].index("fare_amount")] = "abc"
        return rewrite_lines(good.path, target, {22: ",".join(row)}), "line 22: 'abc' is not a number"
    if kind == "header_only":
        target.write_bytes(gzip.compress((",".join(COLUMNS["yellow"]) + "\n").encode()))
        return target, "has a header but no trips"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["truncated", "not_gzip", "wrong_header", "short_row", "bad_number", "header_only"])
def test_a_bad_download_stops_before_the_table_is_touched(
    kind: str, db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)
    bad, message = _bad_file(kind, good, tmp_path)
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, bad)
    assert failure.value.task_id == "extract"
    assert "yellow_tripdata_2019-01.csv.gz" in failure.value.message, "the message names the file"
    assert message in failure.value.message
    assert failure.value.message.count("\n") == 0, "one line, no traceback"
    assert snapshot(db) == before


def test_a_row_postgres_rejects_fails_the_copy_and_changes_nothing(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    """A value the check does not parse (passenger_count '1.5') fails COPY into the month's own table."""
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)
    row = csv_rows(good)[30]
    row[COLUMNS["yellow"].index("passenger_count")] = "1.5"
    bad = rewrite_lines(good.path, tmp_path / "yellow_tripdata_2019-01.csv.gz", {32: ",".join(row)})
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, bad)
    assert failure.value.task_id == "copy_in" and "integer" in failure.value.message
    assert snapshot(db) == before
    load_month(db, "yellow", 2019, 1, good.path)  # the next good run starts from a fresh staging table
    assert snapshot(db) == before
    assert db.execute("SELECT to_regclass('public.yellow_tripdata_staging')").fetchone() == (None,)


def test_a_failure_inside_the_swap_rolls_back_to_the_previous_month(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)

    def break_attach(task_id: str, conn: psycopg.Connection[Any]) -> None:
        if task_id == "attach_month":  # DROP and RENAME succeed, then ATTACH fails: all must roll back
            conn.execute("ALTER TABLE public.yellow_tripdata_staging ADD COLUMN surprise integer")

    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, good.path, on_task=break_attach)
    assert failure.value.task_id == "attach_month" and "surprise" in failure.value.message
    assert snapshot(db) == before


def test_a_table_of_another_shape_is_reported_in_one_line(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    db.execute("CREATE TABLE public.yellow_tripdata (unique_row_id text, filename text, VendorID text, fare numeric)")
    db.execute("INSERT INTO public.yellow_tripdata VALUES ('x', 'old.csv', '1', 2)")
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, months["yellow_01"].path)
    assert failure.value.task_id == "create_tables"
    assert (
        "public.yellow_tripdata does not have the columns of the course's table (17 differ, the first: fare numeric "
        "where the course has tpep_pickup_datetime timestamp without time zone, no column where the course has "
        "tpep_dropoff_datetime timestamp without time zone, no column where the course has passenger_count integer): "
        "rename or drop it, then run this flow again." in failure.value.message
    )
    assert failure.value.message.count("\n") == 0
    assert db.execute("SELECT count(*) FROM public.yellow_tripdata").fetchone() == (1,)


def test_a_table_made_by_the_course_s_own_flow_keeps_working(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    """The course's flow creates a plain table (no partitions) and MERGEs into it: ours loads into it too."""
    course = flow_context(flow("04_postgres_taxi"), {"taxi": "yellow"})
    columns = render("{{ vars.columns[inputs.taxi] }}", course)
    db.execute(f"CREATE TABLE public.yellow_tripdata (unique_row_id text, filename text, {columns})")  # type: ignore[arg-type]
    db.execute(
        "INSERT INTO public.yellow_tripdata (unique_row_id, filename) VALUES ('x', 'yellow_tripdata_2019-02.csv')"
    )
    month = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, month.path)
    first = snapshot(db)
    load_month(db, "yellow", 2019, 1, month.path)
    assert snapshot(db) == first, "a rerun replaces the month in the plain table, in one transaction"
    counts = dict(db.execute("SELECT filename, count(*) FROM public.yellow_tripdata GROUP BY 1").fetchall())
    assert counts == {"yellow_tripdata_2019-02.csv": 1, "yellow_tripdata_2019-01.csv": month.data_rows}
    wrong = db.execute(
        f"SELECT count(*) FROM public.yellow_tripdata WHERE filename LIKE '%01.csv' "
        f"AND unique_row_id IS DISTINCT FROM {COURSE_HASH['yellow']}"
    ).fetchone()
    assert wrong == (0,)
    assert db.execute("SELECT to_regclass('public.yellow_tripdata_staging')").fetchone() == (None,)


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
    assert failure.value.task_id == "create_tables"
    assert "need PostgreSQL 15 or newer and this server is 14.9" in failure.value.message
    assert db.execute("SELECT to_regclass('public.yellow_tripdata')").fetchone() == (None,)


# ---- the month range -------------------------------------------------------------------------------


def test_months_after_2021_07_are_refused_before_any_task(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2021, 8, months["yellow_2021_07"].path)
    assert failure.value.task_id == "checks" and "stop at 2021-07" in failure.value.message
    assert load_month(db, "yellow", 2021, 7, months["yellow_2021_07"].path).rows == 50


@pytest.mark.parametrize("flow_name", ["04_postgres_taxi", "08_gcp_taxi"])
def test_the_check_and_the_fail_task_agree_on_every_selectable_month(flow_name: str) -> None:
    document = flow(flow_name)
    check = document["checks"][0]["condition"]
    fail = task(document, "check_month")
    for year, month in itertools.product(("2019", "2020", "2021"), [f"{m:02d}" for m in range(1, 13)]):
        ctx = flow_context(document, {"taxi": "green", "year": year, "month": month})
        published = (year, month) <= ("2021", "07")
        assert pebble.truthy(render(check, ctx)) is published, (year, month)
        assert pebble.truthy(render(fail["condition"], ctx)) is not published, (year, month)
        if not published:
            assert render(fail["errorMessage"], ctx).startswith(f"{year}-{month} is not published")


# ---- the Python normalisation equals PostgreSQL's own text -------------------------------------------


def _verify_functions() -> dict[str, Any]:
    document = flow("04_postgres_taxi")
    ctx = flow_context(document, {})
    namespace: dict[str, Any] = {"__name__": "extract_script"}
    exec(render(task(document, "extract")["script"], ctx), namespace)
    return namespace


NUMBERS = ["0", "7", "12.5", "12.50", "-2.5", "-0", "-0.00", "007.50", ".5", "5.", "+3", "1e2", "1.50e1", "1E-3",
           " 4.20 ", "NaN", "Infinity", "-inf", "123456789012.123456789"]  # fmt: skip
STAMPS = ["2019-01-01 00:46:40", "2019-01-01T00:46:40", "2019-01-01 00:46:40.500", "2019-01-01 00:46:40.000001",
          "2019-01-01", "2019-01-01 00:46:40+02:00", " 2019-12-31 23:59:59 "]  # fmt: skip


def test_the_script_prints_numbers_and_times_exactly_as_postgresql(db: psycopg.Connection[Any]) -> None:
    functions = _verify_functions()
    for value in NUMBERS:
        expected = db.execute("SELECT CAST(CAST(%s AS double precision) AS text)", (value,)).fetchone()[0]  # type: ignore[index]
        assert functions["pg_float8"](value.encode()).decode() == expected, value
    for value in STAMPS:
        expected = db.execute("SELECT CAST(CAST(%s AS timestamp) AS text)", (value,)).fetchone()[0]  # type: ignore[index]
        assert functions["pg_timestamp"](value.encode()).decode() == expected, value
    with pytest.raises(functions["BadFile"], match="is not a number"):
        functions["pg_float8"](b"12,5")


def test_doubles_print_as_postgresql_prints_them_over_the_whole_range(db: psycopg.Connection[Any]) -> None:
    """The course's hash reads fare and distance as double precision: its text decides the md5.
    Random doubles of every magnitude (and the edges of fixed and exponent notation) agree."""
    functions = _verify_functions()
    rng = random.Random(7)
    values = [repr(rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30)) for _ in range(20000)]
    values += [f"{m}e{e}" for m in ("1", "1.5", "9.999999") for e in range(-7, 18)]
    values += [f"{c / 100:.2f}" for c in range(-500, 20000, 7)] + ["0.1", "0.30", "2.675", "1e-5", "123456789012345"]
    printed = db.execute(
        "SELECT array_agg(CAST(CAST(v AS double precision) AS text) ORDER BY n) FROM unnest(%s::text[]) "
        "WITH ORDINALITY AS u(v, n)",
        (values,),
    ).fetchone()[0]  # type: ignore[index]
    mismatches = [
        (v, p) for v, p in zip(values, printed, strict=True) if functions["pg_float8"](v.encode()).decode() != p
    ]
    assert mismatches == [], mismatches[:10]


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


def test_a_blank_line_between_trips_is_refused(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    lines = _month_text(months["yellow_01"]).splitlines(keepends=True)
    damaged = _gzip_text(tmp_path / "damaged.csv.gz", "".join([*lines[:10], "\n", *lines[10:]]))
    with pytest.raises(TaskFailed) as failure:
        load_month(db, "yellow", 2019, 1, damaged)
    assert failure.value.task_id == "extract"
    assert "line 11: a blank line between trips" in failure.value.message
    assert snapshot(db) == ("absent",)


@pytest.mark.parametrize(("taxi", "key"), [("yellow", "yellow_01"), ("green", "green_01")])
def test_every_field_quoted_loads_the_same_rows_with_empty_fields_as_null(
    taxi: str, key: str, db: psycopg.Connection[Any], months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    """Some tools write "" for an empty field; the verify step passed such a file and COPY then failed."""
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
    `seen` gets the relations `pid` then holds exclusively (what its open transaction has done)."""

    def kill() -> None:
        with psycopg.connect(dsn, autocommit=True) as admin:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                state = admin.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
                if state and state[0] == "Lock":
                    break
                time.sleep(0.02)
            held = admin.execute(
                "SELECT relation::regclass::text FROM pg_locks WHERE pid = %s AND mode = 'AccessExclusiveLock' "
                "AND granted AND relation IS NOT NULL",
                (pid,),
            ).fetchall()
            seen.extend(name for (name,) in held)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_connection_killed_inside_the_swap_loses_nothing(
    db: psycopg.Connection[Any], months: dict[str, TlcMonth]
) -> None:
    """Killed after the old month's DROP, before its replacement is attached: PostgreSQL rolls the
    swap back, the previous rows are all there, and the next run is not blocked by the load table."""
    good = months["yellow_01"]
    load_month(db, "yellow", 2019, 1, good.path)
    before = snapshot(db)
    dsn = db.info.dsn
    killers: list[threading.Thread] = []
    held: list[str] = []
    with psycopg.connect(dsn) as blocker:  # holds a lock the swap's second statement needs

        def kill_inside_the_swap(task_id: str, conn: psycopg.Connection[Any]) -> None:
            if task_id == "attach_month":
                blocker.execute("LOCK TABLE public.yellow_tripdata_staging IN ACCESS SHARE MODE")
                killers.append(_terminate_when_waiting(dsn, conn.info.backend_pid, held))

        with pytest.raises(TaskFailed) as failure:
            load_month(db, "yellow", 2019, 1, good.path, on_task=kill_inside_the_swap)
        blocker.rollback()
    killers[0].join(timeout=30)
    assert failure.value.task_id == "attach_month" and "terminat" in failure.value.message
    assert "yellow_tripdata_2019_01" in held, f"killed before the old month was dropped: {held}"
    with psycopg.connect(dsn, autocommit=True) as fresh:
        assert snapshot(fresh) == before, "the previous month is intact"
        load_month(fresh, "yellow", 2019, 1, good.path)  # the leftover staging table does not block the rerun
        assert snapshot(fresh) == before, "the rerun gives the same rows as one clean load"
        assert fresh.execute("SELECT to_regclass('public.yellow_tripdata_staging')").fetchone() == (None,)


# ---- the extract reads in blocks, checked by several processes -----------------------------------


def _extract(source: Path, workdir: Path, **env: str) -> tuple[int, str, bytes, bytes]:
    """The flow's extract script on `source` as yellow 2019-01, with extra environment (block size, workers)."""
    document = flow("04_postgres_taxi")
    node = dict(task(document, "extract"))
    node["env"] = {**node["env"], **env}
    outputs = {"download": {"uri": "kestra:///download/file.csv.gz"}}
    ctx = flow_context(document, {"taxi": "yellow", "year": "2019", "month": "01"}, outputs=outputs)
    run = run_python_script(node, ctx, {"kestra:///download/file.csv.gz": source}, workdir)
    files = run.output_files
    load = files["load.csv"].read_bytes() if "load.csv" in files else b""
    extracted = files["yellow_tripdata_2019-01.csv"].read_bytes() if "yellow_tripdata_2019-01.csv" in files else b""
    return run.exit_code, run.stderr.strip(), extracted, load


def test_small_blocks_and_several_workers_write_the_same_files_and_name_the_same_lines(
    months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    """Blocks of 1 kB (a line cut at every boundary) checked by 3 processes give the bytes of one
    pass, and a damaged line deep in the file is named by its own number."""
    good = months["yellow_01"]
    one = _extract(good.path, tmp_path / "one", WORKERS="1")
    many = _extract(good.path, tmp_path / "many", WORKERS="3", BLOCK_BYTES="1000")
    assert one[0] == 0 and many == one
    assert many[2] == gzip.decompress(good.path.read_bytes())
    row = csv_rows(good)[300]
    short = rewrite_lines(good.path, tmp_path / "short.csv.gz", {302: ",".join(row[:17])})
    code, message, _, _ = _extract(short, tmp_path / "short", WORKERS="3", BLOCK_BYTES="1000")
    assert code == 1 and "line 302: expected 18 comma-separated fields, found 17" in message
    lines = _month_text(good).splitlines(keepends=True)
    gap = _gzip_text(tmp_path / "gap.csv.gz", "".join([*lines[:250], "\n", *lines[250:]]))
    code, message, _, _ = _extract(gap, tmp_path / "gap", WORKERS="3", BLOCK_BYTES="1000")
    assert code == 1 and "line 251: a blank line between trips" in message
