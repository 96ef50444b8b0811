"""Reuse the synthesized output when nothing that goes into it has changed.

A full synth costs seconds (the gcp stack loads the google provider's bindings, ~8.5 s and
~500 MB); a repeated `cdktf synth`, `cdktf deploy`, `make deploy-*` or `make diff` with
nothing changed should not pay that again. `synth_key` is a content key over everything the
synthesized Terraform JSON is made of:

- the code and its pins: every file under `stacks/`, `flowcheck/` and `common/` (the packages a
  synth imports), `main.py`, `cdktf.json`, `Pipfile.lock` (the Python bindings),
  `package-lock.json` (the cdktf CLI), the Python that runs them;
- the data the stacks ship: every file of the flows folder, and the dbt files the local stack
  ships (the same selection as stacks/dbt_project.py, Git's ignore rules included);
- the settings: every value of the resolved `Settings` (wherever it came from: the
  environment, or a file Settings reads, and fields hidden from its repr too), the environment
  variables cdktf and google-auth read (by prefix) and the working directory (cdktf's local
  backend path is absolute);
- what the stacks look up outside the repository when no setting says it: the checkout's
  `origin` remote (the gcp stack's Git URL), and, without `GCP_PROJECT_ID`, the Application
  Default Credentials files and gcloud's configuration google-auth reads the project from. On a
  Compute Engine VM google-auth may ask the metadata server instead, which no file shows:
  there the key is None and every synth is a fresh one.

main.py computes the key before it imports cdktf; when it equals the stamp `.synth-key` in the
output folder and the files the stamp lists are there, the app is not built at all. The stamp
is removed before a synth starts and written only after one succeeded, so an interrupted or
failed synth is never reused. `make clean` (or deleting `cdktf.out/.synth-key`) forces a
fresh synth. This module imports nothing heavy: it runs on every synth.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from stacks.settings import GCP_STACK, Settings

STAMP_NAME = ".synth-key"
MANIFEST_NAME = "manifest.json"
DEFAULT_OUTDIR = "cdktf.out"
_FORMAT = "zoomcamp-synth-key/1"
# Files at the project root that decide what is synthesized and by which versions.
ROOT_FILES = ("main.py", "cdktf.json", "Pipfile.lock", "package-lock.json")
# The packages a synth imports: the stacks, the flow checker that judges the flows they ship, and the
# shared errors (tests/policy/test_import_directions.py keeps main.py's imports inside these).
SOURCE_DIRS = ("stacks", "flowcheck", "common")
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})
# Environment variables that can change the output besides the settings (keyed by their values):
# google-auth's and gcloud's project lookup, cdktf's own, and our prefixes for good measure.
ENV_PREFIXES = ("ZOOMCAMP_", "KESTRA_", "PGADMIN_", "GCP_", "GOOGLE_", "CLOUDSDK_", "GCE_METADATA_", "CDKTF_")
ENV_NAMES = frozenset(
    {"DOCKER_SOCKET", "HOME", "GCLOUD_PROJECT", "NO_GCE_CHECK", "SYNTH_HCL_OUTPUT", "TERRAFORM_BINARY_NAME"}
)
# Set by the cdktf CLI for every synth but without effect on a successful output: the folder
# (the stamp lives in it) and "keep going on error annotations" (an output with errors is
# never stamped). CDKTF_CONTEXT_JSON is normalised: the CLI's empty module list is no context.
_ENV_IGNORED = frozenset({"CDKTF_OUTDIR", "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS"})
_GCE_PRODUCT_NAME = Path("/sys/class/dmi/id/product_name")


def output_dir(env: Mapping[str, str]) -> Path:
    """Where cdktf's App writes: CDKTF_OUTDIR (the CLI sets it), else cdktf.out in the working directory."""
    return Path(env.get("CDKTF_OUTDIR") or DEFAULT_OUTDIR)


# --- the key ---------------------------------------------------------------------------


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"
    except OSError as error:  # unreadable: the synth would fail or differ; never equal to a content hash
        return f"unreadable {error.errno}"


def _tree_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not _SKIPPED_PARTS.intersection(path.relative_to(folder).parts) and path.suffix != ".pyc"
    )


def _files_part(label: str, folder: Path, names: Iterable[str]) -> list[str]:
    return [f"{label}/{name}={file_digest(folder / name)}" for name in names]


def _tree_part(label: str, folder: Path) -> list[str]:
    files = _tree_files(folder)
    return [f"{label}:{folder}", *_files_part(label, folder, (p.relative_to(folder).as_posix() for p in files))]


def _dbt_part(root: Path) -> list[str]:
    """The dbt files the local stack ships: stacks/dbt_project.py's own choice."""
    from stacks.dbt_project import shipped_files

    dbt_dir = root / "dbt"
    if not dbt_dir.is_dir():
        return ["dbt: absent"]
    return _files_part("dbt", dbt_dir, ["dbt_project.yml", *shipped_files(dbt_dir)])


def settings_values(settings: Settings) -> str:
    """Every field of the settings, those hidden from repr (an API key) included."""
    return json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str)


def settings_env(env: Mapping[str, str]) -> list[str]:
    """The environment variables that can change the output besides the settings, normalised, sorted."""
    chosen = []
    for name in sorted(env):
        if name in _ENV_IGNORED or not (name in ENV_NAMES or name.startswith(ENV_PREFIXES)):
            continue
        value = env[name]
        if name == "CDKTF_CONTEXT_JSON":
            value = _normalised_context(value)
        elif name == "SYNTH_HCL_OUTPUT" and value.strip().lower() in ("", "false", "0"):
            continue
        if value:
            chosen.append(f"{name}={value}")
    return chosen


def _normalised_context(value: str) -> str:
    try:
        context = json.loads(value)
    except ValueError:
        return value
    if not isinstance(context, dict):
        return value
    if context.get("cdktfRelativeModules") == []:
        context.pop("cdktfRelativeModules")
    return json.dumps(context, sort_keys=True) if context else ""


def on_compute_engine() -> bool:
    """google-auth's own test (a Linux VM on Google's hardware), where the metadata server names a project."""
    try:
        return "Google" in _GCE_PRODUCT_NAME.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def adc_inputs(env: Mapping[str, str]) -> list[str] | None:
    """What google-auth reads to find the project without GCP_PROJECT_ID; None when it is not all in files."""
    if on_compute_engine():
        return None
    parts = []
    explicit = env.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
    if explicit:
        parts.append(f"adc-explicit={file_digest(Path(explicit))}")
    if env.get("CLOUDSDK_CONFIG"):
        config_dir = Path(env["CLOUDSDK_CONFIG"])
    else:
        config_dir = Path(env.get("HOME") or os.path.expanduser("~")) / ".config" / "gcloud"
    parts += _files_part("gcloud", config_dir, ["application_default_credentials.json", "active_config"])
    configurations = config_dir / "configurations"
    if configurations.is_dir():
        parts += _files_part("gcloud", config_dir, sorted(f"configurations/{p.name}" for p in configurations.iterdir()))
    # With a user login (no project in the ADC file) google-auth asks `gcloud config` for it.
    parts.append(f"gcloud-cli={shutil.which('gcloud', path=env.get('PATH')) or 'absent'}")
    return parts


def synth_key(root: Path, settings: Settings, env: Mapping[str, str], cwd: Path | None = None) -> str | None:
    """The content key of what `python main.py` would synthesize from `root`; None: not cacheable here."""
    parts = [_FORMAT, f"python={sys.version}", f"prefix={sys.prefix}", f"root={root}", f"cwd={cwd or Path.cwd()}"]
    parts += _files_part("root", root, ROOT_FILES)
    for name in SOURCE_DIRS:
        parts += _tree_part(name, root / name)
    parts += _tree_part("flows", settings.flows_dir)
    parts += _dbt_part(root)
    parts.append(f"settings={settings_values(settings)}")
    parts += settings_env(env)
    if settings.gcp.project_id is None:  # both stacks ask google-auth for the project then
        adc = adc_inputs(env)
        if adc is None:
            return None
        parts += adc
    if GCP_STACK in settings.stacks and settings.gcp.git.url is None:
        from stacks.gcp.target import origin_https_url

        parts.append(f"origin={origin_https_url(str(root))}")
    return key_of(parts)


def key_of(parts: list[str]) -> str:
    """The key of a list of inputs, one per line (the synth key, plan_diff's keys)."""
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


# --- the stamp -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    key: str
    stacks: tuple[str, ...]  # the stacks of the manifest, each with its synthesized file
    notes: tuple[str, ...]  # what the app printed on stdout (cdktf shows it): printed again on reuse
    last_run: str = "built"  # "built" or "reused": what the last synth into this folder did


def read_stamp(outdir: Path) -> Stamp | None:
    try:
        data = json.loads((outdir / STAMP_NAME).read_text(encoding="utf-8"))
        return Stamp(
            key=str(data["key"]),
            stacks=tuple(str(s) for s in data["stacks"]),
            notes=tuple(str(n) for n in data.get("notes", ())),
            last_run=str(data.get("last_run", "built")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_stamp(outdir: Path, stamp: Stamp) -> None:
    temporary = outdir / f"{STAMP_NAME}.{os.getpid()}"
    data = {"key": stamp.key, "stacks": list(stamp.stacks), "notes": list(stamp.notes), "last_run": stamp.last_run}
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(outdir / STAMP_NAME)


def _manifest_stacks(outdir: Path) -> dict[str, dict[str, Any]] | None:
    try:
        manifest = json.loads((outdir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
    return stacks if isinstance(stacks, dict) else None


def reusable(outdir: Path, key: str | None) -> Stamp | None:
    """The stamp when `outdir` holds a complete output synthesized with `key`; else None."""
    if key is None:
        return None
    stamp = read_stamp(outdir)
    if stamp is None or stamp.key != key:
        return None
    stacks = _manifest_stacks(outdir)
    if stacks is None or set(stacks) != set(stamp.stacks):
        return None
    for body in stacks.values():
        relative = body.get("synthesizedStackPath") if isinstance(body, dict) else None
        if not isinstance(relative, str) or not (outdir / relative).is_file():
            return None
    return stamp


def forget(outdir: Path) -> None:
    """Before a synth: whatever happens next, the old stamp must not vouch for the new files."""
    with contextlib.suppress(FileNotFoundError):
        (outdir / STAMP_NAME).unlink()


def remember(outdir: Path, key: str | None, notes: Iterable[str]) -> Stamp | None:
    """After a successful synth: stamp the output, unless cdktf recorded an error annotation in it."""
    stacks = _manifest_stacks(outdir)
    if key is None or stacks is None:
        return None
    for body in stacks.values():
        annotations = body.get("annotations", []) if isinstance(body, dict) else []
        if any(isinstance(a, dict) and a.get("level") == "@cdktf/error" for a in annotations):
            return None
    stamp = Stamp(key=key, stacks=tuple(sorted(stacks)), notes=tuple(notes))
    _write_stamp(outdir, stamp)
    return stamp


def mark_reused(outdir: Path, stamp: Stamp) -> None:
    """Record that the last synth reused the output (benchmarks and tests read it); best effort."""
    with contextlib.suppress(OSError):
        _write_stamp(outdir, Stamp(stamp.key, stamp.stacks, stamp.notes, last_run="reused"))


# --- what the app prints ---------------------------------------------------------------


class _Tee(io.TextIOBase):
    """Writes through to the real stream and keeps a copy of the text."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._copy = io.StringIO()

    def write(self, text: str) -> int:
        self._target.write(text)
        self._copy.write(text)
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()

    def isatty(self) -> bool:
        return self._target.isatty()

    def lines(self) -> list[str]:
        return [line for line in self._copy.getvalue().splitlines() if line.strip()]


@contextlib.contextmanager
def recording_stdout() -> Iterator[_Tee]:
    """The app's stdout as it is printed, kept so a reused synth can print the same notes."""
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield tee
