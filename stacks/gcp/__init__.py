"""The `gcp` stack. Importing this package loads the google provider: only stacks/app.py does,
and only when ZOOMCAMP_STACKS names the gcp stack."""

from stacks.gcp.stack import GcpStack

__all__ = ["GcpStack"]
