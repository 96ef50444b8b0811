"""Checks of what the repository itself holds: settings, pinned images, flows, credentials.

These catch the mistakes that would otherwise surface minutes into a deploy: a Kestra
`develop` or `latest` image, a PostgreSQL older than 15 (which the taxi flows refuse), a broken
flow file, a half-edited credentials file.
"""

from __future__ import annotations

from flowcheck.flow_catalog import FlowCatalogError, load_flow_catalog
from ops.doctor.context import DoctorContext, problem_variable
from ops.doctor.model import CheckResult
from stacks import versions
from stacks.course_editions import EditionError, edition_flows
from stacks.local.credentials import VARIABLES, read_credentials
from stacks.settings import GCP_STACK, LOCAL_STACK, PROJECT_ROOT, Settings
from stacks.state_backend import readable_by_others, state_files

KESTRA_IMAGE_VARIABLES = ("KESTRA_IMAGE",)
POSTGRES_IMAGE_VARIABLES = ("ZOOMCAMP_PG_IMAGE", "KESTRA_PG_IMAGE")
# Variables whose problems a later check reports in context (so each problem shows once).
_OWN_CHECKS: dict[str, tuple[str, ...]] = {
    LOCAL_STACK: KESTRA_IMAGE_VARIABLES + POSTGRES_IMAGE_VARIABLES,
    GCP_STACK: (*KESTRA_IMAGE_VARIABLES, *POSTGRES_IMAGE_VARIABLES, "GCP_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS"),
}


def check_settings(ctx: DoctorContext) -> list[CheckResult]:
    """One failed line per bad variable (the images have checks of their own below)."""
    problems = [p for p in ctx.settings_problems if problem_variable(p) not in _OWN_CHECKS[ctx.stack]]
    if not problems:
        return [CheckResult.ok("settings", "Settings", "environment variables are valid")]
    results = []
    for problem in problems:
        variable = problem_variable(problem)
        fix = (
            f"change or unset {variable} (docs/settings.md lists allowed values)"
            if variable
            else "correct the setting named in the message"
        )
        results.append(CheckResult.fail("settings", "Settings", problem, fix))
    return results


def check_kestra_image(ctx: DoctorContext) -> CheckResult:
    title = "Kestra image"
    problems = ctx.problems_of(*KESTRA_IMAGE_VARIABLES)
    if problems:
        return CheckResult.fail(
            "kestra_image",
            title,
            problems[0],
            f"unset KESTRA_IMAGE to use the tested {versions.KESTRA_IMAGE}, or name another v1.x.y release",
        )
    image = ctx.settings.kestra.image if ctx.settings else (ctx.env.get("KESTRA_IMAGE") or versions.KESTRA_IMAGE)
    return CheckResult.ok(
        "kestra_image", title, f"{image} (a pinned release; Kestra provider {versions.KESTRA_PROVIDER_VERSION})"
    )


def check_postgres_images(ctx: DoctorContext) -> CheckResult:
    title = "PostgreSQL images"
    problems = ctx.problems_of(*POSTGRES_IMAGE_VARIABLES)
    if problems:
        variable = problem_variable(problems[0])
        return CheckResult.fail(
            "postgres_images",
            title,
            problems[0],
            f"unset {variable} to use {versions.POSTGRES_IMAGE}, or name postgres:"
            f"{versions.MIN_DATA_POSTGRES_MAJOR} or newer (the taxi flows require it; the course SQL uses MERGE)",
        )
    if ctx.settings:
        images = {ctx.settings.local.data_pg_image, ctx.settings.local.metadata_pg_image}
    else:
        images = {ctx.env.get(v) or versions.POSTGRES_IMAGE for v in POSTGRES_IMAGE_VARIABLES}
    return CheckResult.ok(
        "postgres_images",
        title,
        f"{', '.join(sorted(images))} (>= {versions.MIN_DATA_POSTGRES_MAJOR}: what the taxi flows require)",
    )


def check_flows(ctx: DoctorContext) -> CheckResult:
    title = "Flows"
    flows_dir = ctx.settings.flows_dir if ctx.settings else PROJECT_ROOT / "flows"
    try:
        flows = load_flow_catalog(flows_dir)
    except FlowCatalogError as error:
        return CheckResult.fail("flows", title, str(error), "fix that flow file, then rerun the doctor")
    if not flows:
        return CheckResult.fail(
            "flows", title, f"no flow files in {ctx.display(flows_dir)}", "restore the flows/ folder from git"
        )
    namespaces = ", ".join(sorted({flow.namespace for flow in flows}))
    files = "1 valid flow file" if len(flows) == 1 else f"{len(flows)} valid flow files"
    summary = f"{files} in {ctx.display(flows_dir)}/ (namespace {namespaces})"
    if ctx.settings is None:
        return CheckResult.ok("flows", title, summary)
    edition = ctx.settings.course_edition
    try:
        deployed = edition_flows(flows, edition)
    except EditionError as error:
        return CheckResult.fail(
            "flows", title, str(error), f"fix the flow or stacks/course_editions.yaml (edition {edition})"
        )
    return CheckResult.ok("flows", title, f"{summary}; course edition {edition} deploys {len(deployed)}")


def check_local_credentials(ctx: DoctorContext) -> list[CheckResult]:
    title = "Local credentials"
    path = ctx.credentials_file
    shown = ctx.display(path)
    if not path.exists():
        return [CheckResult.ok("credentials", title, f"{shown} will be generated by the deploy (git-ignored)")]
    try:
        values = read_credentials(path)
    except (OSError, UnicodeDecodeError) as error:
        return [
            CheckResult.fail(
                "credentials", title, f"cannot read {shown}: {error}", f"make {shown} readable by your user"
            )
        ]
    missing = sorted(set(VARIABLES) - set(values))
    if missing:
        return [
            CheckResult.fail(
                "credentials",
                title,
                f"{shown} lacks {', '.join('TF_VAR_' + name for name in missing)}",
                "add the lines, or delete the file together with the volumes "
                "(ZOOMCAMP_SANDBOX=true make destroy-local) to start fresh",
            )
        ]
    results = [CheckResult.ok("credentials", title, f"{shown} holds every password the stack needs")]
    wanted = ctx.env.get("KESTRA_PASSWORD")
    if wanted and wanted != values.get("kestra_password"):
        results.append(
            CheckResult.warn(
                "credentials",
                title,
                f"KESTRA_PASSWORD differs from TF_VAR_kestra_password in {shown}; the file wins",
                f"unset KESTRA_PASSWORD: the password Kestra gets is TF_VAR_kestra_password in {shown}",
            )
        )
    return results


def check_state_private(ctx: DoctorContext) -> CheckResult:
    """A local Terraform state others can read gives them the stack's passwords (the containers' environment)."""
    title = "Terraform state"
    settings = ctx.settings or Settings.from_env({"ZOOMCAMP_STACKS": ctx.stack})
    files = state_files(ctx.project_root, ctx.stack, settings)
    if not files:
        return CheckResult.ok("state", title, "no local state file yet (or it is in the state bucket)")
    readable = [path for path in files if readable_by_others(path)]
    if not readable:
        return CheckResult.ok("state", title, f"{', '.join(ctx.display(p) for p in files)} readable by you only")
    shown = " ".join(ctx.display(path) for path in readable)
    mode = oct(readable[0].stat().st_mode & 0o777)[2:]
    return CheckResult.fail(
        "state",
        title,
        f"{shown} can be read by other users (mode {mode}): it holds the stack's passwords",
        f"chmod 600 {shown} (the next make deploy-{ctx.stack} does it too)",
    )
