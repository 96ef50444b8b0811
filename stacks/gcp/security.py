"""The gcp stack's security decisions in one place: who gets which role, what may reach the VM.

Provider-free on purpose: the policy tests (tests/policy/gcp_rules.py) read the same constants the
constructs use, without loading the google provider.
"""

from __future__ import annotations

# Kestra's service account: each role on the one resource it is for.
BUCKET_ROLE = "roles/storage.objectAdmin"  # on the data lake and Kestra's storage bucket
DATASET_ROLE = "roles/bigquery.dataEditor"  # on the dataset
PROJECT_ROLE = "roles/bigquery.jobUser"  # the only project-level grant: BigQuery runs jobs per project
SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"  # per secret: the boot script reads it
SECRET_ADDER_ROLE = "roles/secretmanager.secretVersionAdder"  # per secret, for a first-boot window only
SECRET_ROLES = (SECRET_ACCESSOR_ROLE, SECRET_ADDER_ROLE)
# The VM fills each secret on its first boot, minutes after Terraform made the secret; after this
# long, the VM (and so any flow, which acts as the VM) can no longer add a version that a later boot
# would adopt. A first boot later than that stops, telling the owner to add the version.
SECRET_ADDER_WINDOW = "1h"
# Kestra's own container reaches the metadata server (its GCS storage and GCP tasks need the VM's
# token); task containers on the host's Docker bridges do not (kestra-boot's iptables rules).
METADATA_SERVER_IP = "169.254.169.254"

# Ingress: Google's documented source range of IAP TCP forwarding, to these ports only.
IAP_RANGE = "35.235.240.0/20"
KESTRA_PORT = "8080"
SSH_PORT = "22"

# Instance metadata that hardens the VM.
HARDENING_METADATA = {
    "enable-oslogin": "TRUE",  # SSH only as a Google identity with IAM rights, no keys to manage
    "block-project-ssh-keys": "TRUE",  # project-wide SSH keys do not open this VM
    "serial-port-enable": "FALSE",  # no interactive serial console
}
