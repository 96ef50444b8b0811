"""The operator commands behind the Make targets: check a machine, deploy, destroy, inspect.

- doctor/ (`make doctor`, and before every deploy), deploy/ (`make deploy-local|gcp`), destroy
  (`make destroy-local|gcp`), sandbox_reset (`make sandbox-reset`), smoke (`make smoke`),
  pull_flows (`make pull-flows`), credentials (generate the local passwords on their own),
  dbt_constraints (rewrite dbt/requirements-<adapter>.txt after relocking tools/dbt).

Each runs as `python -m ops.<command>`, parses its arguments with common.errors.CommandLine and
reports a user's mistake as one `error: ...` line. They drive the cdktf CLI and Terraform in
subprocesses and read what the stacks declare (settings, protected data, credentials); nothing
that is synthesized depends on them.

May import: ops, stacks, flowcheck, common. Nothing imports ops except the tests.
"""
