"""Which checks each stack runs, in the order a learner should fix them.

Every check is guarded: an unexpected exception becomes one failed line (the doctor must
never greet a learner with a traceback), unless DEBUG=1 asks for the traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar

from ops.doctor import checks_gcp, checks_settings, checks_tools
from ops.doctor.checks_docker import check_kestra_socket, check_ports, probe_docker
from ops.doctor.context import DoctorContext
from ops.doctor.model import CheckResult, Report
from stacks.settings import LOCAL_STACK, STACK_NAMES

STACKS = STACK_NAMES
T = TypeVar("T")


def _attempt(check: str, title: str, run: Callable[[], T]) -> T | CheckResult:
    """run(), or one failed line saying the check itself broke."""
    try:
        return run()
    except Exception as error:
        if os.environ.get("DEBUG") == "1":
            raise
        return CheckResult.fail(
            check,
            title,
            f"the check itself failed: {type(error).__name__}: {error}",
            "rerun with DEBUG=1 for the traceback and report it",
        )


def _guard(check: str, title: str, run: Callable[[], CheckResult | list[CheckResult]]) -> list[CheckResult]:
    result = _attempt(check, title, run)
    return result if isinstance(result, list) else [result]


def _common(ctx: DoctorContext) -> list[CheckResult]:
    results: list[CheckResult] = []
    results += _guard("settings", "Settings", lambda: checks_settings.check_settings(ctx))
    results += _guard("kestra_image", "Kestra image", lambda: checks_settings.check_kestra_image(ctx))
    results += _guard("postgres_images", "PostgreSQL images", lambda: checks_settings.check_postgres_images(ctx))
    results += _guard("flows", "Flows", lambda: checks_settings.check_flows(ctx))
    results += _guard("state", "Terraform state", lambda: checks_settings.check_state_private(ctx))
    results += _guard("python", "Python", lambda: checks_tools.check_python(ctx))
    results += _guard("node", "Node.js", lambda: checks_tools.check_node(ctx))
    results += _guard("terraform", "Terraform", lambda: checks_tools.check_terraform(ctx))
    results += _guard("cdktf", "cdktf CLI", lambda: checks_tools.check_cdktf_cli(ctx))
    return results


def _local(ctx: DoctorContext) -> list[CheckResult]:
    results = _guard("credentials", "Local credentials", lambda: checks_settings.check_local_credentials(ctx))
    probe = _attempt("docker", "Docker engine", lambda: probe_docker(ctx))
    if isinstance(probe, CheckResult):
        return [*results, probe]
    results.append(probe.result)
    results += _guard("docker.socket", "Docker socket for Kestra", lambda: check_kestra_socket(ctx))
    results += _guard("ports", "Host ports", lambda: check_ports(ctx, probe))
    results += _guard("gcp.local", "GCP flows in the local Kestra", lambda: checks_gcp.check_local_gcp(ctx))
    return results


def _gcp(ctx: DoctorContext) -> list[CheckResult]:
    results: list[CheckResult] = []
    adc = _attempt("gcp.adc", "Google credentials (ADC)", lambda: checks_gcp.probe_adc(ctx))
    if isinstance(adc, CheckResult):
        return [adc]
    results.append(adc.result)
    project_results, project = checks_gcp.check_project(ctx, adc)
    results += project_results
    results += _guard("gcp.apis", "Google Cloud APIs", lambda: checks_gcp.check_apis(ctx, project))
    results += _guard("gcp.target", "Bucket and dataset", lambda: checks_gcp.check_target(ctx, project))
    results += _guard("gcp.git", "Flows repository", lambda: checks_gcp.check_git_source(ctx))
    return results


def run_doctor(stack: str, env: Mapping[str, str], **overrides: object) -> Report:
    """All checks for `stack` ("local" or "gcp") against `env`."""
    if stack not in STACKS:
        raise ValueError(f"unknown stack {stack!r}")
    ctx = DoctorContext.build(stack, env, **overrides)
    results = _common(ctx)
    results += _local(ctx) if stack == LOCAL_STACK else _gcp(ctx)
    return Report(stack=stack, results=tuple(results))
