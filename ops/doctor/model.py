"""What a doctor check returns, and the two ways a report is shown (terminal and JSON).

A check never raises: it says ok, fail, warn or skip, in one line, and when it is not ok
it carries one line the learner can act on. Only `fail` makes the exit code non-zero,
because only a failing check means the deploy would fail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"  # the deploy would fail: exit code 1
    WARN = "warn"  # worth knowing, but the deploy can go on
    SKIP = "skip"  # could not be checked because an earlier check failed


SYMBOLS: dict[Status, str] = {Status.OK: "✓", Status.FAIL: "✗", Status.WARN: "!", Status.SKIP: "-"}
ASCII_SYMBOLS: dict[Status, str] = {Status.OK: "OK", Status.FAIL: "XX", Status.WARN: "!!", Status.SKIP: "--"}


@dataclass(frozen=True)
class CheckResult:
    check: str  # stable id for --json consumers, e.g. "port.kestra"
    title: str  # what was checked, e.g. "Kestra port"
    status: Status
    message: str  # one line: what was found
    fix: str | None = None  # one line: what to do (None when nothing is to do)

    @classmethod
    def ok(cls, check: str, title: str, message: str) -> CheckResult:
        return cls(check, title, Status.OK, message)

    @classmethod
    def fail(cls, check: str, title: str, message: str, fix: str) -> CheckResult:
        return cls(check, title, Status.FAIL, message, fix)

    @classmethod
    def warn(cls, check: str, title: str, message: str, fix: str | None = None) -> CheckResult:
        return cls(check, title, Status.WARN, message, fix)

    @classmethod
    def skip(cls, check: str, title: str, message: str) -> CheckResult:
        return cls(check, title, Status.SKIP, message)


@dataclass(frozen=True)
class Report:
    stack: str
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status is Status.FAIL)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> str:
        document = {
            "stack": self.stack,
            "ok": self.ok,
            "failed": len(self.failures),
            "checks": [{**asdict(r), "status": r.status.value} for r in self.results],
        }
        return json.dumps(document, indent=2, ensure_ascii=False)

    def render_text(self, unicode: bool = True) -> str:
        symbols = SYMBOLS if unicode else ASCII_SYMBOLS
        arrow = "→" if unicode else "->"
        lines = [f"Checking what `make deploy-{self.stack}` needs:"]
        for result in self.results:
            lines.append(f"  {symbols[result.status]} {result.title}: {result.message}")
            if result.fix:
                lines.append(f"      {arrow} {result.fix}")
        if self.ok:
            lines.append(f"All checks passed: `make deploy-{self.stack}` can go ahead.")
        else:
            count = len(self.failures)
            noun = "problem" if count == 1 else "problems"
            lines.append(
                f"{count} {noun} would make the deploy fail: fix the lines marked {symbols[Status.FAIL]}, "
                f"then rerun `make doctor STACK={self.stack}`."
            )
        return "\n".join(lines)
