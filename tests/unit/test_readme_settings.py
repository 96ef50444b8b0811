"""The settings tables (docs/settings.md) and stacks/settings.py name the same variables, and the
table of flow ids (docs/flows.md) is the edition map's (stacks/course_editions.yaml)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from stacks.course_editions import id_table
from stacks.settings import PROJECT_ROOT, Settings

SETTINGS_PAGE = PROJECT_ROOT / "docs" / "settings.md"
FLOWS_PAGE = PROJECT_ROOT / "docs" / "flows.md"
# Read by Settings but not settings of this project: where Google's own tools keep credentials
# (docs/google-cloud.md explains them in prose), and the file-held twin of GEMINI_API_KEY.
NOT_SETTINGS = {"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "HOME", "TF_VAR_gemini_api_key"}


class _Recording(dict[str, str]):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.append(key)
        return super().get(key, default)


def section(page: Path, heading: str) -> str:
    """The text under `heading` up to the next heading (or the end of the page)."""
    text = page.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"{page.relative_to(PROJECT_ROOT)} has no '{heading}' section"
    return match.group(1)


def table_variables(text: str) -> Iterator[str]:
    """The `NAME`s of the first column of every `| Variable | ...` table in `text`."""
    for row in re.findall(r"^\| (`[^|]+`) \|", text, flags=re.MULTILINE):
        yield from re.findall(r"`([A-Z][A-Z0-9_]+)`", row)


def test_every_setting_is_documented_and_every_documented_one_is_read() -> None:
    env = _Recording()
    Settings.from_env(env)
    read = set(env.asked) - NOT_SETTINGS
    documented = set(table_variables(section(SETTINGS_PAGE, "Local stack and shared settings"))) | set(
        table_variables(section(SETTINGS_PAGE, "Google Cloud settings"))
    )
    assert read - documented == set(), "add these to a settings table of docs/settings.md"
    assert documented - read == set(), "docs/settings.md documents variables stacks/settings.py does not read"


def test_the_docs_show_the_id_of_every_flow_in_both_editions() -> None:
    rows = {
        tuple(cell.strip().strip("`").replace("—", "") for cell in line.strip("|").split("|"))
        for line in section(FLOWS_PAGE, "Two editions of the course").splitlines()
        if line.startswith("| `")
    }
    for file_id, *ids in id_table():
        assert any(row[: len(ids) + 1] == (file_id, *ids) for row in rows), f"docs/flows.md lacks the row of {file_id}"
