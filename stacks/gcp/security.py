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

# GitHub Actions identities (stacks/gcp/github_identity.py, opt-in with GCP_GITHUB_REPOSITORY).
# Pull requests run their own code, so the planner may only read, and only what `terraform plan`
# reads: resource metadata and IAM policies, never data (no table rows, no object contents; no
# roles/viewer, which reads BigQuery tables). Also the state objects in ZOOMCAMP_STATE_BUCKET, when
# there is one; the PR workflow plans with -lock=false, as a lock would be a write.
PLANNER_PROJECT_ROLES = (
    "roles/compute.viewer",
    "roles/bigquery.metadataViewer",
    "roles/secretmanager.viewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    "roles/iam.securityReviewer",
)
PLANNER_BUCKET_ROLE = "roles/storage.legacyBucketReader"  # on the stack's two buckets: metadata, object names
PLANNER_STATE_ROLE = "roles/storage.objectViewer"  # on the state bucket
# The deployer creates and changes everything the gcp stack holds; no basic role (owner/editor).
DEPLOYER_PROJECT_ROLES = (
    "roles/compute.admin",
    "roles/storage.admin",
    "roles/bigquery.admin",
    "roles/secretmanager.admin",
    "roles/iam.serviceAccountCreator",
    "roles/iam.workloadIdentityPoolAdmin",
)
# On each of the stack's service accounts, not the project: manage it (the deployer's own
# included), and act as Kestra's to start the VM with it.
DEPLOYER_ACCOUNT_ROLE = "roles/iam.serviceAccountAdmin"
DEPLOYER_ACT_AS_ROLE = "roles/iam.serviceAccountUser"
# Project IAM admin lets its holder grant any role, owner included; the deployer gets it only under
# an IAM condition that limits the grants it may add or remove to the roles this stack grants. Not
# to IAM admin itself: it could then grant itself an unconditional one, so a change of this grant
# is applied by a project owner (docs/plan-diffs.md).
DEPLOYER_IAM_ADMIN_ROLE = "roles/resourcemanager.projectIamAdmin"
GRANTABLE_PROJECT_ROLES = (PROJECT_ROLE, *PLANNER_PROJECT_ROLES, *DEPLOYER_PROJECT_ROLES)
# What lets a GitHub job act as a service account: granted on each account to one principal set.
WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The workflows, branch and environment the conditions name (.github/workflows/*.yml).
PLAN_WORKFLOW = ".github/workflows/pr.yml"
DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"
DEPLOY_REF = "refs/heads/main"
DEPLOY_ENVIRONMENT = "gcp"
# On the local Kestra's service account only, never on the project: a project-level grant would let
# its members mint tokens for every service account of the project, the VM's and the deployer's too.
TOKEN_CREATOR_ROLE = "roles/iam.serviceAccountTokenCreator"
