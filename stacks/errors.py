"""One exception type for every mistake a user can make, and one way to print it.

Learners should read "what is wrong and what to do" in one line, not a Java-sized
traceback from jsii. `run_cli` prints `BundleError`s that way; `DEBUG=1` brings the
traceback back for us.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


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
