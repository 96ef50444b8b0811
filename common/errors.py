"""One exception type for every mistake a user can make, and one way to print it.

Learners should read "what is wrong and what to do" in one line, not a Java-sized
traceback from jsii. `run_cli` prints `BundleError`s that way; `DEBUG=1` brings the
traceback back for us. Every command line parses its arguments with `CommandLine`
(argparse), so a wrong argument is reported the same way: one `error: ...` line, exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn


class BundleError(Exception):
    """A problem the user can fix; its message says what is wrong and what to do."""


@contextmanager
def explain_interrupt(what_to_do: str) -> Iterator[None]:
    """Ctrl-C half-way through a deploy or destroy: one line on the state left and how to finish."""
    try:
        yield
    except KeyboardInterrupt:
        raise BundleError(f"interrupted: {what_to_do}") from None


def run_cli(entry: Callable[[], int | None]) -> int:
    """Run `entry`, turning a BundleError into one line per problem on stderr and exit code 1."""
    try:
        return entry() or 0
    except BundleError as error:
        if os.environ.get("DEBUG") == "1":
            raise
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1


class CommandLine(argparse.ArgumentParser):
    """argparse for every entry point (`python -m stacks.<tool>`, plan_diff, the benchmarks): `--help`
    as argparse prints it, and a wrong argument as a BundleError naming the usage, which `run_cli`
    prints as one `error: ...` line with exit code 1, like any other mistake (not argparse's
    two lines and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split())  # one line, however wide the terminal
        raise BundleError(f"{message} ({usage})")
