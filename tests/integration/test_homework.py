"""The module-2 homework, answered the course's way with our flows on generated months.

Each question the stack can answer without the real files has a test that asks it as a learner
would: the extract task's output and its size (1), the rendered `file` variable (2), row counts
per file and per year from the loaded table (3-5), and the Schedule trigger's time zone, judged
by Kestra's own validation once the learner adds it (6). The real files' answers (for example 24,648,499 yellow rows in
2020) follow from the same queries on the real data: what is proven here is that every row of
every file reaches the table, so the counts are the sums of the files' rows.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from flowcheck import flow_lint
from tests.support.flow_sql import context, flow, load_month, render, run_commands, task
from tests.support.kestra_judge import KestraUnavailable, judge
from tests.support.postgres_server import PostgresServer
from tests.support.tlc_data import TlcMonth, write_month

PG_FLOW = "04_postgres_taxi"
SCHEDULED = "05_postgres_taxi_scheduled"


@pytest.fixture
def db(postgres: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    name = f"homework_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(postgres.dsn.replace("dbname=postgres", f"dbname={name}"), autocommit=True) as conn:
        yield conn
    with psycopg.connect(postgres.dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_q1_the_extract_output_is_the_uncompressed_month_under_the_course_s_name(tmp_path: Path) -> None:
    """Yellow 2020-12: the extract task outputs yellow_tripdata_2020-12.csv, byte for byte the
    uncompressed download, so its size in the Outputs tab is the course's answer on the real file.
    (2020 is offered; the test runs the flow's own extract commands.)"""
    month = write_month(tmp_path / "download", "yellow", 2020, 12, rows=300, duplicates=2)
    document = flow(PG_FLOW)
    outputs: dict[str, Any] = {}
    ctx = context(document, {"taxi": "yellow", "year": "2020", "month": "12"}, outputs=outputs)
    url = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/yellow/yellow_tripdata_2020-12.csv.gz"
    run = run_commands(task(document, "extract"), ctx, tmp_path / "x", month.path, url)
    assert run.exit_code == 0, run.stderr
    assert list(run.output_files) == ["yellow_tripdata_2020-12.csv"], "the .gz is gone: one file, as the course's"
    extracted = run.output_files["yellow_tripdata_2020-12.csv"]
    uncompressed = gzip.decompress(month.path.read_bytes())
    assert extracted.read_bytes() == uncompressed
    assert extracted.stat().st_size == len(uncompressed)
    # The course's `data` variable names that output.
    outputs["extract"] = {"outputFiles": {name: f"kestra:///extract/{name}" for name in run.output_files}}
    assert render("{{ render(vars.data) }}", ctx) == "kestra:///extract/yellow_tripdata_2020-12.csv"


def test_the_year_2021_is_the_learner_s_to_add() -> None:
    """The homework's assignment: extend the year input to 2021. We offer the course's 2019 and 2020."""
    (year,) = [i for i in flow(PG_FLOW)["inputs"] if i["id"] == "year"]
    assert year["values"] == ["2019", "2020"]


@pytest.mark.parametrize("name", [PG_FLOW, "08_gcp_taxi"])
def test_q2_the_file_variable_renders_as_the_course_s(name: str) -> None:
    ctx = context(flow(name), {"taxi": "green", "year": "2020", "month": "04"})
    assert render("{{ render(vars.file) }}", ctx) == "green_tripdata_2020-04.csv"


def _load_year(
    db: psycopg.Connection[Any], folder: Path, taxi: str, year: int, months: range, rows: int
) -> list[TlcMonth]:
    """Load each month with the on-demand flow (2019, 2020) or, for 2021 which the learner adds, the
    scheduled flow's backfill (the same tasks, the month from trigger.date)."""
    loaded = []
    for number in months:
        month = write_month(folder / f"{taxi}{year}{number:02d}", taxi, year, number, rows=rows + number, duplicates=1)
        if year < 2021:
            load_month(db, taxi, year, number, month.path)
        else:
            trigger = {"date": datetime(year, number, 1, 10)}
            load_month(db, taxi, year, number, month.path, flow_name=SCHEDULED, trigger=trigger)
        loaded.append(month)
    return loaded


def _rows_for(db: psycopg.Connection[Any], taxi: str, pattern: str) -> int:
    query = f"SELECT count(*) FROM public.{taxi}_tripdata WHERE filename LIKE %s"
    return db.execute(query, (pattern,)).fetchone()[0]  # type: ignore[arg-type,index]


def test_q3_to_q5_row_counts_per_year_and_per_file_are_the_sums_of_the_files(
    db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """The course's answers count the rows of the CSV files; the table holds every one of them
    (exact duplicate trips included, as the files have them), whatever else is loaded beside."""
    yellow_2020 = _load_year(db, tmp_path, "yellow", 2020, range(1, 13), rows=20)
    green_2020 = _load_year(db, tmp_path, "green", 2020, range(1, 13), rows=15)
    yellow_2021 = _load_year(db, tmp_path, "yellow", 2021, range(1, 8), rows=10)
    _load_year(db, tmp_path, "yellow", 2019, range(12, 13), rows=10)  # a neighbouring year, not counted
    assert _rows_for(db, "yellow", "yellow_tripdata_2020-%") == sum(m.data_rows for m in yellow_2020)
    assert _rows_for(db, "green", "green_tripdata_2020-%") == sum(m.data_rows for m in green_2020)
    march = yellow_2021[2]
    assert _rows_for(db, "yellow", "yellow_tripdata_2021-03.csv") == march.data_rows
    for month in [*yellow_2020, *green_2020, *yellow_2021]:
        with gzip.open(month.path, "rt", encoding="utf-8") as source:
            lines = sum(1 for _ in source) - 1
        assert month.data_rows == lines, month.path.name


def test_q6_the_course_s_schedules_set_no_time_zone() -> None:
    """The question asks which property sets New York time: the learner adds it, as the course has none."""
    assert all("timezone" not in t for t in flow(SCHEDULED)["triggers"])


def test_q6_kestra_accepts_timezone_and_refuses_a_location_property(tmp_path: Path) -> None:
    """The learner's answer (timezone: America/New_York on each trigger) validates in Kestra itself; the
    distractor `location` is refused by Kestra and by our checker alike. Kestra here lacks the shell
    and JDBC plugins (see kestra_judge), so it judges the flow's inputs and triggers around a core task."""
    document = flow(SCHEDULED)
    document["triggers"] = [{**t, "timezone": "America/New_York"} for t in document["triggers"]]
    document["tasks"] = [{"id": "log", "type": "io.kestra.plugin.core.log.Log", "message": "{{ trigger.date }}"}]
    document.pop("pluginDefaults")
    good = tmp_path / "timezone.yaml"
    good.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    wrong = dict(document)
    wrong["id"] = "location"
    wrong["triggers"] = [
        {**{k: v for k, v in t.items() if k != "timezone"}, "location": "New_York"} for t in document["triggers"]
    ]
    bad = tmp_path / "location.yaml"
    bad.write_text(yaml.safe_dump(wrong, sort_keys=False), encoding="utf-8")
    assert flow_lint.lint_report_text(good.read_text(), "timezone.yaml").errors == []
    assert any("location" in e for e in flow_lint.lint_report_text(bad.read_text(), "location.yaml").errors)
    try:
        verdicts = judge([good, bad])
    except KestraUnavailable as error:
        pytest.fail(f"Kestra could not be asked: {error}")
    assert verdicts[good].accepted, verdicts[good].first_line
    assert not verdicts[bad].accepted and "location" in verdicts[bad].first_line
