"""Kestra's cron flavour, for the Git sync schedule setting (stacks/settings.py): a bad value is
refused at synth, where no Kestra runs (a flow's own Schedule triggers Kestra judges in the tests).

Kestra's Schedule trigger parses `cron` with cron-utils, using its own definition (Kestra's
io.kestra.plugin.core.trigger.Schedule): the five Unix fields with strict ranges, names (JAN-DEC,
SUN-SAT), both 0 and 7 for Sunday, no `?`, `L`, `W` or `#`; a leading seconds field only with
`withSeconds: true`; and exactly seven nicknames, lower-case. The fields themselves are checked by
cron-converter, which reads that same strict Unix syntax (tests/unit/test_kestra_cron.py holds the
cases, and asks Kestra itself for each verdict in every test run). croniter, the better-known library, accepts
`?`, `L`, `W`, `#`, reversed ranges and a sixth or seventh field, all of which Kestra refuses.
What no library knows is Kestra's own framing, so it stays here by hand: the nickname list and
the field count that `withSeconds` decides.

One difference is known and left alone: Kestra also refuses a step larger than its field's range
(`*/60` in the minutes); cron-converter accepts it.
"""

from __future__ import annotations

from typing import Any

# cron-utils' nicknames as Kestra's Schedule enables them (case-sensitive: Kestra refuses "@DAILY").
NICKNAMES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
FIELDS = "minute hour day-of-month month day-of-week"


def cron_problem(cron: Any, *, with_seconds: bool = False, nicknames: bool = True) -> str | None:
    """Why Kestra would refuse `cron` as a Schedule's expression, or None.

    `with_seconds`: the trigger's `withSeconds: true` (a sixth, leading field for the seconds).
    `nicknames`: whether `@daily` and the like are allowed (a setting may ask for the fields).
    """
    if not isinstance(cron, str):
        return "must be a string"
    text = cron.strip()
    if nicknames and text in NICKNAMES:
        return None
    fields = text.split()
    expected, names = (6, f"second {FIELDS}") if with_seconds else (5, FIELDS)
    if len(fields) != expected:
        return f"needs {expected} fields ({names}), found {len(fields)}"
    if with_seconds:
        # The seconds take the minutes' range (0-59): checked in the minute's place.
        problem = _fields_problem(f"{fields[0]} * * * *")
        if problem:
            return problem.replace("'minute'", "'second'")
        fields = fields[1:]
    return _fields_problem(" ".join(fields))


def _fields_problem(expression: str) -> str | None:
    # Imported here: settings import this module on every command, and only a cron to check needs it.
    from cron_converter import Cron

    try:
        Cron(expression)
    except ValueError as error:
        # "Invalid value '?' --> invalid literal for int() ...": the part before the arrow is the user's.
        message = str(error).split(" --> ")[0]
        return message[:1].lower() + message[1:]
    return None
