"""How fast does a downloaded month become visible in PostgreSQL? Ours and the course's path, against the floor.

One durable PostgreSQL (fsync on), `--months` generated yellow months (default 10) of `--rows`
trips each (default 1 M). Every path starts from the downloaded `.csv.gz` and ends when the
month is committed and visible:

* floor       - decompress the file, then COPY it into a logged table with the same columns
                (no check, no hash, nothing replaced: the least any load can do);
* course path - the course's flow: decompress, COPY into a staging table, UPDATE to add the hash
                and filename, MERGE into an unindexed `{taxi}_tripdata` on unique_row_id;
* ours        - flows/04_postgres_taxi.yaml run by tests/support/flow_sql.py: the extract task's own
                commands (download stand-in, gunzip, header check, blank lines and quotes out), then
                the flow's own SQL: COPY into the UNLOGGED staging table, then one transaction that
                deletes the month (index on filename) and inserts it with the course's md5.

Months 01..N load in order, so the target grows to N months (is the last month as fast as the
first?), then month 01 again with the table full (a rerun). The floor is measured right before
each step, on the same file. Each measurement starts after a CHECKPOINT, with autovacuum off so
that the background vacuum of a previous step's rows cannot land in it.

    make bench                 # 1 M rows x 10 months, 1 round: ~4 minutes on 2 cores (+2 the first
                               # time, to generate the months; they are kept in --data-dir)
    make bench ROWS=200000     # quicker
    make bench ROUNDS=3        # medians of 3 rounds: ~11 minutes
"""

from __future__ import annotations

import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project root, for `stacks` and `tests.support`

import psycopg  # noqa: E402

from common.errors import CommandLine, run_cli  # noqa: E402
from tests.support.flow_sql import context, copy_in, flow, load_month, render, task  # noqa: E402
from tests.support.postgres_server import PostgresServer  # noqa: E402
from tests.support.tlc_data import YELLOW_COLUMNS, TlcMonth, write_month  # noqa: E402

FLOW = "04_postgres_taxi"
COLUMN_LIST = ", ".join(YELLOW_COLUMNS)
SEED_HASH = (
    "md5(COALESCE(CAST(VendorID AS text), '') || COALESCE(CAST(tpep_pickup_datetime AS text), '') || "
    "COALESCE(CAST(tpep_dropoff_datetime AS text), '') || COALESCE(PULocationID, '') || "
    "COALESCE(DOLocationID, '') || COALESCE(CAST(fare_amount AS text), '') || "
    "COALESCE(CAST(trip_distance AS text), ''))"
)


@dataclass
class Timing:
    label: str
    samples: list[float]
    rows: int
    floor: float | None = None  # median plain COPY of the same file

    @property
    def seconds(self) -> float:
        return statistics.median(self.samples)

    def line(self) -> str:
        ratio = f"{self.seconds / self.floor:5.2f}x" if self.floor else "   - "
        spread = f"{min(self.samples):.2f}-{max(self.samples):.2f}"
        return (
            f"  {self.label:<44} {self.seconds:7.2f} s {spread:>11} {self.rows / self.seconds:11,.0f} rows/s   {ratio}"
        )


def _columns_ddl() -> str:
    """The course's yellow columns and types, as the flow's staging table has them (without the
    first two, unique_row_id and filename)."""
    document = flow(FLOW)
    sql = render(task(document, "yellow_create_staging_table")["sql"], context(document, {"taxi": "yellow"}))
    lines = sql[sql.index("(") + 1 : sql.rindex(")")].strip().splitlines()
    return "\n".join(lines[2:])


def _timed(conn: psycopg.Connection[Any], action: Callable[[], int]) -> tuple[float, int]:
    conn.execute("CHECKPOINT")  # start each measurement with no dirty pages from the previous one
    start = time.perf_counter()
    rows = action()
    return time.perf_counter() - start, rows


def _month_files(folder: Path, rows: int, count: int) -> dict[int, TlcMonth]:
    folder.mkdir(parents=True, exist_ok=True)
    months = {}
    for month in range(1, count + 1):
        target = folder / f"{rows}" / f"yellow_tripdata_2019-{month:02d}.csv.gz"
        if target.exists():
            months[month] = TlcMonth(target, "yellow", 2019, month, rows)
        else:
            print(f"generating {rows:,} yellow trips for 2019-{month:02d} in {target.parent} ...", flush=True)
            months[month] = write_month(target.parent, "yellow", 2019, month, rows)
    return months


def _gunzip(source: Path, target: Path) -> Path:
    with gzip.open(source, "rb") as data, target.open("wb") as out:
        shutil.copyfileobj(data, out, 1 << 20)
    return target


STORED: dict[str, list[int]] = {"ours": [], "seed": []}  # bytes written to Kestra's internal storage


def _ours(conn: psycopg.Connection[Any], month: TlcMonth) -> int:
    """flows/04_postgres_taxi.yaml from the downloaded file: its extract commands, then its SQL."""
    result = load_month(conn, "yellow", 2019, month.month, month.path)
    STORED["ours"].append(sum(result.extracted.values()))
    return result.outputs["yellow_copy_in_to_staging_table"]["rowCount"]


def _floor(conn: psycopg.Connection[Any], month: TlcMonth, work: Path) -> int:
    raw = _gunzip(month.path, work / "floor.csv")
    try:
        return copy_in(conn, "COPY plain FROM STDIN WITH (FORMAT CSV, HEADER TRUE)", raw)
    finally:
        raw.unlink()


def _seed(conn: psycopg.Connection[Any], month: TlcMonth, work: Path) -> int:
    filename = f"yellow_tripdata_2019-{month.month:02d}.csv"
    raw = _gunzip(month.path, work / filename)
    STORED["seed"].append(raw.stat().st_size)  # the course's extract output: the uncompressed month
    conn.execute("TRUNCATE seed_staging")
    copy_in(conn, f"COPY seed_staging ({COLUMN_LIST}) FROM STDIN WITH (FORMAT CSV, HEADER TRUE)", raw)
    raw.unlink()
    conn.execute(f"UPDATE seed_staging SET unique_row_id = {SEED_HASH}, filename = '{filename}'")  # type: ignore[arg-type]
    values = ", ".join(f"S.{c}" for c in YELLOW_COLUMNS)
    with conn.cursor() as cursor:
        cursor.execute(
            "MERGE INTO seed_tripdata AS T USING seed_staging AS S ON T.unique_row_id = S.unique_row_id "  # type: ignore[arg-type]
            f"WHEN NOT MATCHED THEN INSERT (unique_row_id, filename, {COLUMN_LIST}) "
            f"VALUES (S.unique_row_id, S.filename, {values})"
        )
        return cursor.rowcount


def steps(count: int) -> list[tuple[int, str]]:
    """Months 01..N into a growing table, then month 01 again (a rerun, with N months loaded)."""
    loads = [(m, f"month {m:02d} (table holds {m - 1})") for m in range(1, count + 1)]
    return [*loads, (1, f"month 01 again (rerun, holds {count})")]


def _one_round(conn: psycopg.Connection[Any], months: dict[int, TlcMonth], work: Path) -> dict[str, list[float]]:
    """Fresh tables, then each step from the .csv.gz: the floor, the course's path, ours."""
    ddl = _columns_ddl()
    conn.execute("DROP TABLE IF EXISTS yellow_tripdata, seed_staging, seed_tripdata, plain CASCADE")
    conn.execute(f"CREATE TABLE seed_staging (unique_row_id text, filename text, {ddl})")  # type: ignore[arg-type]
    conn.execute(f"CREATE TABLE seed_tripdata (unique_row_id text, filename text, {ddl})")  # type: ignore[arg-type]
    conn.execute(f"CREATE TABLE plain ({ddl})")  # type: ignore[arg-type]
    seconds: dict[str, list[float]] = {"copy": [], "seed": [], "ours": []}
    for month, label in steps(len(months)):
        print(f"    {label} ...", flush=True)
        seconds["copy"].append(_timed(conn, lambda m=month: _floor(conn, months[m], work))[0])
        conn.execute("TRUNCATE plain")
        seconds["seed"].append(_timed(conn, lambda m=month: _seed(conn, months[m], work))[0])
        seconds["ours"].append(_timed(conn, lambda m=month: _ours(conn, months[m]))[0])
    expected = sum(month.data_rows for month in months.values())
    count = conn.execute("SELECT count(*) FROM yellow_tripdata").fetchone()[0]  # type: ignore[index]
    assert count == expected, f"yellow_tripdata holds {count} rows after the loads, expected {expected}"
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(prog="benchmarks/bench_load.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="trips per month (default 1,000,000)")
    parser.add_argument("--months", type=int, default=10, help="months loaded into the growing table (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything; medians are shown (default 1)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "zoomcamp-bench-data",
        help="where generated months are kept between runs",
    )
    args = parser.parse_args(argv)
    if args.months < 2:
        parser.error("--months must be at least 2 (the first and the last month are compared)")
    months = _month_files(args.data_dir, args.rows, args.months)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        with PostgresServer(durable=True) as server, psycopg.connect(server.dsn, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            # Autovacuum would vacuum the previous step's million new rows during a later
            # measurement, at random; every path is measured without it (and with a CHECKPOINT first).
            conn.execute("ALTER SYSTEM SET autovacuum = off")
            conn.execute("SELECT pg_reload_conf()")
            rounds = []
            for number in range(args.rounds):
                print(f"round {number + 1}/{args.rounds} ...", flush=True)
                rounds.append(_one_round(conn, months, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def samples(path: str, step: int) -> list[float]:
        return [r[path][step] for r in rounds]

    def median(path: str, step: int) -> float:
        return statistics.median(samples(path, step))

    print(
        f"\nPostgreSQL {version} (fsync on, autovacuum off), {args.rows:,} generated yellow trips per month, "
        f"{os.cpu_count()} CPUs, median of {args.rounds} round(s)"
    )
    print(f"  {'':<44} {'median':>9} {'min-max':>11} {'':>18}   vs the floor on the same file")
    labels = [label for _, label in steps(args.months)]
    lines = [
        Timing(f"floor (gunzip + COPY), {label.split(' (')[0]}", samples("copy", i), args.rows)
        for i, label in enumerate(labels)
    ]
    for path, name in (("seed", "course path"), ("ours", "ours")):
        lines += [
            Timing(f"{name}, {label}", samples(path, i), args.rows, median("copy", i)) for i, label in enumerate(labels)
        ]
    for timing in lines:
        print(timing.line())
    last, rerun = len(labels) - 2, len(labels) - 1
    for path, name in (("ours", "ours"), ("seed", "course path")):
        ratios = [median(path, i) / median("copy", i) for i in range(len(labels))]
        target = " (targets: median <= 2.3x, month N / 01 <= 1.15, rerun / first <= 1.2)" if path == "ours" else ""
        print(
            f"\n  {name}: month 01 {ratios[0]:.2f}x, month {args.months:02d} {ratios[last]:.2f}x, "
            f"rerun {ratios[rerun]:.2f}x the floor{target}; median of all steps {statistics.median(ratios):.2f}x, "
            f"worst {max(ratios):.2f}x; "
            f"month {args.months:02d} / month 01: {ratios[last] / ratios[0]:.2f}; "
            f"rerun / first: {ratios[rerun] / ratios[0]:.2f}"
        )
    for path, name in (("ours", "ours"), ("seed", "course path")):
        print(f"  {name}: {statistics.median(STORED[path]):,.0f} bytes written to Kestra's storage per month (median)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
