"""The flow checker: what Kestra would reject in a flow file, found offline, before any deploy.

- flow_catalog: the one verdict on a folder of flows, each file parsed and checked once (synth, the
  doctor, `make check-flows` = `python -m flowcheck.flow_catalog`, the tests);
- flow_lint: the rules on one flow (types and properties, inputs, triggers, Pebble references), with
  kestra_plugins (the allowed plugin types; kestra_core_properties.json is Kestra's own list, written
  by `make kestra-properties`), pebble (Kestra's template language), kestra_cron (its cron flavour),
  kestra_ids (its id and namespace patterns) and strict_yaml (the YAML loader that names repeated keys).

It works on any flow file and knows nothing of the stacks. It needs only PyYAML and cron-converter
(with their requirements). On the Compute Engine VM Kestra itself validates what its Git sync
imports (plugin-git's SyncFlows, stacks/gce/system_flows.py); nothing of this package runs there.

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
