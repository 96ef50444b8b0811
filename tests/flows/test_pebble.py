"""The Pebble subset the validator parses and the tests render with (flowcheck/pebble.py).

The integration tests trust this renderer to produce what Kestra would send to PostgreSQL,
BigQuery and the scripts; these cases pin its behaviour on the constructs the flows use, and
that anything it does not know fails loudly instead of rendering something else.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flowcheck import pebble


@pytest.fixture
def ctx() -> pebble.Context:
    return pebble.Context(
        {
            "inputs": {"taxi": "yellow", "year": "2021", "month": "08", "columns": ["brand", "price"]},
            "vars": {"file": "{{ inputs.taxi }}_tripdata_{{ inputs.year }}-{{ inputs.month }}.csv", "n": {"a": 1}},
            "trigger": {"date": datetime(2019, 3, 1, 9, tzinfo=ZoneInfo("America/New_York"))},
            "execution": {"startDate": "2026-11-25T08:00:00Z"},
        },
        {"kv": lambda key, **_: {"GCP_DATASET": "zoomcamp"}[key]},
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ render(vars.file) }}", "yellow_tripdata_2021-08.csv"),
        ("{{ vars.file }}", "{{ inputs.taxi }}_tripdata_{{ inputs.year }}-{{ inputs.month }}.csv"),
        ("{{ (inputs.year ~ inputs.month) | number > 202107 }}", "true"),
        ("{{ (inputs.year ~ inputs.month) | number <= 202107 }}", "false"),
        ("{{ inputs.taxi == 'yellow' ? 'tpep' : 'lpep' }}", "tpep"),
        ("{{ inputs.missing ?? 'default' }}", "default"),
        ("{{ trigger.date | date('yyyy-MM-dd HH:mm', timeZone='America/New_York') }}", "2019-03-01 09:00"),
        ("{{ trigger.date | date('yyyy-MM-dd HH:mm') }}", "2019-03-01 14:00"),
        ("{{ execution.startDate | date('yyyyMM', timeZone='America/New_York') }}", "202611"),
        ("{{ inputs.columns }}", '["brand","price"]'),
        ("{{ kv('GCP_DATASET') }}.{{ inputs.taxi | upper }}", "zoomcamp.YELLOW"),
        ("{{ vars.n['a'] + 1 }}", "2"),
        ("{% if inputs.taxi == 'green' %}g{% elseif inputs.taxi == 'yellow' %}y{% else %}?{% endif %}", "y"),
        ("{% for c in inputs.columns %}{{ c }}{{ loop.last ? '' : ',' }}{% endfor %}", "brand,price"),
        ("a  {{- inputs.taxi -}}  b", "ayellowb"),
        ("{% raw %}{{ not rendered }}{% endraw %}", "{{ not rendered }}"),
        ("{# a comment #}x", "x"),
        ("{{ 'a}}b' }}", "a}}b"),
    ],
)
def test_renders_like_kestra(template: str, expected: str, ctx: pebble.Context) -> None:
    assert pebble.render(template, ctx) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ inputs.taxii }}", "key 'taxii' does not exist (in inputs.taxii)"),
        ("{{ input.taxi }}", "variable 'input' does not exist"),
        ("{{ inputs.taxi | nosuchfilter }}", "filter 'nosuchfilter' is not implemented"),
        ("{{ inputs.taxi ", "is never closed"),
        ("{{ inputs.taxi) }}", "unexpected ')'"),
        ("{% if true %}x", "missing {% endif %}"),
        ("{% macro m() %}{% endmacro %}", "unsupported tag"),
        ("{{ trigger.date | date('EEE') }}", "date pattern letter 'EEE' is not implemented"),
    ],
)
def test_fails_loudly_on_what_it_cannot_render(template: str, message: str, ctx: pebble.Context) -> None:
    with pytest.raises(pebble.PebbleError, match=message.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        pebble.render(template, ctx)


def test_expressions_report_the_names_they_use() -> None:
    template = pebble.parse_template(
        "{% for r in outputs.q.rows %}{{ r.id ~ inputs.x }}{% endfor %}{% set y = 1 %}{{ y }}"
    )
    found = [(type(e).__name__, sorted(bound)) for e, bound in template.expressions()]
    assert found == [("Attr", []), ("Binary", ["loop", "r"]), ("Literal", []), ("Name", ["y"])]
