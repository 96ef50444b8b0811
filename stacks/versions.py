"""Every pinned version the stacks deploy, in one place.

The Kestra image and the Kestra Terraform provider are released as a pair: provider 1.3.x
speaks the API of Kestra 1.3, provider 2.x targets Kestra 2 and breaks on 1.3. Keep the two
on the same minor; tests/unit/test_versions.py fails when they drift apart. Every provider is
pinned to one exact version, never a range (tests/unit/test_versions.py).

The tests ask Kestra itself, resolved from Maven Central at exactly KESTRA_VERSION
(tools/kestra/pom.xml, kept equal by tests/unit/test_versions.py). That is why this is 1.3.31:
Maven Central serves Kestra's modules for some 1.3 patches only (not 1.3.14, the earlier pin),
and 1.3.31 is the newest for which every module the tests need resolves.
"""

KESTRA_VERSION = "1.3.31"
KESTRA_IMAGE = f"kestra/kestra:v{KESTRA_VERSION}"
KESTRA_PROVIDER_SOURCE = "kestra-io/kestra"
# Exactly the release whose Go source tests/fixtures/kestra_provider_schema.json was read from
# (python -m ops.kestra_provider_schema): a range would let `terraform init` pick a provider
# whose schema nobody checked the bindings against.
KESTRA_PROVIDER_VERSION = "1.3.2"

# Data and metadata databases: the taxi flows refuse PostgreSQL < 15 (the course SQL uses MERGE, new in 15).
POSTGRES_IMAGE = "postgres:17.6"
MIN_DATA_POSTGRES_MAJOR = 15
PGADMIN_IMAGE = "dpage/pgadmin4:9.8"

# Kestra on Compute Engine: Ubuntu LTS from Canonical's image family. A family is resolved
# when the boot disk is created; an existing VM keeps its image until it is replaced.
GCE_IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-amd64"
