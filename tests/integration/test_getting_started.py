"""03_getting_started_data_pipeline: its Python transform and DuckDB query, on a local file.

The flow downloads https://dummyjson.com/products; here tests/fixtures/dummyjson_products.json
(the same shape, some products without a brand) stands in for the download. The script and the
SQL are the flow's own, rendered with the flow's inputs; the query runs on DuckDB in the
script's output folder, which is what `{{ workingDir }}` is for the DuckDB task.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from stacks.settings import PROJECT_ROOT
from tests.support.flow_sql import context as flow_context
from tests.support.flow_sql import flow, render, run_python_script, task

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "dummyjson_products.json"
FLOW = "03_getting_started_data_pipeline"
DOWNLOADED = "kestra:///zoomcamp/03_getting_started_data_pipeline/extract/products"


def run_pipeline(workdir: Path, inputs: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    document = flow(FLOW)
    outputs: dict[str, Any] = {"extract": {"uri": DOWNLOADED}}
    ctx = flow_context(document, inputs, outputs=outputs)
    assert render(task(document, "extract")["uri"], ctx) == "https://dummyjson.com/products"
    transform = run_python_script(task(document, "transform"), ctx, {DOWNLOADED: FIXTURE}, workdir / "transform")
    assert transform.exit_code == 0, transform.stderr
    products = transform.output_files["products.json"]
    outputs["transform"] = {"outputFiles": {"products.json": "kestra:///transform/products.json"}}
    query = task(document, "query")
    query_dir = workdir / "query"
    query_dir.mkdir()
    for name, value in query["inputFiles"].items():
        assert render(value, ctx) == "kestra:///transform/products.json"
        (query_dir / name).write_bytes(products.read_bytes())
    sql = render(query["sql"], flow_context(document, inputs, outputs=outputs, extra={"workingDir": str(query_dir)}))
    rows = duckdb.connect().execute(sql).fetchall()
    return json.loads(products.read_text(encoding="utf-8")), rows


def test_default_columns_give_the_average_price_per_brand(tmp_path: Path) -> None:
    kept, rows = run_pipeline(tmp_path, {})
    assert kept[0] == {"brand": "Essence", "price": 9.99}
    assert len(kept) == 15 and {"brand": "N/A", "price": 1.99} in kept, "a product without brand reads N/A"
    assert rows[0] == ("Annibale Colombo", 2199.99), "the most expensive brand first"
    assert ("N/A", 7.99) in rows
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    assert len(rows) == 12


def test_more_columns_are_kept_and_the_query_still_runs(tmp_path: Path) -> None:
    kept, rows = run_pipeline(tmp_path, {"columns_to_keep": ["title", "brand", "price"]})
    assert kept[6] == {"title": "Coco Noir Eau De", "brand": "Chanel", "price": 129.99}
    assert len(rows) == 12


def test_the_duckdb_query_needs_brand_and_price(tmp_path: Path) -> None:
    with pytest.raises(duckdb.BinderException):
        run_pipeline(tmp_path, {"columns_to_keep": ["title"]})
