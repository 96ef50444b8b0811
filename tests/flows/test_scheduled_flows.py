"""The scheduled flows: the on-demand flow's tasks, the month from trigger.date, the course's crons.

A backfill's executions must show what the video shows (the same tasks, variables and labels as the
on-demand flow), so each scheduled flow is compared with its on-demand twin: for every published
month, every task and variable renders the same from trigger.date as from the year/month inputs.
Only the lines where the month comes from may differ.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from tests.support.flow_sql import context, flow, iter_tasks, render

# (scheduled, on-demand): the course's pairs (the GCP pair is added once its flows have this shape).
PAIRS = [("05_postgres_taxi_scheduled", "04_postgres_taxi")]
PUBLISHED = [(y, m) for y, m in itertools.product((2019, 2020, 2021), range(1, 13)) if (y, m) <= (2021, 7)]
ON_DEMAND_YEARS = [(y, m) for y, m in PUBLISHED if y < 2021]  # 2021 is the homework's to add


def _everything(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [*iter_tasks(document.get("tasks")), *iter_tasks(document.get("finally"))]


@pytest.mark.parametrize(("scheduled", "on_demand"), PAIRS)
def test_the_course_s_crons_and_no_time_zone_preset(scheduled: str, on_demand: str) -> None:
    """Green at 09:00, yellow at 10:00 on the 1st; homework question 6 asks the learner to add the zone."""
    triggers = {t["id"]: t for t in flow(scheduled)["triggers"]}
    assert {k: (t["cron"], t["inputs"]) for k, t in triggers.items()} == {
        "green_schedule": ("0 9 1 * *", {"taxi": "green"}),
        "yellow_schedule": ("0 10 1 * *", {"taxi": "yellow"}),
    }
    assert all("timezone" not in t for t in triggers.values())
    assert flow(scheduled)["concurrency"] == {"limit": 1}


@pytest.mark.parametrize(("scheduled", "on_demand"), PAIRS)
def test_the_same_task_ids_types_and_properties_apart_from_the_month(scheduled: str, on_demand: str) -> None:
    def shape(document: dict[str, Any]) -> list[Any]:
        return [(t["id"], t["type"], sorted(t)) for t in _everything(document)]

    assert shape(flow(scheduled)) == shape(flow(on_demand))
    assert flow(scheduled)["pluginDefaults"] == flow(on_demand)["pluginDefaults"]
    assert sorted(flow(scheduled)["variables"]) == sorted(flow(on_demand)["variables"])


@pytest.mark.parametrize(("scheduled", "on_demand"), PAIRS)
@pytest.mark.parametrize("taxi", ["yellow", "green"])
def test_every_task_and_variable_renders_the_same_for_each_month(scheduled: str, on_demand: str, taxi: str) -> None:
    sched_doc, demand_doc = flow(scheduled), flow(on_demand)
    outputs = {"extract": {"outputFiles": {}}}
    for year, month in ON_DEMAND_YEARS:
        trigger = {"date": datetime(year, month, 1, 9 if taxi == "green" else 10)}
        by_trigger = context(sched_doc, {"taxi": taxi}, trigger=trigger, outputs=outputs)
        by_inputs = context(demand_doc, {"taxi": taxi, "year": f"{year}", "month": f"{month:02d}"}, outputs=outputs)
        name = f"{taxi}_tripdata_{year}-{month:02d}.csv"
        outputs["extract"]["outputFiles"] = {name: f"kestra:///extract/{name}"}
        for key in demand_doc["variables"]:
            expression = "{{ render(vars." + key + ") }}" if isinstance(demand_doc["variables"][key], str) else None
            if expression:
                assert render(expression, by_trigger) == render(expression, by_inputs), (key, year, month)
        for mine, theirs in zip(_everything(sched_doc), _everything(demand_doc), strict=True):
            assert render(mine, by_trigger) == render(theirs, by_inputs), (mine["id"], year, month)


@pytest.mark.parametrize(("scheduled", "on_demand"), PAIRS)
def test_a_month_after_2021_07_is_refused_by_the_extract(scheduled: str, on_demand: str) -> None:
    """Rendered only: test_postgres_load runs it. The same line in both flows."""
    document = flow(scheduled)
    (extract,) = [t for t in _everything(document) if t["id"] == "extract"]
    ctx = context(document, {"taxi": "yellow"}, trigger={"date": datetime(2021, 8, 1, 10)})
    refusal = render(extract["commands"], ctx)[1]
    assert refusal.startswith("test 202108 -le 202107 ||") and "2021-08 is not published" in refusal


@pytest.mark.parametrize(("scheduled", "on_demand"), PAIRS)
def test_each_flow_defaults_to_the_course_s_taxi(scheduled: str, on_demand: str) -> None:
    """What the learner sees preselected in the Execute dialog is what the course's video shows."""
    for name in (scheduled, on_demand):
        (taxi_input,) = [i for i in flow(name)["inputs"] if i["id"] == "taxi"]
        assert taxi_input["defaults"] == "yellow"
