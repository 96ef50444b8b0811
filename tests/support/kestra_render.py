"""Kestra's own template renderer, for the tests: one JVM (tools/kestra/src/RenderServer.java)
serving a whole test run.

The flows' SQL, shell lines and URLs are Pebble templates that Kestra renders before a task
runs. The tests must run exactly what Kestra would run, so they ask Kestra's VariableRenderer
(with its kv(), secret(), render() functions and date filters) rather than an imitation: a typo
in an expression fails a test with Kestra's own message.

    with KestraRenderer(secrets={"ZOOMCAMP_DB_PASSWORD": "x"}) as kestra:
        kestra.render({"sql": "SELECT '{{ inputs.taxi }}'"}, variables, kv={"zoomcamp": {...}})

`variables` are what a task's RunContext holds (flow, execution, inputs, vars, outputs,
trigger, labels); `flow_variables()` builds them the way Kestra does for a flow file.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any

from tests.support.kestra_judge import KESTRA_DIR, KestraUnavailable, java_for_kestra

TENANT = "main"


class KestraRenderError(AssertionError):
    """Kestra refused to render a template; the message is Kestra's own, first."""


def flow_variables(
    flow: Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    outputs: Mapping[str, Any] | None = None,
    trigger: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    execution_id: str = "4kTestExecution0000000",
) -> dict[str, Any]:
    """The variables Kestra's RunContext gives a task of `flow` (parsed YAML): the flow's own
    `variables` unrendered (a flow renders them with `render()`), inputs as typed values. `outputs`
    is held, not copied: a caller running the tasks adds each one's outputs as Kestra would."""
    variables: dict[str, Any] = {
        "flow": {"id": flow["id"], "namespace": flow["namespace"], "tenantId": TENANT, "revision": 1},
        "execution": {"id": execution_id, "startDate": "2019-01-01T00:00:00.000Z", "originalId": execution_id},
        "inputs": dict(inputs),
        "vars": dict(flow.get("variables") or {}),
        "outputs": outputs if outputs is not None else {},
        "labels": dict(labels or {}),
        "envs": {},
        "globals": {},
    }
    if trigger is not None:
        variables["trigger"] = dict(trigger)
    return variables


def _as_kestra_passes_it(value: object) -> str:
    """Dates and times reach Kestra's renderer as ISO-8601 text (a trigger's `date` is one)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value Kestra's variables hold")


class KestraRenderer:
    """A running RenderServer; use as a context manager (or `start()`/`close()`)."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._secrets = dict(secrets or {})
        self._process: subprocess.Popen[str] | None = None
        self._storage: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> KestraRenderer:
        java = java_for_kestra()
        self._storage = tempfile.TemporaryDirectory(prefix="kestra-render-")
        # Kestra's SecretService reads SECRET_<NAME> (base64), as on a server.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECRET_")}
        for name, value in self._secrets.items():
            env[f"SECRET_{name}"] = base64.b64encode(value.encode()).decode()
        self._process = subprocess.Popen(
            [
                java,
                f"-Dlogback.configurationFile={KESTRA_DIR / 'src' / 'logback.xml'}",
                "-cp",
                f"{KESTRA_DIR / 'classes'}:{KESTRA_DIR / 'lib'}/*",
                "RenderServer",
                self._storage.name,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        ready = self._read_answer()
        if ready != {"ready": True}:
            raise KestraUnavailable(f"Kestra's RenderServer did not start: {ready!r}")
        return self

    def _read_answer(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise KestraUnavailable(f"Kestra's RenderServer exited ({self._process.poll()})")
        return json.loads(line)

    def render_all(
        self,
        templates: Mapping[str, str],
        variables: Mapping[str, Any],
        kv: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(rendered, errors): every template of `templates` rendered by Kestra, keyed as given."""
        if self._process is None:
            self.start()
        assert self._process is not None and self._process.stdin is not None
        request = {"kv": kv or {}, "variables": variables, "templates": dict(templates)}
        self._process.stdin.write(json.dumps(request, default=_as_kestra_passes_it) + "\n")
        self._process.stdin.flush()
        answer = self._read_answer()
        return answer["rendered"], answer["errors"]

    def render(
        self,
        templates: Mapping[str, str],
        variables: Mapping[str, Any],
        kv: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, str]:
        """Every template rendered; KestraRenderError with Kestra's message when one fails."""
        rendered, errors = self.render_all(templates, variables, kv)
        if errors:
            name, message = next(iter(errors.items()))
            raise KestraRenderError(f"Kestra cannot render {name}: {message.splitlines()[0]}")
        return rendered

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._storage is not None:
            self._storage.cleanup()
            self._storage = None

    def __enter__(self) -> KestraRenderer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def strings_with_templates(node: Any, path: str = "") -> dict[str, str]:
    """Every string under `node` (a parsed flow or task) that holds a Pebble expression, by its path."""
    found: dict[str, str] = {}
    if isinstance(node, str):
        if "{{" in node or "{%" in node:
            found[path or "."] = node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            found.update(strings_with_templates(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.update(strings_with_templates(value, f"{path}[{index}]"))
    return found


__all__ = ["KestraRenderError", "KestraRenderer", "flow_variables", "strings_with_templates"]
