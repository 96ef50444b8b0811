"""Everything a doctor check may look at, gathered once: the environment and the settings.

Settings are read here exactly as `cdktf synth` reads them, but a bad value becomes a list
of problems (shown as failed checks) instead of stopping the doctor: a learner should
see every problem in one run, not one per attempt.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stacks.local.credentials import CREDENTIALS_FILE
from stacks.settings import PROJECT_ROOT, Settings, SettingsError

_VARIABLE = re.compile(r"^([A-Z][A-Z0-9_]*)")


@dataclass(frozen=True)
class DoctorContext:
    stack: str
    env: Mapping[str, str]
    settings: Settings | None
    settings_problems: tuple[str, ...]
    project_root: Path = PROJECT_ROOT
    credentials_file: Path = CREDENTIALS_FILE
    python_version: tuple[int, int, int] = field(default_factory=lambda: tuple(sys.version_info[:3]))  # type: ignore[arg-type]
    docker_timeout: float = 3.0
    command_timeout: float = 30.0

    @classmethod
    def build(cls, stack: str, env: Mapping[str, str], **overrides: object) -> DoctorContext:
        """Settings for exactly this stack, as `make deploy-<stack>` sets ZOOMCAMP_STACKS."""
        stack_env = {**env, "ZOOMCAMP_STACKS": stack}
        try:
            settings: Settings | None = Settings.from_env(stack_env)
            problems: tuple[str, ...] = ()
        except SettingsError as error:
            settings, problems = None, tuple(str(error).splitlines())
        return cls(stack=stack, env=env, settings=settings, settings_problems=problems, **overrides)  # type: ignore[arg-type]

    def problems_of(self, *variables: str) -> list[str]:
        """The settings problems that name one of `variables` first."""
        return [p for p in self.settings_problems if problem_variable(p) in variables]

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project_root))
        except ValueError:
            return str(path)


def problem_variable(problem: str) -> str | None:
    """Settings problems start with the variable they are about, e.g. `KESTRA_PORT='x' must ...`."""
    match = _VARIABLE.match(problem)
    return match.group(1) if match else None
