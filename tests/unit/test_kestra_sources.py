"""docs/kestra-sources.md traces every server configuration key and every API path we use.

A key render_kestra_config writes, or an /api/v1 path ops/ calls, that the page does not list
fails here: a new one is traced to Kestra's source (or marked unverified) before it ships.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from stacks.kestra.server_config import GcsStorage, KestraServerConfig, LocalStorage, render_kestra_config
from stacks.settings import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "kestra-sources.md"


def _section(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _first_cells(section: str) -> list[str]:
    return [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "---" not in line]


def _leaves(document: Any, prefix: str = "") -> set[str]:
    if isinstance(document, dict):
        return set().union(*(_leaves(value, f"{prefix}{key}.") for key, value in document.items()))
    return {prefix.rstrip(".")}


def _written_keys() -> set[str]:
    base: dict[str, Any] = {
        "database_host": "db",
        "database_name": "kestra",
        "database_user": "kestra",
        "basic_auth_username": "admin@example.com",
        "public_url": "http://localhost:8080",
    }
    variants = [
        KestraServerConfig(**base, storage=LocalStorage()),
        KestraServerConfig(**base, storage=GcsStorage(bucket="b", project="p"), ai_copilot=True),
    ]
    return set().union(*(_leaves(yaml.safe_load(render_kestra_config(config))) for config in variants))


def test_every_configuration_key_we_write_is_traced() -> None:
    traced = {re.sub(r"`", "", cell) for cell in _first_cells(_section("Server configuration keys"))} - {"Key"}
    written = _written_keys()
    assert written - traced == set(), "trace these keys in docs/kestra-sources.md"
    assert traced - written == set(), "docs/kestra-sources.md lists keys server_config.py no longer writes"


def _shape(path: str) -> str:
    """A path with its placeholders and query left out: f-string fields and {name} alike."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0]).rstrip("/")


def _called_paths() -> set[str]:
    paths = set()
    for source in sorted(Path(PROJECT_ROOT / "ops").rglob("*.py")):
        for literal in re.findall(r"""f?["'](/api/v1[^"']*)["']""", source.read_text(encoding="utf-8")):
            paths.add(_shape(literal))
    return paths


def test_every_api_path_ops_calls_is_traced() -> None:
    cells = _first_cells(_section("API paths we call ourselves"))
    traced = {_shape(m) for cell in cells for m in re.findall(r"`(?:GET|POST|PUT|DELETE) (/api/v1[^`]*)`", cell)}
    called = _called_paths()
    assert "/api/v1/main/flows/search" in called and "/api/v1/configs" in called  # the scan finds them
    # a literal may be a prefix the code extends (pull_flows' API = "/api/v1/main/flows")
    untraced = {path for path in called if not any(t == path or t.startswith(path + "/") for t in traced)}
    assert untraced == set(), "trace these API paths in docs/kestra-sources.md"
