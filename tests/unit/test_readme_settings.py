"""The settings tables (docs/settings.md) and stacks/settings.py name the same variables, and the
table of flow ids (docs/flows.md) has a row for every flow of flows/, with the 2025 edition's id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from flowcheck.flow_catalog import load_flow_catalog
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


# The 2025 edition's flows (the course repository's cohorts/2025/02-workflow-orchestration/flows)
# and what stands for each here: a flow of flows/, or None (replaced by the gcp stack).
FROM_2025 = {
    "01_getting_started_data_pipeline": "03_getting_started_data_pipeline",
    "02_postgres_taxi": "04_postgres_taxi",
    "02_postgres_taxi_scheduled": "05_postgres_taxi_scheduled",
    "03_postgres_dbt": "postgres_dbt",
    "04_gcp_kv": None,
    "05_gcp_setup": None,
    "06_gcp_taxi": "08_gcp_taxi",
    "06_gcp_taxi_scheduled": "09_gcp_taxi_scheduled",
    "07_gcp_dbt": "gcp_dbt",
}
ID_TABLE = "The flows, and their ids in the 2025 videos"


def id_rows() -> dict[str, set[str]]:
    """First column of the docs' id table (a flow id, or '' for the gcp stack's row) -> its 2025 ids."""
    rows: dict[str, set[str]] = {}
    for line in section(FLOWS_PAGE, ID_TABLE).splitlines():
        if not line.startswith("| `") and not line.startswith("| — "):
            continue
        ours, old = (cell.strip() for cell in line.strip("|").split("|")[:2])
        key = ours.strip("`") if ours.startswith("`") else ""
        assert key not in rows, f"docs/flows.md: two rows for {key or 'the gcp stack'}"
        rows[key] = set(re.findall(r"`([^`]+)`", old))
    return rows


def test_the_docs_give_every_flow_its_row_and_its_2025_id() -> None:
    """A learner watching a 2025 video finds the flow to run; every flow of flows/ is listed once."""
    rows = id_rows()
    assert set(rows) - {""} == {flow.flow_id for flow in load_flow_catalog(PROJECT_ROOT / "flows")}, (
        f"docs/flows.md ({ID_TABLE}): one row per file of flows/"
    )
    shown = {old: ours or None for ours, olds in rows.items() for old in olds}
    assert shown == FROM_2025, f"docs/flows.md ({ID_TABLE}): the 2025 ids and their flows"
