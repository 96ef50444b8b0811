"""Kestra's cron flavour for the Git-sync schedule setting: every verdict here is Kestra's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowcheck import kestra_cron
from tests.support.kestra_judge import KestraUnavailable, judge

# Each verdict here is Kestra's own: test_the_cron_table_is_kestra_s_verdict asks its Schedule trigger.
CRON_CASES = [
    ("0 9 1 * *", False, None),
    ("@monthly", False, None),
    ("*/15 0-6 1,15 JAN-MAR MON", False, None),
    ("0 9 1 jan mon-fri", False, None),
    ("0 9 * * 0-7", False, None),
    ("0 9 * JAN/2 *", False, None),
    ("0 0 9 1 * *", True, None),
    ("0 24 1 * *", False, "value 24 out of range for 'hour'"),
    ("0 9 1 13 *", False, "value 13 out of range for 'month'"),
    ("0 9 0 * *", False, "value 0 out of range for 'day'"),
    ("60 0 9 1 * *", True, "value 60 out of range for 'second'"),
    ("0 9 1 * * *", False, "needs 5 fields"),
    ("0 9 1 * *", True, "needs 6 fields"),
    ("@DAILY", False, "needs 5 fields"),
    ("@reboot", False, "needs 5 fields"),
    ("*/x * * * *", False, "invalid interval step value 'x' for 'minute'"),
    ("*/0 * * * *", False, "invalid interval step value '0' for 'minute'"),
    ("5-1 * * * *", False, "max range is less than min range in '5-1'"),
    ("0 9 ? * *", False, "invalid value '?'"),
    ("0 9 L * *", False, "invalid value 'L'"),
    ("0 9 1W * *", False, "invalid value '1W'"),
    ("0 9 * * 5#2", False, "invalid value '5#2'"),
]


@pytest.mark.parametrize(("cron", "with_seconds", "problem"), CRON_CASES)
def test_cron_rules(cron: str, with_seconds: bool, problem: str | None) -> None:
    found = kestra_cron.cron_problem(cron, with_seconds=with_seconds)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_the_cron_table_is_kestra_s_verdict(tmp_path: Path) -> None:
    """kestra_cron imitates Kestra's cron rules: every case above goes to Kestra's own validation
    (a Schedule trigger with that cron and withSeconds), which must accept or refuse it alike."""
    paths = []
    for number, (cron, with_seconds, _) in enumerate(CRON_CASES):
        path = tmp_path / f"cron_{number}.yaml"
        path.write_text(
            f"id: cron_{number}\nnamespace: zoomcamp\ntasks:\n  - id: hello\n"
            "    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n  - id: schedule\n"
            f"    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '{cron}'\n"
            f"    withSeconds: {str(with_seconds).lower()}\n    timezone: America/New_York\n",
            encoding="utf-8",
        )
        paths.append(path)
    try:
        verdicts = judge(paths)
    except KestraUnavailable as error:
        pytest.fail(f"Kestra could not be asked: {error}")
    disagreements = [
        (cron, with_seconds, problem, verdicts[path].first_line)
        for path, (cron, with_seconds, problem) in zip(paths, CRON_CASES, strict=True)
        if verdicts[path].accepted != (problem is None)
    ]
    assert disagreements == [], disagreements
