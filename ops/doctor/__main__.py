"""Command line of the doctor: `python -m ops.doctor [--stack local|gcp] [--json]`."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from common.errors import CommandLine, run_cli
from ops.doctor.runner import STACKS, run_doctor
from stacks.settings import LOCAL_STACK


def _supports_symbols(stream: TextIO) -> bool:
    try:
        "✓✗→".encode(stream.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    parser = CommandLine(
        prog="python -m ops.doctor",
        description="Check that this machine can deploy a stack; exit code 1 when a deploy would fail.",
        epilog="Through make: `make doctor`, `make doctor STACK=gcp`, `make doctor JSON=1`.",
    )
    parser.add_argument("--stack", choices=STACKS, default=LOCAL_STACK, help="the stack to check (default: local)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for CI)")
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    report = run_doctor(args.stack, os.environ)
    if args.json:
        print(report.to_json(), file=out)
    else:
        print(report.render_text(unicode=_supports_symbols(out)), file=out)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(run_cli(main))
