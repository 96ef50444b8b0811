"""06_gcp_taxi's BigQuery SQL: parsed in the BigQuery dialect, checked against the TLC schema,
and its load-and-MERGE logic run on DuckDB with generated months.

There is no BigQuery here. sqlglot parses each statement the flow renders (the same text
BigQuery would receive) and transpiles it to DuckDB with three explicit, documented stand-ins:
the external table becomes DuckDB's read_csv of the same gzip file with the same columns and
options, BigQuery's NUMERIC keeps its (38, 9) precision, and `INSERT ROW` (all source columns
in order) becomes DuckDB's `INSERT BY POSITION`. Everything else runs as written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from flow_sql import KV, flow, render, run_python_script, task
from flow_sql import context as flow_context
from sqlglot import exp
from tlc_data import COLUMNS, TlcMonth, truncated_copy, write_month

GCP_FLOW = "06_gcp_taxi"
BQ_TASKS = ("bq_create_table", "bq_external_table", "bq_month_table", "bq_merge")
PG_TO_BQ = {"text": "STRING", "timestamp": "DATETIME", "integer": "INTEGER", "numeric": "NUMERIC"}


def rendered_sql(taxi: str, year: int, month: int) -> dict[str, str]:
    document = flow(GCP_FLOW)
    ctx = flow_context(document, {"taxi": taxi, "year": f"{year:04d}", "month": f"{month:02d}"})
    return {task_id: render(task(document, task_id)["sql"], ctx) for task_id in BQ_TASKS}


def parse_bigquery(sql: str) -> exp.Expression:
    statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    assert len(statements) == 1, f"one statement per BigQuery task, got {len(statements)}"
    return statements[0]


def column_defs(statement: exp.Expression) -> list[tuple[str, str]]:
    return [(c.name, c.args["kind"].sql("bigquery")) for c in statement.find_all(exp.ColumnDef)]


# ---- static: parse and schema --------------------------------------------------------------------


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_every_statement_parses_as_bigquery_and_matches_the_tlc_columns(taxi: str) -> None:
    sql = rendered_sql(taxi, 2020, 3)
    project, dataset = KV["GCP_PROJECT_ID"], KV["GCP_DATASET"]
    main, ext = parse_bigquery(sql["bq_create_table"]), parse_bigquery(sql["bq_external_table"])
    assert [name for name, _ in column_defs(main)] == ["unique_row_id", "filename", *COLUMNS[taxi]]
    assert [name for name, _ in column_defs(ext)] == list(COLUMNS[taxi])
    assert column_defs(main)[2:] == column_defs(ext), "the main table has the file's columns and types"
    prefix = "tpep" if taxi == "yellow" else "lpep"
    assert f"PARTITION BY DATE({prefix}_pickup_datetime)" in main.sql("bigquery")
    assert "CLUSTER BY filename" in main.sql("bigquery")
    assert main.find(exp.Table).sql("bigquery") == f"`{project}.{dataset}.{taxi}_tripdata`"
    month_table = parse_bigquery(sql["bq_month_table"])
    assert month_table.find(exp.Table).sql("bigquery") == f"`{project}.{dataset}.{taxi}_tripdata_2020_03`"
    merge = parse_bigquery(sql["bq_merge"])
    assert isinstance(merge, exp.Merge)
    assert f"T.filename = '{taxi}_tripdata_2020-03.csv'" in merge.sql("bigquery")


@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_bigquery_and_postgresql_use_the_same_column_types(taxi: str) -> None:
    pg_columns = flow("02_postgres_taxi")["variables"]["columns"][taxi]
    pg = [tuple(line.strip().rstrip(",").split()) for line in pg_columns.strip().splitlines()]
    ext = parse_bigquery(rendered_sql(taxi, 2019, 1)["bq_external_table"])
    bq_types = {"INT64": "INTEGER"}
    assert [(n, PG_TO_BQ[t]) for n, t in pg] == [(n, bq_types.get(t, t)) for n, t in column_defs(ext)]


def test_the_checked_file_is_what_gcs_and_the_external_table_get() -> None:
    document = flow(GCP_FLOW)
    downloaded = {"download": {"uri": "kestra:///zoomcamp/06_gcp_taxi/download/green_tripdata_2021-07.csv.gz"}}
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

    for name in (GCP_FLOW, f"{GCP_FLOW}_scheduled"):
        document = flow(name)
        assert not keys(document) & {"serviceAccount", "impersonatedServiceAccount"}, f"{name}: never a pasted key"
        assert "GCP_CREDS" not in str(document)
    defaults = {d["type"]: d["values"] for d in flow(GCP_FLOW)["pluginDefaults"]}
    assert defaults["io.kestra.plugin.gcp"] == {"projectId": "{{ kv('GCP_PROJECT_ID') }}"}
    assert defaults["io.kestra.plugin.gcp.bigquery"] == {"location": "{{ kv('GCP_LOCATION') }}"}


def test_both_load_flows_verify_downloads_with_the_same_script() -> None:
    scripts = {name: task(flow(name), "verify")["script"] for name in ("02_postgres_taxi", GCP_FLOW)}
    assert scripts["02_postgres_taxi"] == scripts[GCP_FLOW], "keep one verification: copy the script to both flows"


# ---- DuckDB: the MERGE logic with generated months -----------------------------------------------------


def _local_names(statement: exp.Expression) -> exp.Expression:
    for table in statement.find_all(exp.Table):
        table.set("catalog", None)
        table.set("db", None)
    for data_type in statement.find_all(exp.DataType):
        if data_type.this == exp.DataType.Type.DECIMAL and not data_type.expressions:
            data_type.replace(exp.DataType.build("DECIMAL(38, 9)"))
    return statement


class DuckBigQuery:
    """Runs the flow's rendered BigQuery statements on an in-memory DuckDB."""

    def __init__(self) -> None:
        self.conn = duckdb.connect()

    def run(self, sql: str) -> None:
        self.conn.execute(_local_names(parse_bigquery(sql)).sql("duckdb"))

    def external_table(self, sql: str, local_file: Path) -> None:
        """CREATE EXTERNAL TABLE over gs://... becomes a table read from the same gzip file."""
        statement = parse_bigquery(sql)
        text = statement.sql("bigquery")
        assert "FORMAT='CSV'" in text and "compression='GZIP'" in text and "skip_leading_rows=1" in text
        name = statement.find(exp.Table).name
        columns = ", ".join(
            f"'{c.name}': '{_local_names(c.args['kind'].copy()).sql('duckdb')}'"
            for c in statement.find_all(exp.ColumnDef)
        )
        self.conn.execute(
            f"CREATE OR REPLACE TABLE \"{name}\" AS SELECT * FROM read_csv('{local_file}', header = false, skip = 1, "
            f"delim = ',', quote = '\"', compression = 'gzip', auto_detect = false, columns = {{{columns}}})"
        )

    def merge(self, sql: str) -> None:
        statement = _local_names(parse_bigquery(sql))
        duck = statement.sql("duckdb")
        assert duck.endswith("THEN INSERT ROW"), duck
        self.conn.execute(duck.removesuffix("INSERT ROW") + "INSERT BY POSITION")

    def load(self, month: TlcMonth) -> None:
        sql = rendered_sql(month.taxi, month.year, month.month)
        self.run(sql["bq_create_table"])
        self.external_table(sql["bq_external_table"], month.path)
        self.run(sql["bq_month_table"])
        self.merge(sql["bq_merge"])

    def rows(self, taxi: str) -> list[Any]:
        return self.conn.execute(f"SELECT * FROM {taxi}_tripdata ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlcMonth]:
    folder = tmp_path_factory.mktemp("tlc_bq")
    return {
        "yellow_01": write_month(folder / "a", "yellow", 2019, 1, rows=300, duplicates=4),
        "yellow_02": write_month(folder / "b", "yellow", 2019, 2, rows=200),
        "green_01": write_month(folder / "c", "green", 2019, 1, rows=150, duplicates=2),
    }


def test_merge_loads_every_row_and_a_rerun_changes_nothing(months: dict[str, TlcMonth]) -> None:
    bq = DuckBigQuery()
    january = months["yellow_01"]
    bq.load(january)
    first = bq.rows("yellow")
    assert len(first) == january.data_rows == 304, "duplicates are kept, like the course's first load"
    hashes = bq.conn.execute("SELECT count(DISTINCT unique_row_id), min(length(unique_row_id)) FROM yellow_tripdata")
    assert hashes.fetchone() == (300, 32)
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


def test_empty_fields_are_null_in_bigquery_too(months: dict[str, TlcMonth]) -> None:
    bq = DuckBigQuery()
    bq.load(months["yellow_01"])
    nulls = bq.conn.execute("SELECT count(*) FILTER (WHERE passenger_count IS NULL) FROM yellow_tripdata").fetchone()
    assert nulls is not None and nulls[0] > 0


# ---- the verification step of the GCP flow -------------------------------------------------------------


def _verify(path: Path, workdir: Path) -> Any:
    document = flow(GCP_FLOW)
    ctx = flow_context(document, {"taxi": "yellow", "year": "2019", "month": "01"})
    ctx.variables["outputs"] = {"download": {"uri": "kestra:///download/file.csv.gz"}}
    return run_python_script(task(document, "verify"), ctx, {"kestra:///download/file.csv.gz": path}, workdir)


def test_the_gcp_flow_uploads_only_a_checked_file(months: dict[str, TlcMonth], tmp_path: Path) -> None:
    good = _verify(months["yellow_01"].path, tmp_path / "good")
    assert good.exit_code == 0 and "304 data rows" in good.stdout
    assert not (tmp_path / "good" / "tripdata.csv").exists(), "verify-only: nothing is rewritten for BigQuery"
    cut = truncated_copy(months["yellow_01"].path, tmp_path / "cut.csv.gz", 0.4)
    bad = _verify(cut, tmp_path / "bad")
    assert bad.exit_code == 1
    assert re.search(r"yellow_tripdata_2019-01\.csv\.gz is truncated or corrupt after line \d+", bad.stderr)
