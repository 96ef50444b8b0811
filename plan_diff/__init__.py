"""Offline plan diff: what a pull request changes in the synthesized Terraform of each stack.

`terraform plan` needs providers, credentials and state, which forks, CI without cloud
access and this project's own machines do not have. Comparing the Terraform JSON that
cdktf synthesizes at two git revisions needs none of them and still answers the reviewer's
question: which resources are added, removed, replaced or changed, and how. Run it with
`make diff BASE=<revision>` (see docs/plan-diffs.md).

A tool of its own, not an operator command of ops/: it synthesizes two checkouts side by side and
compares JSON, the PR workflow runs it as `python -m plan_diff`, and it never touches a deployment.

May import: plan_diff, stacks, flowcheck, common.
"""
