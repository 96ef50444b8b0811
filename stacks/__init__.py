"""What `cdktf synth` builds: the settings, the two stacks and everything they are made of.

- settings (every knob, validated), versions (every pin), app (the table of contents main.py
  calls), synth_cache (an unchanged synth is reused), jsii_env, terraform_text, state_backend;
- local/: the `local` stack (Docker: Kestra, two PostgreSQL, optional pgAdmin, flows, dbt files);
- gcp/: the `gcp` stack (bucket, dataset, identity, network, secrets, the Kestra VM) and target.py,
  the Google Cloud names both stacks agree on; gce/: what runs inside that VM (cloud-init, the boot
  script, the compose file, the system flows);
- kestra/: the Kestra Terraform provider's bindings and server_config.py, the server configuration
  both stacks render;
- dbt_project (the dbt files shipped as namespace files), sandbox (the data a
  destroy keeps, and the switch that lifts that).

Importing this package silences the jsii runtime's Node end-of-life banner (see
`stacks.jsii_env`) before anything loads cdktf, so every entry point (main.py, tests,
benchmarks) prints only what matters.

May import: stacks, flowcheck, common. Never ops or plan_diff: the commands use the stacks,
never the other way round.
"""

from stacks import jsii_env as _jsii_env

_jsii_env.silence_node_banner()
