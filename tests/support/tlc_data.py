"""TLC-shaped trip CSVs, generated: tests and benchmarks never download the real months.

The files look like the DataTalksClub nyc-tlc-data releases (same header, same column order,
`YYYY-MM-DD HH:MM:SS` local datetimes, amounts written the way pandas wrote them: `7`, `0.5`,
`12.35`), including what trips learners up: empty fields (2019 files leave passenger_count,
RatecodeID and congestion_surcharge empty on some rows), exact duplicate rows, trips whose
pickup lies outside the file's month. Same arguments, same bytes: a seeded generator.

    from tests.support.tlc_data import write_month
    month = write_month(tmp_path, "yellow", 2019, 1, rows=500, duplicates=3)
    month.path, month.data_rows, month.filename   # .../yellow_tripdata_2019-01.csv.gz, 503, ...csv
"""

from __future__ import annotations

import calendar
import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

# Column order of the published files (see the team's TLC_SCHEMA.md).
YELLOW_COLUMNS: tuple[str, ...] = (
    "VendorID",
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "passenger_count",
    "trip_distance",
    "RatecodeID",
    "store_and_fwd_flag",
    "PULocationID",
    "DOLocationID",
    "payment_type",
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "improvement_surcharge",
    "total_amount",
    "congestion_surcharge",
)
GREEN_COLUMNS: tuple[str, ...] = (
    "VendorID",
    "lpep_pickup_datetime",
    "lpep_dropoff_datetime",
    "store_and_fwd_flag",
    "RatecodeID",
    "PULocationID",
    "DOLocationID",
    "passenger_count",
    "trip_distance",
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "ehail_fee",
    "improvement_surcharge",
    "total_amount",
    "payment_type",
    "trip_type",
    "congestion_surcharge",
)
COLUMNS: dict[str, tuple[str, ...]] = {"yellow": YELLOW_COLUMNS, "green": GREEN_COLUMNS}
TAXIS = tuple(COLUMNS)


def tlc_filename(taxi: str, year: int, month: int, *, compressed: bool = True) -> str:
    """`yellow_tripdata_2019-01.csv.gz` (the release asset) or `.csv` (the name the flows store)."""
    name = f"{taxi}_tripdata_{year:04d}-{month:02d}.csv"
    return name + ".gz" if compressed else name


@dataclass(frozen=True)
class TlcMonth:
    """One generated file and what a correct load of it must give."""

    path: Path
    taxi: str
    year: int
    month: int
    data_rows: int

    @property
    def filename(self) -> str:
        """The value the flows store in the `filename` column (the uncompressed name)."""
        return tlc_filename(self.taxi, self.year, self.month, compressed=False)


def _amount_text(cents: int) -> str:
    """Amounts as the published files write them: no trailing zeros, `7` rather than `7.00`."""
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    whole, frac = divmod(cents, 100)
    text = f"{whole}.{frac:02d}".rstrip("0").rstrip(".")
    return "0" if text == "0" else sign + text


# Lookup tables: generating a million rows must take seconds, not minutes (benchmarks).
_AMOUNTS = [_amount_text(c) for c in range(-8000, 40000)]
_CLOCK = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]


def _money(cents: int) -> str:
    return _AMOUNTS[cents + 8000]


class _RowMaker:
    """Builds one month's rows from a seeded generator (same seed, same rows)."""

    def __init__(self, taxi: str, year: int, month: int, seed: int) -> None:
        self.taxi = taxi
        self.rnd = random.Random(f"{taxi}-{year}-{month}-{seed}")
        self.start = datetime(year, month, 1)
        self.span = calendar.monthrange(year, month)[1] * 86400
        # Day strings from the 1st to a few days past the end (dropoffs run over midnight).
        self.days = [(self.start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(self.span // 86400 + 2)]

    def _stamp(self, offset: int) -> str:
        day, second = divmod(offset, 86400)
        if 0 <= day < len(self.days):
            return f"{self.days[day]} {_CLOCK[second]}"
        return (self.start + timedelta(seconds=offset)).strftime("%Y-%m-%d %H:%M:%S")

    def row(self) -> list[str]:
        rnd = self.rnd
        rand, randrange, choice = rnd.random, rnd.randrange, rnd.choice
        pickup = randrange(self.span)
        if rand() < 0.001:  # a few trips from another month, as in the real files
            pickup -= randrange(1, 400) * 86400
        dropoff = pickup + randrange(60, 3600)
        sparse = rand() < 0.03  # rows with the "unknown" fields left empty
        vendor = "" if sparse else choice(("1", "2"))
        passengers = "" if sparse else choice(("1", "1", "1", "2", "3", "5", "6", "0"))
        distance = _money(randrange(0, 1500))
        ratecode = "" if sparse else choice(("1", "1", "1", "2", "5", "99"))
        flag = "" if sparse else choice(("N", "N", "N", "Y"))
        pu, do = str(randrange(1, 266)), str(randrange(1, 266))
        payment = "" if sparse else choice(("1", "1", "2", "3", "4"))
        fare_cents = choice((250, 5200, 700)) if rand() < 0.2 else randrange(0, 6000)
        if rand() < 0.01:  # refunds and disputes are negative
            fare_cents = -fare_cents
        extra_cents = choice((0, 50, 100, 250))
        tip_cents = randrange(0, 800) if payment == "1" else 0
        toll_cents = choice((0, 0, 0, 576, 612))
        total_cents = fare_cents + extra_cents + 50 + tip_cents + toll_cents + 30
        congestion = "" if (sparse or rand() < 0.05) else choice(("0", "2.5"))
        fare, extra, tip, tolls, total = (
            _money(c) for c in (fare_cents, extra_cents, tip_cents, toll_cents, total_cents)
        )
        stamp, stamp_off = self._stamp(pickup), self._stamp(dropoff)
        if self.taxi == "yellow":
            return [vendor, stamp, stamp_off, passengers, distance, ratecode, flag, pu, do, payment, fare, extra, "0.5",
                    tip, tolls, "0.3", total, congestion]  # fmt: skip
        trip_type = "" if sparse else choice(("1", "1", "2"))
        return [vendor, stamp, stamp_off, flag, ratecode, pu, do, passengers, distance, fare, extra, "0.5", tip, tolls,
                "", "0.3", total, payment, trip_type, congestion]  # fmt: skip


def generate_rows(taxi: str, year: int, month: int, rows: int, *, seed: int = 0, duplicates: int = 0) -> Iterator[str]:
    """`rows` distinct trips then `duplicates` exact copies of the first ones, as CSV lines ending in '\\n'."""
    if taxi not in COLUMNS:
        raise ValueError(f"taxi must be one of {TAXIS}, got {taxi!r}")
    if duplicates and not rows:
        raise ValueError("duplicates need at least one row to copy")
    maker = _RowMaker(taxi, year, month, seed)
    kept: list[str] = []
    for index in range(rows):
        line = ",".join(maker.row()) + "\n"
        if index < duplicates:
            kept.append(line)
        yield line
    for index in range(duplicates):
        yield kept[index % len(kept)]


def write_month(
    folder: Path,
    taxi: str,
    year: int,
    month: int,
    rows: int,
    *,
    seed: int = 0,
    duplicates: int = 0,
    compressed: bool = True,
) -> TlcMonth:
    """Write `{taxi}_tripdata_{YYYY}-{MM}.csv[.gz]` in `folder`; `data_rows` = rows + duplicates."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / tlc_filename(taxi, year, month, compressed=compressed)
    with (
        gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=6)
        if compressed
        else open(path, "w", encoding="utf-8", newline="")
    ) as out:
        out.write(",".join(COLUMNS[taxi]) + "\n")
        buffer: list[str] = []
        for line in generate_rows(taxi, year, month, rows, seed=seed, duplicates=duplicates):
            buffer.append(line)
            if len(buffer) >= 10_000:
                out.write("".join(buffer))
                buffer.clear()
        out.write("".join(buffer))
    return TlcMonth(path=path, taxi=taxi, year=year, month=month, data_rows=rows + duplicates)


# ---- broken downloads, each the way learners get them -------------------------------------


def truncated_copy(good: Path, target: Path, fraction: float = 0.6) -> Path:
    """The first `fraction` of the compressed bytes: what a dropped connection leaves behind."""
    data = good.read_bytes()
    target.write_bytes(data[: max(1, int(len(data) * fraction))])
    return target


def html_instead_of_gzip(target: Path) -> Path:
    """What a proxy or an expired link serves instead of the file."""
    target.write_bytes(b"<!DOCTYPE html><html><body>Not Found</body></html>\n")
    return target


def rewrite_lines(good: Path, target: Path, edit: dict[int, str]) -> Path:
    """Copy `good` (gzip) to `target` with line numbers (1 = header) replaced by `edit`'s text."""
    with gzip.open(good, "rt", encoding="utf-8", newline="") as source:
        lines = source.readlines()
    for number, text in edit.items():
        lines[number - 1] = text if text.endswith("\n") else text + "\n"
    with gzip.open(target, "wt", encoding="utf-8", newline="") as out:
        out.writelines(lines)
    return target
