"""What runs inside the Compute Engine VM: cloud-init, the boot script, compose file and system flows.

Pure rendering with no cloud provider imported, so every piece is tested (cloud-init schema,
shellcheck, YAML) without loading the google provider. stacks/gcp/ puts the result into the
instance's metadata.
"""
