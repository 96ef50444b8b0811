"""Builds the cdktf App from settings: the table of contents main.py calls."""

from __future__ import annotations

from cdktf import App

from flowcheck.flow_catalog import load_flow_catalog
from stacks.dbt_project import load_dbt_project
from stacks.settings import GCP_STACK, LOCAL_STACK, Settings


def build_app(settings: Settings, app: App | None = None) -> App:
    """Only the stacks named in ZOOMCAMP_STACKS are built (the gcp one is slow to load)."""
    app = app or App()
    if LOCAL_STACK in settings.stacks:
        from stacks.local import LocalStack

        LocalStack(
            app,
            LOCAL_STACK,
            settings=settings,
            flows=load_flow_catalog(settings.flows_dir),  # every file of flows/, under the id it names
            dbt_files=load_dbt_project(),
        )
    if GCP_STACK in settings.stacks:
        skipped = None if settings.stacks_chosen else gcp_unavailable(settings)
        if skipped:
            # stdout: cdktf shows the app's stdout as plain text, its stderr as "[ERROR]".
            print(f"note: gcp stack not built: {skipped}")
        else:
            from stacks.gcp import GcpStack

            GcpStack(app, GCP_STACK, settings=settings)
    return app


def gcp_unavailable(settings: Settings) -> str | None:
    """Why the gcp stack cannot be built here (no project, no Git remote...), or None.

    Checked before the stack is created, so a failure never leaves half a stack in the app;
    the gcp stack resolves the same values again with the same functions.
    """
    from stacks.gcp.target import GcpTargetError, resolve_gcp_target, resolve_git_url

    try:
        resolve_gcp_target(settings)
        resolve_git_url(settings)
    except GcpTargetError as error:
        return f"{error} (only the local stack was built; ZOOMCAMP_STACKS=gcp makes this an error)"
    return None
