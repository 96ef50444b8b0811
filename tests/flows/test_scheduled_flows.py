"""The scheduled flows: when they run, what month they load, and the time-zone pitfall.

Each scheduled run calls the load flow with the taxi of its trigger and the year/month of
trigger.date read in the schedule's zone. These tests render the flows' own expressions for
every published month, for the same instant written in other zones (what a backfill started
from a browser elsewhere produces), and for months after 2021-07.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flowcheck import pebble
from tests.support.flow_sql import context as flow_context
from tests.support.flow_sql import flow, render, resolve_inputs, task

SCHEDULED = {"05_postgres_taxi_scheduled": "04_postgres_taxi", "09_gcp_taxi_scheduled": "08_gcp_taxi"}
NEW_YORK = ZoneInfo("America/New_York")
PUBLISHED = [(y, m) for y, m in itertools.product((2019, 2020, 2021), range(1, 13)) if (y, m) <= (2021, 7)]


@pytest.mark.parametrize("name", SCHEDULED)
def test_green_at_9_and_yellow_at_10_on_the_first_new_york_time_one_run_at_a_time(name: str) -> None:
    document = flow(name)
    triggers = {t["id"]: t for t in document["triggers"]}
    assert {k: (t["cron"], t["timezone"], t["inputs"]) for k, t in triggers.items()} == {
        "green_schedule": ("0 9 1 * *", "America/New_York", {"taxi": "green"}),
        "yellow_schedule": ("0 10 1 * *", "America/New_York", {"taxi": "yellow"}),
    }
    assert document["concurrency"] == {"limit": 1, "behavior": "QUEUE"}
    assert flow(SCHEDULED[name])["concurrency"] == {"limit": 1, "behavior": "QUEUE"}


@pytest.mark.parametrize("name", SCHEDULED)
def test_each_published_month_calls_the_load_flow_with_its_own_month(name: str) -> None:
    document, target = flow(name), flow(SCHEDULED[name])
    call = task(document, "load_month")
    assert (call["namespace"], call["flowId"]) == (target["namespace"], target["id"])
    assert call["wait"] is True and call["transmitFailed"] is True
    for (year, month), (taxi, hour) in itertools.product(PUBLISHED, (("green", 9), ("yellow", 10))):
        scheduled = datetime(year, month, 1, hour, tzinfo=NEW_YORK)
        ctx = flow_context(document, {"taxi": taxi}, trigger={"date": scheduled})
        assert not pebble.truthy(render(task(document, "check_month")["condition"], ctx))
        passed = render(call["inputs"], ctx)
        assert passed == {"taxi": taxi, "year": f"{year}", "month": f"{month:02d}"}
        resolve_inputs(target, passed)  # the values are among the load flow's choices


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles"])
def test_the_month_does_not_depend_on_the_zone_the_date_is_written_in(zone: str) -> None:
    """Kestra may hand trigger.date over in another zone (server, backfill form): same instant, same month."""
    document = flow("05_postgres_taxi_scheduled")
    call = task(document, "load_month")
    for year, month in PUBLISHED:
        instant = datetime(year, month, 1, 9, tzinfo=NEW_YORK).astimezone(ZoneInfo(zone))
        ctx = flow_context(document, {"taxi": "green"}, trigger={"date": instant})
        assert render(call["inputs"], ctx)["month"] == f"{month:02d}", (zone, instant)


def test_the_pitfall_is_real_without_the_time_zone() -> None:
    """What the explicit timeZone prevents: the 1st at 09:00 in Sydney is still the 31st in UTC."""
    instant = datetime(2019, 3, 1, 9, tzinfo=ZoneInfo("Australia/Sydney"))
    ctx = pebble.Context({"trigger": {"date": instant}})
    assert pebble.render("{{ trigger.date | date('yyyy-MM') }}", ctx) == "2019-02"
    assert pebble.render("{{ trigger.date | date('yyyy-MM', timeZone='Australia/Sydney') }}", ctx) == "2019-03"


@pytest.mark.parametrize("name", SCHEDULED)
@pytest.mark.parametrize("when", [datetime(2021, 8, 1, 9), datetime(2026, 11, 1, 10)])
def test_months_after_2021_07_fail_with_a_message_before_calling_the_load_flow(name: str, when: datetime) -> None:
    document = flow(name)
    ctx = flow_context(document, {"taxi": "yellow"}, trigger={"date": when.replace(tzinfo=NEW_YORK)})
    fail = task(document, "check_month")
    assert pebble.truthy(render(fail["condition"], ctx))
    assert render(fail["errorMessage"], ctx).startswith(f"{when:%Y-%m} is not published")
    assert [t["id"] for t in document["tasks"]] == ["check_month", "load_month"]


def test_a_manual_run_uses_its_start_date_and_fails_clearly() -> None:
    document = flow("05_postgres_taxi_scheduled")
    ctx = flow_context(document, {"taxi": "green"})  # no trigger: started with Execute
    ctx.variables["execution"]["startDate"] = "2026-11-25T08:00:00Z"
    fail = task(document, "check_month")
    assert pebble.truthy(render(fail["condition"], ctx))
    assert render(fail["errorMessage"], ctx).startswith("2026-11 is not published")


@pytest.mark.parametrize("name", SCHEDULED)
def test_the_labels_of_a_scheduled_or_backfilled_run_reach_the_load(name: str) -> None:
    """A backfill labelled `backfill: true` (as the course does) labels the execution that loads too."""
    subflow = task(flow(name), "load_month")
    assert subflow["type"] == "io.kestra.plugin.core.flow.Subflow"
    assert subflow["inheritLabels"] is True


@pytest.mark.parametrize(
    ("name", "taxi"),
    [
        ("04_postgres_taxi", "yellow"),
        ("08_gcp_taxi", "green"),
        ("05_postgres_taxi_scheduled", "yellow"),
        ("09_gcp_taxi_scheduled", "green"),
    ],
)
def test_each_load_flow_defaults_to_the_course_s_taxi(name: str, taxi: str) -> None:
    """What the learner sees preselected in the Execute dialog is what the course's video shows."""
    (taxi_input,) = [i for i in flow(name)["inputs"] if i["id"] == "taxi"]
    assert taxi_input["defaults"] == taxi
