"""CDK for Terraform stacks for the NYC-taxi Kestra course pipelines.

Importing this package silences the jsii runtime's Node end-of-life banner (see
`stacks.jsii_env`) before anything loads cdktf, so every entry point (main.py, tests,
benchmarks) prints only what matters.
"""

from stacks import jsii_env as _jsii_env

_jsii_env.silence_node_banner()
