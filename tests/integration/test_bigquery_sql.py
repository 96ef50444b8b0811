"""08_gcp_taxi's BigQuery SQL: parsed in the BigQuery dialect, compared with the course's tables,
and its check-load-and-MERGE logic run on DuckDB with generated months.

There is no BigQuery here. sqlglot parses each statement the flow renders (the same text
BigQuery would receive) and transpiles it to DuckDB. What DuckDB cannot run as written gets an
explicit stand-in, each one the documented BigQuery behaviour:

* the external table becomes DuckDB's read_csv of the same gzip file with the same columns and
  options (format, header row, gzip);
* types: NUMERIC keeps its (38, 9) precision and INTEGER is 64-bit (BigQuery's INTEGER is
  INT64); TIMESTAMP is DuckDB's TIMESTAMPTZ (sqlglot's mapping) in a session whose time zone is
  UTC, BigQuery's default: a file's `2019-01-01 00:46:40` is read as UTC and CAST to STRING
  prints `2019-01-01 00:46:40+00`, as BigQuery does;
* `INSERT ROW` (all source columns in order) becomes DuckDB's `INSERT BY POSITION`;
* `project.dataset.INFORMATION_SCHEMA.COLUMNS` is a view over DuckDB's own
  information_schema.columns with the types named as BigQuery's view names them (BYTES,
  STRING, TIMESTAMP, DATETIME, INT64, NUMERIC) and no hidden columns;
* `UNNEST(...) WITH OFFSET` counts from 0; sqlglot writes DuckDB's `WITH ORDINALITY`, which counts
  from 1, so the stand-in subtracts the 1;
* `ERROR(message)` is DuckDB's error(message): both fail the statement with that message, and
  both only when the IF (DuckDB: CASE) branch holding it is taken.

MD5 (BYTES in BigQuery) is sqlglot's UNHEX(MD5(...)): the same 16 bytes. Everything else runs as
written. test_the_stand_ins_behave_as_bigquery_documents checks the stand-ins themselves.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from tests.support.flow_sql import KV, TaskFailed, flow, render, run_python_script, task
from tests.support.flow_sql import context as flow_context
from tests.support.tlc_data import COLUMNS, TlcMonth, truncated_copy, write_month

GCP_FLOW = "08_gcp_taxi"
QUERY = "io.kestra.plugin.gcp.bigquery.Query"
BQ_TASKS = ("bq_check_table", "bq_create_table", "bq_external_table", "bq_month_table", "bq_merge")
PROJECT, DATASET = KV["GCP_PROJECT_ID"], KV["GCP_DATASET"]
PREFIX = {"yellow": "tpep", "green": "lpep"}

# ---- the course's tables, written from 02-workflow-orchestration/flows/08_gcp_taxi.yaml -----------
# (the 2025 edition's 08_gcp_taxi.yaml has the same tables). Column descriptions left out.

COURSE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "yellow": [
        ("unique_row_id", "BYTES"), ("filename", "STRING"), ("VendorID", "STRING"),
        ("tpep_pickup_datetime", "TIMESTAMP"), ("tpep_dropoff_datetime", "TIMESTAMP"),
        ("passenger_count", "INTEGER"), ("trip_distance", "NUMERIC"), ("RatecodeID", "STRING"),
        ("store_and_fwd_flag", "STRING"), ("PULocationID", "STRING"), ("DOLocationID", "STRING"),
        ("payment_type", "INTEGER"), ("fare_amount", "NUMERIC"), ("extra", "NUMERIC"), ("mta_tax", "NUMERIC"),
        ("tip_amount", "NUMERIC"), ("tolls_amount", "NUMERIC"), ("improvement_surcharge", "NUMERIC"),
        ("total_amount", "NUMERIC"), ("congestion_surcharge", "NUMERIC"),
    ],
    "green": [
        ("unique_row_id", "BYTES"), ("filename", "STRING"), ("VendorID", "STRING"),
        ("lpep_pickup_datetime", "TIMESTAMP"), ("lpep_dropoff_datetime", "TIMESTAMP"),
        ("store_and_fwd_flag", "STRING"), ("RatecodeID", "STRING"), ("PULocationID", "STRING"),
        ("DOLocationID", "STRING"), ("passenger_count", "INT64"), ("trip_distance", "NUMERIC"),
        ("fare_amount", "NUMERIC"), ("extra", "NUMERIC"), ("mta_tax", "NUMERIC"), ("tip_amount", "NUMERIC"),
        ("tolls_amount", "NUMERIC"), ("ehail_fee", "NUMERIC"), ("improvement_surcharge", "NUMERIC"),
        ("total_amount", "NUMERIC"), ("payment_type", "INTEGER"), ("trip_type", "STRING"),
        ("congestion_surcharge", "NUMERIC"),
    ],
}  # fmt: skip


def course_table_ddl(taxi: str) -> str:
    columns = ",\n".join(f"    {name} {type_}" for name, type_ in COURSE_COLUMNS[taxi])
    return (
        f"CREATE TABLE IF NOT EXISTS `{PROJECT}.{DATASET}.{taxi}_tripdata`\n(\n{columns}\n)\n"
        f"PARTITION BY DATE({PREFIX[taxi]}_pickup_datetime);"
    )


def course_hash(taxi: str) -> str:
    """The course's unique_row_id expression (its bq_{taxi}_table_tmp task), as it writes it."""
    fields = ["VendorID", f"{PREFIX[taxi]}_pickup_datetime", f"{PREFIX[taxi]}_dropoff_datetime", "PULocationID",
              "DOLocationID"]  # fmt: skip
    return "MD5(CONCAT(\n" + ",\n".join(f'  COALESCE(CAST({f} AS STRING), "")' for f in fields) + "\n))"


def course_load_statements(taxi: str, year: int, month: int) -> tuple[str, str]:
    """The course's monthly table and MERGE (bq_{taxi}_table_tmp, bq_{taxi}_merge) for one month."""
    table = f"{DATASET}.{taxi}_tripdata_{year:04d}_{month:02d}"
    names = [name for name, _ in COURSE_COLUMNS[taxi]]
    tmp = (
        f"CREATE OR REPLACE TABLE `{PROJECT}.{table}` AS SELECT {course_hash(taxi)} AS unique_row_id, "
        f'"{taxi}_tripdata_{year:04d}-{month:02d}.csv" AS filename, * FROM `{PROJECT}.{table}_ext`;'
    )
    merge = (
        f"MERGE INTO `{PROJECT}.{DATASET}.{taxi}_tripdata` T USING `{PROJECT}.{table}` S "
        "ON T.unique_row_id = S.unique_row_id WHEN NOT MATCHED THEN "
        f"INSERT ({', '.join(names)}) VALUES ({', '.join('S.' + n for n in names)});"
    )
    return tmp, merge


def bigquery_cast_timestamp_as_string(text: str) -> str:
    """CAST(TIMESTAMP AS STRING): the UTC time (a CSV time without zone is UTC) with "+00"."""
    return f"{text}+00" if text else ""


def course_hash_in_python(taxi: str, row: dict[str, str]) -> bytes:
    """The course's expression, from BigQuery's definitions: CSV empty fields are NULL, COALESCE
    makes them '', CONCAT joins the STRING casts, MD5 returns the 16 digest bytes."""
    prefix = PREFIX[taxi]
    parts = [
        row["VendorID"],
        bigquery_cast_timestamp_as_string(row[f"{prefix}_pickup_datetime"]),
        bigquery_cast_timestamp_as_string(row[f"{prefix}_dropoff_datetime"]),
        row["PULocationID"],
        row["DOLocationID"],
    ]
    return hashlib.md5("".join(parts).encode()).digest()


def csv_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as data:
        return list(csv.DictReader(data))


# ---- rendering and parsing -----------------------------------------------------------------------


def flow_context_for(taxi: str, year: int, month: int, **kwargs: Any) -> Any:
    return flow_context(flow(GCP_FLOW), {"taxi": taxi, "year": f"{year:04d}", "month": f"{month:02d}"}, **kwargs)


def rendered_sql(taxi: str, year: int, month: int) -> dict[str, str]:
    document = flow(GCP_FLOW)
    ctx = flow_context_for(taxi, year, month)
    return {task_id: render(task(document, task_id)["sql"], ctx) for task_id in BQ_TASKS}


def parse_bigquery(sql: str) -> exp.Expression:
    statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    assert len(statements) == 1, f"one statement per BigQuery task, got {len(statements)}"
    return statements[0]


def type_name(kind: exp.DataType) -> str:
    """BigQuery's own name for a type (INTEGER and INT64 are one type: INT64)."""
    return kind.sql("bigquery")


def column_defs(statement: exp.Expression) -> list[tuple[str, str]]:
    return [(c.name, type_name(c.args["kind"])) for c in statement.find_all(exp.ColumnDef)]


def course_column_defs(taxi: str) -> list[tuple[str, str]]:
    return column_defs(parse_bigquery(course_table_ddl(taxi)))


# ---- static: the course's tables -----------------------------------------------------------------


def test_the_bigquery_tasks_run_in_this_order_with_the_check_first() -> None:
    document = flow(GCP_FLOW)
    ids = [t["id"] for t in document["tasks"]]
    assert [i for i in ids if task(document, i)["type"] == QUERY] == list(BQ_TASKS)
    assert ids.index("verify") < ids.index("upload_to_gcs") < ids.index("bq_check_table")


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_the_main_table_is_the_course_s_columns_types_and_partitioning(taxi: str) -> None:
    main = parse_bigquery(rendered_sql(taxi, 2020, 3)["bq_create_table"])
    assert column_defs(main) == course_column_defs(taxi)
    assert [name for name, _ in column_defs(main)][2:] == list(COLUMNS[taxi]), "the files' columns, in order"
    assert main.find(exp.Table).sql("bigquery") == f"`{PROJECT}.{DATASET}.{taxi}_tripdata`"
    ours, course = main.args["properties"], parse_bigquery(course_table_ddl(taxi)).args["properties"]
    assert ours.sql("bigquery") == course.sql("bigquery") == f"PARTITION BY DATE({PREFIX[taxi]}_pickup_datetime)"


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_the_monthly_and_external_tables_are_the_course_s(taxi: str) -> None:
    sql = rendered_sql(taxi, 2020, 3)
    ctx = flow_context_for(taxi, 2020, 3)
    assert render("{{ render(vars.table) }}", ctx) == f"{DATASET}.{taxi}_tripdata_2020_03", "the course's `table`"
    month_table = f"`{PROJECT}.{DATASET}.{taxi}_tripdata_2020_03`"
    external = parse_bigquery(sql["bq_external_table"])
    assert external.find(exp.Table).sql("bigquery") == month_table.replace("_03`", "_03_ext`")
    assert column_defs(external) == course_column_defs(taxi)[2:]
    options = external.sql("bigquery")
    for option in ("FORMAT='CSV'", "skip_leading_rows=1", "ignore_unknown_values=TRUE", "compression='GZIP'"):
        assert option in options
    monthly = parse_bigquery(sql["bq_month_table"])
    assert monthly.find(exp.Table).sql("bigquery") == month_table
    select = monthly.expression
    assert [p.alias_or_name for p in select.expressions] == ["unique_row_id", "filename", "*"], "as the course's"
    assert select.expressions[1].this.name == f"{taxi}_tripdata_2020-03.csv"
    assert select.args["from_"].this.sql("bigquery") == month_table.replace("_03`", "_03_ext`")


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_unique_row_id_is_the_course_s_expression(taxi: str) -> None:
    select = parse_bigquery(rendered_sql(taxi, 2019, 1)["bq_month_table"]).expression
    ours = select.expressions[0].this
    assert ours == sqlglot.parse_one(course_hash(taxi), read="bigquery"), ours.sql("bigquery")


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_the_file_columns_are_the_same_in_bigquery_and_postgresql(taxi: str) -> None:
    pg_names = flow("04_postgres_taxi")["variables"]["header"][taxi].split(",")  # the file's columns, in order
    ext = parse_bigquery(rendered_sql(taxi, 2019, 1)["bq_external_table"])
    assert [name for name, _ in column_defs(ext)] == pg_names


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_the_column_list_uses_the_type_names_information_schema_reports(taxi: str) -> None:
    """bq_check_table compares this text with INFORMATION_SCHEMA.COLUMNS.data_type, which says INT64, never INTEGER."""
    listed = [line.strip().rstrip(",").split() for line in flow(GCP_FLOW)["variables"]["columns"][taxi].splitlines()]
    assert {type_ for _, type_ in listed} <= {"STRING", "BYTES", "TIMESTAMP", "INT64", "NUMERIC"}
    assert [(name, type_) for name, type_ in listed] == course_column_defs(taxi)[2:]


def test_the_learner_sees_the_course_s_variables() -> None:
    document = flow(GCP_FLOW)
    downloaded = {"download": {"uri": "kestra:///zoomcamp/08_gcp_taxi/download/green_tripdata_2021-07.csv.gz"}}
    ctx = flow_context(document, {}, outputs=downloaded)  # the inputs' defaults: green, 2019, 01
    values = {name: render(f"{{{{ render(vars.{name}) }}}}", ctx) for name in ("file", "gcs_file", "table", "data")}
    assert values == {
        "file": "green_tripdata_2019-01.csv",
        "gcs_file": f"gs://{KV['GCP_BUCKET_NAME']}/green_tripdata_2019-01.csv.gz",
        "table": f"{DATASET}.green_tripdata_2019_01",
        "data": downloaded["download"]["uri"],
    }


def test_the_checked_file_is_what_gcs_and_the_external_table_get() -> None:
    document = flow(GCP_FLOW)
    downloaded = {"download": {"uri": "kestra:///zoomcamp/08_gcp_taxi/download/green_tripdata_2021-07.csv.gz"}}
    ctx = flow_context(document, {"taxi": "green", "year": "2021", "month": "07"}, outputs=downloaded)
    upload = task(document, "upload_to_gcs")
    assert render(upload["from"], ctx) == render(task(document, "verify")["inputFiles"]["tripdata.csv.gz"], ctx)
    target = render(upload["to"], ctx)
    assert target == f"gs://{KV['GCP_BUCKET_NAME']}/green_tripdata_2021-07.csv.gz"
    options = parse_bigquery(render(task(document, "bq_external_table")["sql"], ctx)).sql("bigquery")
    assert f"uris=['{target}']" in options and "compression='GZIP'" in options and "skip_leading_rows=1" in options
    assert "FORMAT='CSV'" in options


def test_gcp_flows_use_kv_settings_and_application_default_credentials() -> None:
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        return {k for v in value for k in keys(v)} if isinstance(value, list) else set()

    for name in (GCP_FLOW, "09_gcp_taxi_scheduled"):
        document = flow(name)
        assert not keys(document) & {"serviceAccount", "impersonatedServiceAccount"}, f"{name}: never a pasted key"
        assert "GCP_CREDS" not in str(document)
    defaults = {d["type"]: d["values"] for d in flow(GCP_FLOW)["pluginDefaults"]}
    assert defaults["io.kestra.plugin.gcp"] == {"projectId": "{{ kv('GCP_PROJECT_ID') }}"}
    assert defaults["io.kestra.plugin.gcp.bigquery"] == {"location": "{{ kv('GCP_LOCATION') }}"}


def test_both_load_flows_check_downloads_with_the_same_script() -> None:
    extract, verify = task(flow("04_postgres_taxi"), "extract"), task(flow(GCP_FLOW), "verify")
    assert verify["script"] == extract["script"], "keep one check: copy 04_postgres_taxi's extract script to 06"
    assert set(verify["env"]) == {"TAXI", "SOURCE", "LABEL"}, "check only: no EXTRACT, no TARGET (BigQuery hashes)"
    assert "outputFiles" not in verify
    for key in ("containerImage", "taskRunner", "inputFiles"):
        assert verify[key] == extract[key], key


# ---- DuckDB: the statements with generated months --------------------------------------------------

# DuckDB's information_schema type names -> BigQuery's INFORMATION_SCHEMA.COLUMNS.data_type.
BIGQUERY_TYPE_NAMES = {
    "VARCHAR": "STRING",
    "BLOB": "BYTES",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "TIMESTAMP": "DATETIME",
    "BIGINT": "INT64",
    "DECIMAL(38,9)": "NUMERIC",
    "DOUBLE": "FLOAT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
}


def _as_duckdb(statement: exp.Expression) -> exp.Expression:
    """The stand-ins that live in the statement: local names, BigQuery's NUMERIC and INTEGER, OFFSET from 0."""
    for table in statement.find_all(exp.Table):
        table.set("catalog", None)
        table.set("db", None)
    for data_type in list(statement.find_all(exp.DataType)):
        if data_type.this == exp.DataType.Type.DECIMAL and not data_type.expressions:
            data_type.replace(exp.DataType.build("DECIMAL(38, 9)"))
        elif data_type.this == exp.DataType.Type.INT:
            data_type.replace(exp.DataType.build("BIGINT"))
    for unnest in list(statement.find_all(exp.Unnest)):
        offset = unnest.args.get("offset")
        if isinstance(offset, exp.Identifier):
            select = unnest.find_ancestor(exp.Select)
            assert select is not None
            for column in list(select.find_all(exp.Column)):
                if column.name == offset.name and not column.table:
                    column.replace(exp.paren(exp.Sub(this=column.copy(), expression=exp.Literal.number(1))))
    return statement


def duckdb_sql(bigquery_sql: str) -> str:
    return _as_duckdb(parse_bigquery(bigquery_sql)).sql("duckdb")


class DuckBigQuery:
    """Runs the flow's rendered BigQuery statements on an in-memory DuckDB (see the module docstring)."""

    def __init__(self) -> None:
        self.conn = duckdb.connect()
        self.conn.execute("SET TimeZone = 'UTC'")
        names = " ".join(f"WHEN '{duck}' THEN '{bq}'" for duck, bq in BIGQUERY_TYPE_NAMES.items())
        self.conn.execute(
            'CREATE VIEW "INFORMATION_SCHEMA.COLUMNS" AS SELECT table_name, column_name, ordinal_position, '
            f"CASE data_type {names} ELSE data_type END AS data_type, 'NO' AS is_hidden "
            "FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = 'main'"
        )

    def run(self, sql: str, task_id: str = "query") -> None:
        try:
            self.conn.execute(duckdb_sql(sql))
        except duckdb.InvalidInputException as error:  # what error() raises
            raise TaskFailed(task_id, str(error).removeprefix("Invalid Input Error: ")) from None

    def external_table(self, sql: str, local_file: Path) -> None:
        """CREATE EXTERNAL TABLE over gs://... becomes a table read from the same gzip file."""
        statement = parse_bigquery(sql)
        text = statement.sql("bigquery")
        assert "FORMAT='CSV'" in text and "compression='GZIP'" in text and "skip_leading_rows=1" in text
        name = statement.find(exp.Table).name
        columns = ", ".join(
            f"'{c.name}': '{_as_duckdb(c.args['kind'].copy()).sql('duckdb')}'"
            for c in statement.find_all(exp.ColumnDef)
        )
        self.conn.execute(
            f"CREATE OR REPLACE TABLE \"{name}\" AS SELECT * FROM read_csv('{local_file}', header = false, skip = 1, "
            f"delim = ',', quote = '\"', compression = 'gzip', auto_detect = false, columns = {{{columns}}})"
        )

    def merge(self, sql: str) -> None:
        duck = duckdb_sql(sql)
        assert duck.endswith("THEN INSERT ROW"), duck
        self.conn.execute(duck.removesuffix("INSERT ROW") + "INSERT BY POSITION")

    def load(self, month: TlcMonth) -> None:
        """The flow's BigQuery tasks for one month, in the flow's order; TaskFailed where BigQuery fails."""
        sql = rendered_sql(month.taxi, month.year, month.month)
        self.run(sql["bq_check_table"], "bq_check_table")
        self.run(sql["bq_create_table"], "bq_create_table")
        self.external_table(sql["bq_external_table"], month.path)
        self.run(sql["bq_month_table"], "bq_month_table")
        self.merge(sql["bq_merge"])

    def course_load(self, month: TlcMonth) -> None:
        """What the course's own flow runs for the month (its DDL, external table, tmp table and MERGE)."""
        self.run(course_table_ddl(month.taxi))
        self.external_table(rendered_sql(month.taxi, month.year, month.month)["bq_external_table"], month.path)
        for statement in course_load_statements(month.taxi, month.year, month.month):
            self.run(statement)

    def rows(self, taxi: str) -> list[Any]:
        """Every row, each value as text (TIMESTAMPTZ values need pytz to come back as Python objects)."""
        return self.conn.execute(f"SELECT COLUMNS(*)::VARCHAR FROM {taxi}_tripdata ORDER BY ALL").fetchall()

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlcMonth]:
    folder = tmp_path_factory.mktemp("tlc_bq")
    return {
        "yellow_01": write_month(folder / "a", "yellow", 2019, 1, rows=300, duplicates=4),
        "yellow_02": write_month(folder / "b", "yellow", 2019, 2, rows=200),
        "green_01": write_month(folder / "c", "green", 2019, 1, rows=150, duplicates=2),
    }


def test_the_stand_ins_behave_as_bigquery_documents() -> None:
    bq = DuckBigQuery()
    offsets = bq.conn.execute(duckdb_sql("SELECT pos FROM UNNEST(['a', 'b']) AS col WITH OFFSET AS pos")).fetchall()
    assert sorted(offsets) == [(0,), (1,)], "WITH OFFSET counts from 0"
    text = bq.conn.execute(duckdb_sql("SELECT CAST(TIMESTAMP '2019-01-01 00:46:40' AS STRING)")).fetchone()
    assert text == ("2019-01-01 00:46:40+00",), "a TIMESTAMP without zone is UTC, printed with +00"
    digest = bq.conn.execute(duckdb_sql("SELECT MD5('abc')")).fetchone()
    assert digest == (hashlib.md5(b"abc").digest(),), "MD5 returns the 16 digest bytes"
    assert bq.conn.execute(duckdb_sql("SELECT IF(1 = 1, 'ok', ERROR('not reached'))")).fetchone() == ("ok",)
    with pytest.raises(TaskFailed) as failure:
        bq.run("SELECT IF(1 = 2, 'ok', ERROR('reached'))")
    assert failure.value.message == "reached"
    bq.run("CREATE TABLE t (a BYTES, b STRING, c TIMESTAMP, d DATETIME, e INTEGER, f INT64, g NUMERIC)")
    described = bq.conn.execute(
        "SELECT column_name, data_type FROM \"INFORMATION_SCHEMA.COLUMNS\" WHERE table_name = 't' "
        "ORDER BY ordinal_position"
    ).fetchall()
    assert [t for _, t in described] == ["BYTES", "STRING", "TIMESTAMP", "DATETIME", "INT64", "INT64", "NUMERIC"]


def test_merge_loads_every_row_and_a_rerun_changes_nothing(months: dict[str, TlcMonth]) -> None:
    bq = DuckBigQuery()
    january = months["yellow_01"]
    bq.load(january)
    first = bq.rows("yellow")
    assert len(first) == january.data_rows == 304, "duplicates are kept, like the course's first load"
    hashes = bq.conn.execute(
        "SELECT count(DISTINCT unique_row_id), min(octet_length(unique_row_id)) FROM yellow_tripdata"
    )
    assert hashes.fetchone() == (300, 16), "BYTES: the 16 bytes of the MD5"
    bq.load(january)
    assert bq.rows("yellow") == first


def test_months_accumulate_and_a_rerun_replaces_only_its_month(months: dict[str, TlcMonth]) -> None:
    bq = DuckBigQuery()
    bq.load(months["yellow_01"])
    bq.load(months["yellow_02"])
    bq.load(months["yellow_01"])
    per_file = dict(bq.conn.execute("SELECT filename, count(*) FROM yellow_tripdata GROUP BY ALL").fetchall())
    assert per_file == {"yellow_tripdata_2019-01.csv": 304, "yellow_tripdata_2019-02.csv": 200}
    bq.load(months["green_01"])
    assert bq.conn.execute("SELECT count(*), count(ehail_fee) FROM green_tripdata").fetchone() == (152, 0)


def test_every_row_of_each_file_is_kept_even_when_another_file_has_the_same_trips(
    months: dict[str, TlcMonth], tmp_path: Path
) -> None:
    """Stricter than the course: its MERGE ON unique_row_id drops a file's trip when any loaded row has
    the same VendorID, times and zones; ours replaces by file, so each file keeps all its rows."""
    january = months["yellow_01"]
    same_trips = tmp_path / "yellow_tripdata_2019-02.csv.gz"
    same_trips.write_bytes(january.path.read_bytes())
    february = TlcMonth(same_trips, "yellow", 2019, 2, january.data_rows)
    ours, course = DuckBigQuery(), DuckBigQuery()
    for month in (january, february):
        ours.load(month)
        course.course_load(month)
    count = "SELECT filename, count(*) FROM yellow_tripdata GROUP BY ALL"
    assert dict(ours.conn.execute(count).fetchall()) == {january.filename: 304, february.filename: 304}
    assert dict(course.conn.execute(count).fetchall()) == {january.filename: 304}, "the course's flow keeps none"


def test_a_reload_gives_the_month_as_the_file_is_now(months: dict[str, TlcMonth], tmp_path: Path) -> None:
    bq, fresh = DuckBigQuery(), DuckBigQuery()
    bq.load(months["yellow_01"])
    bq.load(months["yellow_02"])
    corrected = write_month(tmp_path, "yellow", 2019, 1, rows=120, seed=7, duplicates=3)
    bq.load(corrected)
    fresh.load(months["yellow_02"])
    fresh.load(corrected)
    assert bq.rows("yellow") == fresh.rows("yellow") and len(bq.rows("yellow")) == 123 + 200


def test_empty_fields_are_null_in_bigquery_too(months: dict[str, TlcMonth]) -> None:
    bq = DuckBigQuery()
    bq.load(months["yellow_01"])
    nulls = bq.conn.execute("SELECT count(*) FILTER (WHERE passenger_count IS NULL) FROM yellow_tripdata").fetchone()
    assert nulls is not None and nulls[0] > 0


@pytest.mark.parametrize("name", ["yellow_01", "green_01"])
def test_unique_row_id_is_byte_for_byte_the_course_s(months: dict[str, TlcMonth], name: str) -> None:
    """Against the rows our flow loaded: the course's expression run on them, and computed from its definition."""
    month = months[name]
    bq = DuckBigQuery()
    bq.load(month)
    table = f"{month.taxi}_tripdata"
    differ = bq.conn.execute(
        duckdb_sql(f"SELECT COUNT(*) FROM {table} WHERE unique_row_id IS DISTINCT FROM {course_hash(month.taxi)}")
    ).fetchone()
    assert differ == (0,)
    loaded = Counter(r[0] for r in bq.conn.execute(f"SELECT unique_row_id FROM {table}").fetchall())
    defined = Counter(course_hash_in_python(month.taxi, row) for row in csv_rows(month.path))
    assert loaded == defined and sum(defined.values()) == month.data_rows


@pytest.mark.parametrize("name", ["yellow_01", "green_01"])
def test_a_course_made_table_keeps_working(months: dict[str, TlcMonth], name: str) -> None:
    """The course's flow loaded the month first; ours replaces it, twice, and leaves what it leaves anywhere."""
    month = months[name]
    fresh = DuckBigQuery()
    fresh.load(month)
    bq = DuckBigQuery()
    bq.course_load(month)
    assert len(bq.rows(month.taxi)) == month.data_rows
    bq.load(month)
    once = bq.rows(month.taxi)
    bq.load(month)
    assert bq.rows(month.taxi) == once == fresh.rows(month.taxi)


def _old_shape(taxi: str) -> str:
    """This repository's former table: hex STRING hash, DATETIME times, green trip_type INTEGER."""
    columns = [
        f"{n} {'STRING' if n == 'unique_row_id' else 'DATETIME' if t == 'TIMESTAMP' else t}"
        for n, t in COURSE_COLUMNS[taxi]
    ]
    if taxi == "green":
        columns[columns.index("trip_type STRING")] = "trip_type INTEGER"
    return f"CREATE TABLE `{PROJECT}.{DATASET}.{taxi}_tripdata` ({', '.join(columns)}) CLUSTER BY filename"


def test_a_table_of_another_shape_is_reported_in_one_line_before_anything_is_loaded(
    months: dict[str, TlcMonth],
) -> None:
    bq = DuckBigQuery()
    bq.run(_old_shape("green"))
    bq.conn.execute("INSERT INTO green_tripdata (filename) VALUES ('green_tripdata_2019-01.csv')")
    before = bq.tables()
    with pytest.raises(TaskFailed) as failure:
        bq.load(months["green_01"])
    assert failure.value.task_id == "bq_check_table"
    assert failure.value.message == (
        f"`{PROJECT}.{DATASET}.green_tripdata` does not have the columns of the course's table (4 differ, the first: "
        "unique_row_id STRING where the course has unique_row_id BYTES, lpep_pickup_datetime DATETIME where the "
        "course has lpep_pickup_datetime TIMESTAMP, lpep_dropoff_datetime DATETIME where the course has "
        "lpep_dropoff_datetime TIMESTAMP): rename or drop it, then run this flow again."
    )
    assert bq.tables() == before and len(bq.rows("green")) == 1, "nothing created, nothing loaded"


@pytest.mark.parametrize(
    ("change", "first"),
    [
        (lambda cols: cols[:-1], "no column where the course has congestion_surcharge NUMERIC"),
        (lambda cols: [*cols, "tip_share NUMERIC"], "tip_share NUMERIC where the course has no column"),
        (lambda cols: [cols[1], cols[0], *cols[2:]], "filename STRING where the course has unique_row_id BYTES"),
        (lambda cols: cols[2:], "VendorID STRING where the course has unique_row_id BYTES"),
    ],
    ids=["a column missing", "a column more", "two columns swapped", "no unique_row_id and filename"],
)
def test_each_kind_of_difference_is_named(months: dict[str, TlcMonth], change: Any, first: str) -> None:
    bq = DuckBigQuery()
    columns = change([f"{n} {t}" for n, t in COURSE_COLUMNS["yellow"]])
    bq.run(f"CREATE TABLE `{PROJECT}.{DATASET}.yellow_tripdata` ({', '.join(columns)})")
    with pytest.raises(TaskFailed) as failure:
        bq.load(months["yellow_02"])
    message = failure.value.message
    assert "\n" not in message and f"differ, the first: {first}" in message
    assert message.endswith("): rename or drop it, then run this flow again.")


def test_column_names_differing_only_in_case_are_the_same_column(months: dict[str, TlcMonth]) -> None:
    """BigQuery column names ignore case: a table with vendorid, pulocationid... is the course's table."""
    bq = DuckBigQuery()
    bq.run(f"CREATE TABLE `{PROJECT}.{DATASET}.yellow_tripdata` "
           f"({', '.join(f'{n.lower()} {t}' for n, t in COURSE_COLUMNS['yellow'])})")  # fmt: skip
    bq.load(months["yellow_02"])
    assert len(bq.rows("yellow")) == 200


# ---- the check step of the GCP flow ------------------------------------------------------------------


def _verify(path: Path, workdir: Path) -> Any:
    document = flow(GCP_FLOW)
    ctx = flow_context(document, {"taxi": "yellow", "year": "2019", "month": "01"})
    ctx.variables["outputs"] = {"download": {"uri": "kestra:///download/file.csv.gz"}}
    return run_python_script(task(document, "verify"), ctx, {"kestra:///download/file.csv.gz": path}, workdir)


def test_the_gcp_flow_uploads_only_a_checked_file(months: dict[str, TlcMonth], tmp_path: Path) -> None:
    good = _verify(months["yellow_01"].path, tmp_path / "good")
    assert good.exit_code == 0 and "304 data rows" in good.stdout
    assert sorted(p.name for p in (tmp_path / "good").iterdir() if p.suffix == ".csv") == [], "nothing is rewritten"
    cut = truncated_copy(months["yellow_01"].path, tmp_path / "cut.csv.gz", 0.4)
    bad = _verify(cut, tmp_path / "bad")
    assert bad.exit_code == 1
    assert "yellow_tripdata_2019-01.csv.gz is truncated or corrupt after line" in bad.stderr
