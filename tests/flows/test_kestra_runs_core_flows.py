"""Flows made only of Kestra's core tasks, run by Kestra's own task code (a worker's job, in order).

01_hello_world is the course's first lesson: what a learner sees in its Logs and Outputs tabs is
what Kestra computes here from the file (plugin defaults, typed inputs, render(), outputs).
"""

from __future__ import annotations

from tests.support.kestra_judge import run_core_flow
from tests.support.synth import FLOWS_DIR

HELLO_OUTPUT = "I was generated during this workflow."  # the course's text


def test_hello_world_runs_in_kestra_as_the_lesson_shows() -> None:
    run = run_core_flow(FLOWS_DIR / "01_hello_world.yaml", {})  # the default name
    assert [(t["id"], t["state"]) for t in run.tasks] == [
        ("hello_message", "SUCCESS"),
        ("generate_output", "SUCCESS"),
        ("sleep", "SUCCESS"),
        ("log_output", "SUCCESS"),
        ("goodbye_message", "SUCCESS"),
    ]
    assert run.inputs == {"name": "Will"}
    assert run.task("generate_output")["outputs"] == {"value": HELLO_OUTPUT}
    # pluginDefaults put every Log of the flow at ERROR level, as the video shows.
    assert run.logs == [
        "ERROR Hello, Will!",
        f"ERROR This is an output: {HELLO_OUTPUT}",
        "ERROR Goodbye, Will!",
    ]
