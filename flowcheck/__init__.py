"""The flow checker: what Kestra would reject in a flow file, found offline, before any deploy.

- flow_catalog: the one verdict on a folder of flows, each file parsed and checked once (synth, the
  doctor, `make check-flows` = `python -m flowcheck.flow_catalog`, the tests);
- flow_lint: only what Kestra cannot judge on this machine (plugin types and their properties, from
  kestra_plugins; kestra_core_properties.json is Kestra's own list of core properties, written by
  `make kestra-properties`) and the project's policy warnings; Kestra itself validates, renders and
  runs the flows in the tests;
- kestra_cron (Kestra's cron flavour, for the Git-sync schedule setting), kestra_ids (its id and
  namespace patterns) and strict_yaml (the YAML loader that names repeated keys).

It works on any flow file and knows nothing of the stacks; it needs only PyYAML and cron-converter.

May import: flowcheck, common.
"""

from pathlib import Path

# The repository's flows folder: what the command lines check when no path is given.
DEFAULT_FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"
# What counts as a flow file in a folder (not recursive).
FLOW_SUFFIXES = (".yaml", ".yml")


def flow_paths(flows_dir: Path) -> list[Path]:
    """The flow files of a folder (not recursive), sorted by name."""
    return sorted(p for p in flows_dir.iterdir() if p.is_file() and p.suffix in FLOW_SUFFIXES)
