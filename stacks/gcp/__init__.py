"""The `gcp` stack. GcpStack is imported lazily: loading it loads the google provider (seconds,
hundreds of MB), which only stacks/app.py does, and only when ZOOMCAMP_STACKS names the gcp stack.
Provider-free modules here (names, security) can be imported freely."""

from __future__ import annotations

from typing import Any

__all__ = ["GcpStack"]


def __getattr__(name: str) -> Any:
    if name == "GcpStack":
        from stacks.gcp.stack import GcpStack

        return GcpStack
    raise AttributeError(name)
