"""The dbt project's files that Kestra gets as namespace files, read once, as UTF-8 text.

The dbt flows (postgres_dbt, gcp_dbt) run the project from namespace `zoomcamp`, so
they always run the version deployed with them: the local stack ships these files as
`kestra_namespace_file` resources, and the Kestra on Compute Engine syncs the same folder
from Git with SyncNamespaceFiles. SyncNamespaceFiles (kestra-io/plugin-git, AbstractSyncTask)
stores `<gitDirectory>/<path>` as namespace file `/<path>`, with no property to choose another
folder, so both stacks use that layout: `dbt/models/<name>.sql` is `/models/<name>.sql` in the
namespace, and the project is the root of the task's working directory.

What belongs: dbt_project.yml, profiles.yml, requirements-<adapter>.txt (the flows install dbt from them),
packages/dependencies/selectors files, and the models, macros, seeds, tests, analyses and
snapshots folders. Never: dbt's output (target/, logs/, dbt_packages/, .user.yml), caches,
README files, hidden files, or anything Git ignores. dbt/.kestraignore keeps the GCE sync to
the same set (tests/unit/test_dbt_namespace_files.py checks both agree).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from common.errors import BundleError
from stacks.settings import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt"
TOP_LEVEL_FILES = frozenset(
    {
        "dbt_project.yml",
        "profiles.yml",
        "requirements-postgres.txt",
        "requirements-bigquery.txt",
        "packages.yml",
        "dependencies.yml",
        "selectors.yml",
    }
)
FOLDERS = frozenset({"models", "macros", "seeds", "tests", "analyses", "snapshots"})
# dbt's own output and caches, wherever they appear.
GENERATED = frozenset({"target", "logs", "dbt_packages", ".user.yml", "__pycache__"})


class DbtProjectError(BundleError):
    """A dbt project file Kestra cannot store as a namespace file."""


@dataclass(frozen=True)
class DbtFile:
    relative_path: str  # POSIX path inside dbt/
    content: str

    @property
    def namespace_path(self) -> str:
        """Where the flows find it: the leading '/' is how the provider stores the filename
        (it adds one on create), so a path without it would plan a replacement every time."""
        return f"/{self.relative_path}"

    @property
    def construct_id(self) -> str:
        """Readable and stable: a renamed file shows as remove + add in a plan diff."""
        return "dbt_" + re.sub(r"[^A-Za-z0-9]+", "_", self.relative_path).strip("_")


def belongs_in_kestra(relative_path: str) -> bool:
    parts = PurePosixPath(relative_path).parts
    if not parts or any(p in GENERATED or p.startswith(".") or p.upper().startswith("README") for p in parts):
        return False
    if len(parts) == 1:
        return parts[0] in TOP_LEVEL_FILES
    return parts[0] in FOLDERS


def candidate_files(dbt_dir: Path) -> list[str]:
    """Files under dbt_dir that Git does not ignore (tracked or new); every file when dbt_dir
    is not in a Git checkout (a downloaded archive), minus the generated folders."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(dbt_dir), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        listed = None
    if listed is not None and listed.returncode == 0:
        names: Iterable[str] = (n for n in listed.stdout.decode("utf-8").split("\0") if n)
    else:
        names = (p.relative_to(dbt_dir).as_posix() for p in dbt_dir.rglob("*"))
    return sorted({n for n in names if (dbt_dir / n).is_file()})


def shipped_files(dbt_dir: Path) -> list[str]:
    """The files of dbt_dir the local stack ships as namespace files (the synth cache keys on them too)."""
    return [name for name in candidate_files(dbt_dir) if belongs_in_kestra(name)]


def _read(dbt_dir: Path, relative_path: str) -> DbtFile:
    path = dbt_dir / relative_path
    try:
        content = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise DbtProjectError(
            f"{path}: not UTF-8 text, and Kestra namespace files from Terraform are text; "
            "save it as UTF-8 or move it out of the dbt project"
        ) from None
    return DbtFile(relative_path, content)


def load_dbt_project(dbt_dir: Path = DBT_DIR) -> list[DbtFile]:
    if not (dbt_dir / "dbt_project.yml").is_file():
        raise DbtProjectError(f"{dbt_dir / 'dbt_project.yml'}: missing; the dbt flows need the dbt project there")
    files = [_read(dbt_dir, name) for name in shipped_files(dbt_dir)]
    _check_unique_ids(dbt_dir, files)
    return files


def _check_unique_ids(dbt_dir: Path, files: Sequence[DbtFile]) -> None:
    seen: dict[str, str] = {}
    for file in files:
        other = seen.setdefault(file.construct_id, file.relative_path)
        if other != file.relative_path:
            raise DbtProjectError(
                f"{dbt_dir / file.relative_path}: same resource name as {other} "
                f"({file.construct_id}); rename one of them"
            )
