"""The README's settings tables and stacks/settings.py name the same variables, and the README's
table of flow ids is the edition map's (stacks/course_editions.yaml)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stacks.course_editions import id_table
from stacks.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
# Read by Settings but not settings of this project: where Google's own tools keep credentials
# (the README explains them in prose), and the file-held twin of GEMINI_API_KEY.
NOT_SETTINGS = {"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "HOME", "TF_VAR_gemini_api_key"}


class _Recording(dict[str, str]):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.append(key)
        return super().get(key, default)


def section(text: str, heading: str) -> str:
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ )", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '{heading}' section"
    return match.group(1)


def table_variables(text: str) -> Iterator[str]:
    """The `NAME`s of the first column of every `| Variable | ...` table in `text`."""
    for row in re.findall(r"^\| (`[^|]+`) \|", text, flags=re.MULTILINE):
        yield from re.findall(r"`([A-Z][A-Z0-9_]+)`", row)


def test_every_setting_is_documented_and_every_documented_one_is_read() -> None:
    env = _Recording()
    Settings.from_env(env)
    read = set(env.asked) - NOT_SETTINGS
    documented = set(table_variables(section(README, "Settings"))) | set(
        table_variables(section(README, "Google Cloud settings"))
    )
    assert read - documented == set(), "add these to a settings table of the README"
    assert documented - read == set(), "the README documents variables stacks/settings.py does not read"


def test_the_readme_shows_the_id_of_every_flow_in_both_editions() -> None:
    rows = {
        tuple(cell.strip().strip("`").replace("—", "") for cell in line.strip("|").split("|"))
        for line in section(README, "Two editions of the course").splitlines()
        if line.startswith("| `")
    }
    for file_id, *ids in id_table():
        assert any(row[: len(ids) + 1] == (file_id, *ids) for row in rows), f"README lacks the row of {file_id}"
