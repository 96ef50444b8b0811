"""The dbt project in dbt/, built for real: `dbt build` on PostgreSQL, `dbt compile` for BigQuery.

The raw tables are filled the way the load flow fills them (its own load SQL, run by the
flows' test helper) from generated TLC months, including the exact duplicate rows real
files contain. `dbt build` runs once; the row counts and revenue it produces are compared
with numbers computed here in Python straight from the CSV files, so a model that drops,
double-counts or rounds a trip fails. Two planted bad rows prove the tests bite: a trip in
a zone that does not exist, and a row hash that arrives from a second file.

The BigQuery target needs no network: `dbt parse` with the shipped profile as-is, and
`dbt compile` with an offline token (nothing is sent); the compiled SQL must parse as
BigQuery SQL.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlglot

from tests.support import flow_sql
from tests.support.postgres_server import PostgresServer
from tests.support.tlc_data import COLUMNS, TlcMonth, write_month

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = ROOT / "dbt"
DBT = ROOT / "tools" / "dbt" / ".venv" / "bin" / "dbt"
DATABASE = "dbt_taxi"
MODELS = ("stg_yellow_tripdata", "stg_green_tripdata", "dim_zones", "fct_trips", "mart_monthly_zone_revenue")

# (taxi, year, month, rows, exact duplicate rows): two yellow months accumulate; both
# services carry duplicates, which the load keeps and staging must drop.
MONTHS = (
    ("yellow", 2019, 1, 400, 3),
    ("yellow", 2019, 2, 250, 0),
    ("green", 2019, 1, 300, 2),
)
PICKUP = {"yellow": "tpep_pickup_datetime", "green": "lpep_pickup_datetime"}
DROPOFF = {"yellow": "tpep_dropoff_datetime", "green": "lpep_dropoff_datetime"}


# ---- loading: the flows' own SQL -----------------------------------------------------------


def load_month(conn: psycopg.Connection[Any], month: TlcMonth) -> None:
    """Load one generated month by running flows/04_postgres_taxi.yaml's own script and SQL."""
    result = flow_sql.load_month(conn, month.taxi, month.year, month.month, month.path)
    assert result.rows == month.data_rows


# ---- what the models must produce, computed from the CSV files --------------------------


@dataclass(frozen=True)
class Expected:
    trips: dict[str, int]  # valid, de-duplicated trips per taxi
    total_amount: dict[str, Decimal]
    mart_rows: int
    raw_rows: dict[str, int]


def _identity(taxi: str, row: dict[str, str]) -> tuple[str, ...]:
    """The fields the flows hash into unique_row_id: equal tuples are the same trip."""
    fields = ("VendorID", PICKUP[taxi], DROPOFF[taxi], "PULocationID", "DOLocationID", "fare_amount", "trip_distance")
    return tuple(row[field] for field in fields)


def expected_from_csv(months: list[TlcMonth]) -> Expected:
    trips: dict[str, dict[tuple[str, ...], dict[str, str]]] = {taxi: {} for taxi in COLUMNS}
    raw_rows = dict.fromkeys(COLUMNS, 0)
    for month in months:
        with gzip.open(month.path, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                raw_rows[month.taxi] += 1
                needed = ("VendorID", PICKUP[month.taxi], DROPOFF[month.taxi], "PULocationID", "DOLocationID")
                if all(row[field] for field in needed):
                    trips[month.taxi].setdefault(_identity(month.taxi, row), row)
    mart_keys = {
        (row["PULocationID"], row[PICKUP[taxi]][:7], taxi) for taxi, rows in trips.items() for row in rows.values()
    }
    return Expected(
        trips={taxi: len(rows) for taxi, rows in trips.items()},
        total_amount={
            taxi: sum((Decimal(row["total_amount"] or "0") for row in rows.values()), Decimal(0))
            for taxi, rows in trips.items()
        },
        mart_rows=len(mart_keys),
        raw_rows=raw_rows,
    )


# ---- running dbt ----------------------------------------------------------------------------


def dbt_env(home: Path, **values: str) -> dict[str, str]:
    """Only what dbt needs: no inherited Google credentials, no usage tracking."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
    }
    env.update(values)
    return env


@dataclass(frozen=True)
class DbtRun:
    returncode: int
    output: str
    results: list[dict[str, Any]]
    target: Path

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {result["unique_id"]: result for result in self.results}


def run_dbt(args: list[str], env: dict[str, str], work: Path) -> DbtRun:
    """Artifacts and logs go to `work`, never into the repository's dbt/ folder."""
    if not DBT.exists():
        pytest.fail(f"{DBT.relative_to(ROOT)} missing: run `make tools/dbt/.venv/.synced` (make test does)")
    target = work / "target"
    completed = subprocess.run(
        [str(DBT), *args, "--project-dir", str(PROJECT_DIR), "--target-path", str(target), "--log-path", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results_file = target / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    return DbtRun(completed.returncode, completed.stdout + completed.stderr, results, target)


@dataclass(frozen=True)
class Built:
    months: list[TlcMonth]
    expected: Expected
    build: DbtRun
    counts: dict[str, int | None]
    raw_distinct: dict[str, int]
    mart_total: dict[str, Decimal]
    dsn: str
    env: dict[str, str]
    seconds: float


def count(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def count_rows(conn: psycopg.Connection[Any], table: str) -> int | None:
    """None when dbt did not create the table (a failed test skips what comes after it)."""
    found = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
    return None if found is None or found[0] is None else count(conn, f"SELECT count(*) FROM public.{table}")


@pytest.fixture(scope="module")
def built(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Load the generated months with the flows' SQL, then run `dbt build` once."""
    work = tmp_path_factory.mktemp("dbt")
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    dsn = postgres.dsn.replace("dbname=postgres", f"dbname={DATABASE}")
    months = [
        write_month(work / "csv", taxi, year, month, rows=rows, duplicates=duplicates)
        for taxi, year, month, rows, duplicates in MONTHS
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for month in months:
            load_month(conn, month)
    env = dbt_env(
        work,
        DBT_TARGET="postgres",
        DBT_PG_HOST="127.0.0.1",
        DBT_PG_PORT=str(postgres.port),
        DBT_PG_USER="postgres",
        DBT_PG_DBNAME=DATABASE,
        DBT_PG_SCHEMA="public",
    )
    started = time.monotonic()
    build = run_dbt(["build"], env, work / "build")
    seconds = time.monotonic() - started
    with psycopg.connect(dsn) as conn:
        counts = {model: count_rows(conn, model) for model in MODELS}
        raw_distinct = {
            taxi: count(conn, f"SELECT count(DISTINCT unique_row_id) FROM public.{taxi}_tripdata") for taxi in COLUMNS
        }
        counts |= {f"raw_{taxi}": count(conn, f"SELECT count(*) FROM public.{taxi}_tripdata") for taxi in COLUMNS}
        mart_total = {
            service.lower(): total
            for service, total in (
                conn.execute(
                    "SELECT service_type, sum(revenue_monthly_total_amount) FROM public.mart_monthly_zone_revenue "
                    "GROUP BY service_type"
                ).fetchall()
                if counts["mart_monthly_zone_revenue"] is not None
                else []
            )
        }
    yield Built(months, expected_from_csv(months), build, counts, raw_distinct, mart_total, dsn, env, seconds)


# ---- PostgreSQL: the build ------------------------------------------------------------------


def test_dbt_build_passes_on_postgresql(built: Built) -> None:
    assert built.build.returncode == 0, built.build.output[-4000:]
    print(f"\ndbt build on PostgreSQL: {built.seconds:.1f} s")


def test_every_model_seed_and_test_ran_and_passed(built: Built) -> None:
    results = built.build.by_id()
    statuses = {unique_id.split(".")[0]: set() for unique_id in results}
    for unique_id, result in results.items():
        statuses[unique_id.split(".")[0]].add(result["status"])
    assert statuses == {"seed": {"success"}, "model": {"success"}, "test": {"pass"}}, built.build.output[-4000:]
    ran_models = {unique_id.split(".")[-1] for unique_id in results if unique_id.startswith("model.")}
    assert ran_models == set(MODELS)
    tests = [unique_id for unique_id in results if unique_id.startswith("test.")]
    # The tests the issue asks for, by kind, on the models that carry them.
    for expected in (
        "test.taxi_rides_ny.unique_fct_trips_trip_id",
        "test.taxi_rides_ny.not_null_fct_trips_trip_id",
        "test.taxi_rides_ny.unique_dim_zones_location_id",
        "test.taxi_rides_ny.accepted_values_fct_trips_service_type",
        "test.taxi_rides_ny.accepted_values_fct_trips_payment_type",
        "test.taxi_rides_ny.relationships_stg_yellow_tripdata_pickup_location_id",
        "test.taxi_rides_ny.relationships_fct_trips_dropoff_location_id",
        "test.taxi_rides_ny.source_loaded_from_one_file_raw_yellow_tripdata_unique_row_id",
        "test.taxi_rides_ny.unique_combination_of_columns_mart_monthly_zone_revenue",
    ):
        assert any(test.startswith(expected) for test in tests), f"no test {expected}* ran"
    assert len(tests) >= 40


def test_the_raw_tables_hold_what_the_files_hold_duplicates_included(built: Built) -> None:
    # The load keeps exact duplicate rows (the course's counts include them), so staging's
    # de-duplication has real work to do here.
    for taxi in COLUMNS:
        assert built.counts[f"raw_{taxi}"] == built.expected.raw_rows[taxi]
        assert built.raw_distinct[taxi] < built.counts[f"raw_{taxi}"]


def test_row_counts_match_the_csv_files(built: Built) -> None:
    expected = built.expected
    assert built.counts["stg_yellow_tripdata"] == expected.trips["yellow"]
    assert built.counts["stg_green_tripdata"] == expected.trips["green"]
    assert built.counts["fct_trips"] == expected.trips["yellow"] + expected.trips["green"]
    assert built.counts["dim_zones"] == 265
    assert built.counts["mart_monthly_zone_revenue"] == expected.mart_rows
    # Rows without a vendor are filtered out: there must have been some to filter.
    assert expected.trips["yellow"] < built.raw_distinct["yellow"]


def test_monthly_revenue_adds_up_to_the_cent(built: Built) -> None:
    assert built.mart_total == built.expected.total_amount


def test_the_zone_seed_is_the_complete_tlc_lookup() -> None:
    with (PROJECT_DIR / "seeds" / "taxi_zone_lookup.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["locationid", "borough", "zone", "service_zone"]
    assert [int(row["locationid"]) for row in rows] == list(range(1, 266))
    assert rows[131]["zone"] == "JFK Airport" and rows[264]["zone"] == "NA"


# ---- PostgreSQL: planted bad rows -----------------------------------------------------------


def plant(conn: psycopg.Connection[Any], taxi: str, filename: str, changes: str = "") -> None:
    """Copy one valid row of `{taxi}_tripdata`, change it, insert it back under `filename`.

    The load flow partitions the table by source file, so the planted file gets its own
    partition, as a month loaded by hand would.
    """
    table = f"public.{taxi}_tripdata"
    partitioned = conn.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", (table,)).fetchone()
    if partitioned and partitioned[0]:
        conn.execute(f"CREATE TABLE {table}_planted PARTITION OF {table} FOR VALUES IN ('{filename}')")
    conn.execute(f"CREATE TEMP TABLE planted AS SELECT * FROM {table} WHERE vendorid IS NOT NULL LIMIT 1")
    conn.execute(f"UPDATE planted SET {', '.join(['filename = %s', *filter(None, [changes])])}", (filename,))
    conn.execute(f"INSERT INTO {table} SELECT * FROM planted")
    conn.execute("DROP TABLE planted")


def unplant(conn: psycopg.Connection[Any], taxi: str, filename: str) -> None:
    conn.execute(f"DELETE FROM public.{taxi}_tripdata WHERE filename = %s", (filename,))
    conn.execute(f"DROP TABLE IF EXISTS public.{taxi}_tripdata_planted")


def test_planted_bad_rows_fail_the_tests_that_guard_against_them(built: Built, tmp_path: Path) -> None:
    """An unknown zone and a row hash loaded from a second file: each fails its own test."""
    planted = "planted_by_test.csv"
    with psycopg.connect(built.dsn, autocommit=True) as conn:
        # A valid yellow trip picked up in zone 999, which the TLC lookup does not have.
        plant(conn, "yellow", planted, "pulocationid = '999', unique_row_id = md5('planted zone')")
        # A green trip that is already in the table, arriving again from another file.
        plant(conn, "green", planted)
        try:
            bad = run_dbt(["build"], built.env, tmp_path)
        finally:
            for taxi in COLUMNS:
                unplant(conn, taxi, planted)

    assert bad.returncode != 0, "dbt build passed with a zone that does not exist and a hash from two files"
    failed = {
        unique_id.split(".")[2]: result["failures"]
        for unique_id, result in bad.by_id().items()
        if result["status"] in ("fail", "error")
    }
    assert failed == {
        "relationships_stg_yellow_tripdata_pickup_location_id__location_id__ref_dim_zones_": 1,
        "source_loaded_from_one_file_raw_green_tripdata_unique_row_id": 1,
    }, bad.output[-4000:]


# ---- BigQuery, offline ----------------------------------------------------------------------


def bigquery_env(home: Path, **values: str) -> dict[str, str]:
    return dbt_env(home, DBT_TARGET="bigquery", DBT_BQ_PROJECT="offline-project", DBT_BQ_DATASET="zoomcamp", **values)


def test_bigquery_target_parses_with_the_shipped_profile_and_no_credentials(tmp_path: Path) -> None:
    """Method oauth (ADC) as shipped: parsing needs no credentials and no network."""
    run = run_dbt(["parse"], bigquery_env(tmp_path), tmp_path)
    assert run.returncode == 0, run.output[-4000:]
    manifest = json.loads((run.target / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "bigquery"
    models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert models == set(MODELS)


def test_bigquery_sql_compiles_and_parses_as_bigquery(tmp_path: Path) -> None:
    """An offline token (oauth-secrets, as the gcp_dbt flow uses) lets dbt compile without ADC."""
    env = bigquery_env(tmp_path, DBT_BQ_METHOD="oauth-secrets", DBT_ENV_SECRET_BQ_TOKEN="offline-not-a-token")
    run = run_dbt(["compile", "--no-populate-cache"], env, tmp_path)
    assert run.returncode == 0, run.output[-4000:]
    files = list((run.target / "compiled").rglob("*.sql"))
    # Models, and the data tests compiled next to them (under <folder>/schema.yml/).
    compiled = {path.stem: path.read_text() for path in files if not path.parent.name.endswith(".yml")}
    assert set(compiled) == set(MODELS)
    assert len(files) >= 45
    for path in files:
        sql = path.read_text()
        sqlglot.parse_one(sql, read="bigquery")  # raises on SQL BigQuery would reject
        assert "::" not in sql, f"{path.name}: PostgreSQL-only cast syntax"
    assert "`offline-project`.`zoomcamp`.`yellow_tripdata`" in compiled["stg_yellow_tripdata"]
    assert "safe_cast(" in compiled["stg_green_tripdata"]
    assert "safe_cast(lpep_pickup_datetime as datetime)" in compiled["stg_green_tripdata"]  # local time, no zone
    assert "timestamp_trunc(" in compiled["mart_monthly_zone_revenue"]
    for taxi in ("yellow", "green"):
        # unique_row_id is the course's BYTES md5 there: CONCAT with a STRING needs to_hex, and the
        # key adds fare and distance, which the course's BigQuery hash leaves out.
        assert "to_hex(md5(concat(to_hex(unique_row_id)" in compiled[f"stg_{taxi}_tripdata"], taxi
        assert "partition by unique_row_id" not in compiled[f"stg_{taxi}_tripdata"], taxi
