"""Policy checks: rules every stack must keep (gcp_rules.py), and the tools that enforce them
(checkov, cloud-init's schema, shellcheck, actionlint) run on the real synthesized output."""
