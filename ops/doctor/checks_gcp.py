"""Checks for the gcp stack: credentials found, the right project, its APIs enabled.

Learners' cloud deploys fail most often because `gcloud auth login` was run but not
`gcloud auth application-default login` (Terraform and google-auth read only the latter),
because gcloud points at another project than the one they meant, or because an API was
never enabled. Each check names the exact command that fixes it.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Any

from ops.doctor.checks_tools import run_tool
from ops.doctor.context import DoctorContext
from ops.doctor.model import CheckResult
from stacks.gcp.names import gcp_names
from stacks.gcp.target import GcpTargetError, NoProjectError, origin_https_url, resolve_gcp_target, resolve_git_url

# The services the gcp stack's resources need: the VM and firewall (compute), the bucket
# (storage), the dataset (bigquery), the service account (iam), project-level IAM bindings
# (cloudresourcemanager), Kestra's generated passwords (secretmanager), and the IAP tunnel
# to reach Kestra (iap). Keep in step with what stacks/gcp creates.
REQUIRED_APIS = (
    "compute.googleapis.com",
    "storage.googleapis.com",
    "bigquery.googleapis.com",
    "iam.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "secretmanager.googleapis.com",
    "iap.googleapis.com",
)
# Google's rule for project IDs: 6-30 characters, lower-case letters, digits and hyphens,
# starting with a letter and not ending with a hyphen.
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
LOGIN = "gcloud auth application-default login"


@dataclass(frozen=True)
class AdcProbe:
    result: CheckResult
    credentials: Any | None
    project: str | None  # the project google-auth found beside the credentials, if any


def _describe(credentials: Any) -> str:
    module = type(credentials).__module__
    email = getattr(credentials, "service_account_email", None)
    if module.startswith("google.oauth2.credentials"):
        return "your user account (from `gcloud auth application-default login`)"
    if module.startswith("google.oauth2.service_account"):
        return f"service account key of {email}"
    if module.startswith("google.auth.compute_engine"):
        return "the attached service account of this VM"
    if module.startswith(("google.auth.external_account", "google.auth.identity_pool")):
        return "workload identity federation"
    if module.startswith("google.auth.impersonated_credentials"):
        return "an impersonated service account"
    return type(credentials).__name__


def probe_adc(ctx: DoctorContext) -> AdcProbe:
    """google.auth.default(), the same lookup the gcp stack and the google provider use."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    title = "Google credentials (ADC)"
    explicit = ctx.env.get("GOOGLE_APPLICATION_CREDENTIALS")
    try:
        credentials, project = google.auth.default()
    except DefaultCredentialsError as error:
        if explicit:
            return AdcProbe(
                CheckResult.fail(
                    "gcp.adc",
                    title,
                    f"GOOGLE_APPLICATION_CREDENTIALS={explicit} cannot be used: {_first_sentence(error)}",
                    f"correct that path, or unset GOOGLE_APPLICATION_CREDENTIALS and run `{LOGIN}`",
                ),
                None,
                None,
            )
        return AdcProbe(
            CheckResult.fail(
                "gcp.adc",
                title,
                "no Application Default Credentials found (`gcloud auth login` alone is not enough)",
                f"run `{LOGIN}` (it opens a browser), then rerun the doctor",
            ),
            None,
            None,
        )
    return AdcProbe(CheckResult.ok("gcp.adc", title, f"found: {_describe(credentials)}"), credentials, project)


def _first_sentence(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.rstrip(".")


def check_project(ctx: DoctorContext, adc: AdcProbe) -> tuple[list[CheckResult], str | None]:
    """The project the stack deploys to: GCP_PROJECT_ID, else the one ADC/gcloud knows."""
    title = "Google Cloud project"
    fix_id = "set GCP_PROJECT_ID to the ID column of `gcloud projects list`"
    for problem in ctx.problems_of("GCP_PROJECT_ID"):  # the settings' own format check
        return [CheckResult.fail("gcp.project", title, problem, fix_id)], None
    chosen = (ctx.env.get("GCP_PROJECT_ID") or "").strip() or None
    source = "GCP_PROJECT_ID"
    if chosen is None and adc.project:
        chosen, source = adc.project, "Application Default Credentials / gcloud config"
    if chosen is None:
        return [
            CheckResult.fail(
                "gcp.project",
                title,
                "GCP_PROJECT_ID is not set and ADC has no default project",
                "`export GCP_PROJECT_ID=<project-id>` (`gcloud projects list` shows yours)",
            )
        ], None
    if not PROJECT_ID.match(chosen):
        hint = " (that looks like a project number; use the ID)" if chosen.isdigit() else ""
        return [
            CheckResult.fail(
                "gcp.project",
                title,
                f"{chosen!r} from {source} is not a valid project ID{hint}",
                fix_id,
            )
        ], None
    results = [CheckResult.ok("gcp.project", title, f"{chosen} (from {source})")]
    if source == "GCP_PROJECT_ID" and adc.project and adc.project != chosen:
        results.append(
            CheckResult.warn(
                "gcp.project",
                title,
                f"gcloud's default project is {adc.project}, but the stack deploys to {chosen} (GCP_PROJECT_ID)",
                f"if {chosen} is not the project you meant, change GCP_PROJECT_ID",
            )
        )
    return results, chosen


def enable_command(apis: tuple[str, ...] | list[str], project: str) -> str:
    return f"gcloud services enable {' '.join(apis)} --project={project}"


def check_apis(ctx: DoctorContext, project: str | None) -> CheckResult:
    """Lists the required APIs; when gcloud is at hand, also asks which are enabled."""
    title = "Google Cloud APIs"
    if project is None:
        return CheckResult.skip("gcp.apis", title, "not checked: no valid project")
    if shutil.which("gcloud", path=ctx.env.get("PATH")) is None:
        return CheckResult.warn(
            "gcp.apis",
            title,
            f"cannot verify without gcloud; the stack needs {', '.join(REQUIRED_APIS)}",
            f"enable them once: `{enable_command(REQUIRED_APIS, project)}`",
        )
    completed = run_tool(
        ctx, ["gcloud", "services", "list", "--enabled", f"--project={project}", "--format=value(config.name)"]
    )
    if isinstance(completed, str):
        return CheckResult.warn(
            "gcp.apis",
            title,
            f"could not ask gcloud which APIs are enabled ({completed})",
            f"enable them once: `{enable_command(REQUIRED_APIS, project)}`",
        )
    if completed.returncode != 0:
        said = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        return CheckResult.warn(
            "gcp.apis",
            title,
            f"gcloud could not list the enabled APIs of {project}: {said}",
            f"enable them once: `{enable_command(REQUIRED_APIS, project)}`",
        )
    enabled = {line.strip() for line in completed.stdout.splitlines() if line.strip()}
    missing = [api for api in REQUIRED_APIS if api not in enabled]
    if missing:
        return CheckResult.fail(
            "gcp.apis",
            title,
            f"not enabled in {project}: {', '.join(missing)}",
            f"`{enable_command(missing, project)}`",
        )
    return CheckResult.ok("gcp.apis", title, f"all {len(REQUIRED_APIS)} required APIs are enabled in {project}")


def check_target(ctx: DoctorContext, project: str | None) -> CheckResult:
    """The bucket and dataset names the gcp stack derives from the project (stacks/gcp/target.py)."""
    title = "Bucket and dataset"
    if ctx.settings is None or project is None:
        return CheckResult.skip("gcp.target", title, "not checked: fix the settings or project above first")
    try:
        target = resolve_gcp_target(ctx.settings, project_lookup=lambda: project)
    except GcpTargetError as error:
        return CheckResult.fail("gcp.target", title, str(error), "change the setting the message names")
    return CheckResult.ok(
        "gcp.target",
        title,
        f"bucket {target.bucket_name}, dataset {target.dataset}, in {target.location} (zone {target.zone})",
    )


def check_git_source(ctx: DoctorContext) -> CheckResult:
    """Kestra on the VM syncs its flows from Git: the repository must be known and reachable by https."""
    title = "Flows repository"
    if ctx.settings is None:
        return CheckResult.skip("gcp.git", title, "not checked: fix the settings above first")
    try:
        url = resolve_git_url(ctx.settings, origin_lookup=lambda: origin_https_url(str(ctx.project_root)))
    except GcpTargetError as error:
        return CheckResult.fail(
            "gcp.git",
            title,
            str(error).split(": set ", 1)[0],
            "set ZOOMCAMP_GIT_URL=https://github.com/<you>/<fork>.git",
        )
    git = ctx.settings.gcp.git
    return CheckResult.ok(
        "gcp.git",
        title,
        f"the VM syncs {git.flows_directory} from {url} (branch {git.branch}): push your flow changes there",
    )


def check_local_gcp(ctx: DoctorContext) -> CheckResult:
    """The local Kestra gets the GCP KV values and credentials when a project is known (stacks/local/gcp_access.py)."""
    title = "GCP flows in the local Kestra"
    if ctx.settings is None:
        return CheckResult.skip("gcp.local", title, "not checked: fix the settings above first")
    local = ctx.settings.local
    try:
        target = resolve_gcp_target(ctx.settings)
        broker_account = gcp_names(local.prefix, target).local_kestra_email if local.gcp_token_broker else None
    except NoProjectError:
        return CheckResult.warn(
            "gcp.local",
            title,
            "no Google Cloud project, so no GCP KV values (only the GCP flows need them)",
            "set GCP_PROJECT_ID=<project-id>, or `gcloud auth application-default login` and "
            "`gcloud config set project <project-id>`, then deploy again",
        )
    except GcpTargetError as error:
        return CheckResult.fail("gcp.local", title, str(error), "change the setting the message names")
    if broker_account is not None:
        return CheckResult.ok(
            "gcp.local",
            title,
            f"KV values for project {target.project_id}; tokens of at most 1 h for {broker_account} from the token "
            "broker on this machine (keep `make gcp-token-broker` running while the GCP flows run)",
        )
    credentials = local.google_credentials_file
    if credentials is None:
        # The default: the learner's own login stays out of the local Kestra (stacks/local/gcp_access.py).
        return CheckResult.ok(
            "gcp.local",
            title,
            f"KV values for project {target.project_id}; no Google credentials in the local Kestra (the GCP "
            "flows run on the gcp stack's VM, as its service account)",
        )
    return CheckResult.ok(
        "gcp.local",
        title,
        f"KV values for project {target.project_id}; {credentials} mounted read-only",
    )
