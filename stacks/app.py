"""Builds the cdktf App from settings: the table of contents main.py calls."""

from __future__ import annotations

from cdktf import App

from stacks.dbt_project import load_dbt_project
from stacks.flow_catalog import load_flow_catalog
from stacks.settings import Settings


def build_app(settings: Settings, app: App | None = None) -> App:
    """Only the stacks named in ZOOMCAMP_STACKS are built (the gcp one is slow to load)."""
    app = app or App()
    if "local" in settings.stacks:
        from stacks.local import LocalStack

        LocalStack(app, "local", settings, load_flow_catalog(settings.flows_dir), load_dbt_project())
    if "gcp" in settings.stacks:
        from stacks.gcp import GcpStack

        GcpStack(app, "gcp", settings)
    return app
