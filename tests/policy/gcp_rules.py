"""Policy rules for the synthesized gcp stack, as functions that return their violations.

Each rule reads the `cdk.tf.json` dict and returns a list of one-line problems (empty: the
rule holds). tests/unit/test_gcp_stack.py runs them on the real synth; tests/policy/
test_gcp_rules.py feeds each a deliberately broken copy to prove it can fail.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

from stacks.gce import cloud_init, compose
from stacks.gcp.security import (
    BUCKET_ROLE,
    DATASET_ROLE,
    DEPLOY_ENVIRONMENT,
    DEPLOY_REF,
    DEPLOY_WORKFLOW,
    DEPLOYER_ACCOUNT_ROLE,
    DEPLOYER_ACT_AS_ROLE,
    DEPLOYER_IAM_ADMIN_ROLE,
    DEPLOYER_PROJECT_ROLES,
    HARDENING_METADATA,
    IAP_RANGE,
    KESTRA_PORT,
    METADATA_SERVER_IP,
    PLANNER_PROJECT_ROLES,
    PROJECT_ROLE,
    SECRET_ADDER_ROLE,
    SECRET_ADDER_WINDOW,
    SECRET_ROLES,
    SSH_PORT,
    TOKEN_CREATOR_ROLE,
    WORKLOAD_IDENTITY_USER_ROLE,
)
from stacks.settings import ALLOWLIST_MIN_IPV4_PREFIX

Synth = dict[str, Any]
BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
# What a flow may hold where a credential goes: a reference to a Kestra secret, never the value.
SECRET_REFERENCE = re.compile(r"^\{\{ secret\('[A-Z0-9_]+'\) \}\}$")
CREDENTIAL_KEYS = frozenset({"password", "apiKey", "token", "privateKey", "passphrase"})


def of_type(synth: Synth, resource_type: str) -> dict[str, dict[str, Any]]:
    return dict(synth.get("resource", {}).get(resource_type, {}))


def _all_resources(synth: Synth) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for resource_type, resources in synth.get("resource", {}).items():
        for name, body in resources.items():
            yield resource_type, name, body


# The GitHub identities' account ids end so (stacks/gcp/names.py); every other account is Kestra's.
GITHUB_ACCOUNT_SUFFIXES = ("-gh-plan", "-gh-deploy")
# Roles that read and never write: what the pull-request planner may hold, written out here rather than
# imported, so that a write role added to stacks/gcp/security.py fails this rule.
READ_ONLY_ROLES = frozenset(
    {
        "roles/compute.viewer",
        "roles/bigquery.metadataViewer",
        "roles/secretmanager.viewer",
        "roles/iam.serviceAccountViewer",
        "roles/iam.workloadIdentityPoolViewer",
        "roles/iam.securityReviewer",
        "roles/storage.legacyBucketReader",
        "roles/storage.objectViewer",
    }
)


def _github_accounts(synth: Synth) -> dict[str, str]:
    """Terraform name -> account id of the GitHub planner and deployer accounts."""
    return {
        name: body["account_id"]
        for name, body in of_type(synth, "google_service_account").items()
        if body.get("account_id", "").endswith(GITHUB_ACCOUNT_SUFFIXES)
    }


# The local Kestra's account id ends so (stacks/gcp/names.py, GCP_LOCAL_KESTRA_MEMBERS).
LOCAL_KESTRA_ACCOUNT_SUFFIX = "-local"


def _local_kestra_accounts(synth: Synth) -> set[str]:
    return {
        name
        for name, body in of_type(synth, "google_service_account").items()
        if body.get("account_id", "").endswith(LOCAL_KESTRA_ACCOUNT_SUFFIX)
    }


def kestra_member(synth: Synth) -> str:
    accounts = set(of_type(synth, "google_service_account"))
    (name,) = accounts - set(_github_accounts(synth)) - _local_kestra_accounts(synth)
    return f"serviceAccount:${{google_service_account.{name}.email}}"


def local_kestra_identity_is_scoped(synth: Synth, members: Iterable[str], data_bucket: str) -> list[str]:
    """The local Kestra's account: data roles on the data lake bucket and dataset, BigQuery jobs on the
    project, nothing else granted to it; token creator on it for exactly `members`, and on nothing else."""
    problems: list[str] = []
    accounts = _local_kestra_accounts(synth)
    if len(accounts) != 1:
        return [f"one local Kestra account expected, found {sorted(accounts)}"]
    (name,) = accounts
    member = f"serviceAccount:${{google_service_account.{name}.email}}"
    expected = {
        ("google_storage_bucket_iam_member", BUCKET_ROLE),
        ("google_bigquery_dataset_iam_member", DATASET_ROLE),
        ("google_project_iam_member", PROJECT_ROLE),
    }
    granted = []
    for resource_type, grant, body in _all_resources(synth):
        if body.get("member") != member:
            continue
        granted.append((resource_type, body.get("role")))
        if resource_type == "google_storage_bucket_iam_member" and body.get("bucket") != data_bucket:
            problems.append(f"{resource_type}.{grant}: on {body.get('bucket')}, not the data lake bucket")
    if sorted(granted) != sorted(expected):
        problems.append(f"local Kestra account: grants {sorted(granted)}, expected {sorted(expected)}")
    creators = []
    for grant, body in of_type(synth, "google_service_account_iam_member").items():
        if body.get("role") != TOKEN_CREATOR_ROLE:
            continue
        if body.get("service_account_id") != f"${{google_service_account.{name}.name}}":
            problems.append(f"google_service_account_iam_member.{grant}: token creator on another account")
        creators.append(body.get("member"))
    for resource_type, grant, body in _all_resources(synth):
        if body.get("role") == TOKEN_CREATOR_ROLE and resource_type != "google_service_account_iam_member":
            problems.append(f"{resource_type}.{grant}: token creator beyond the local Kestra's account")
    if sorted(creators) != sorted(members):
        problems.append(f"token creators {sorted(creators)}, expected {sorted(members)}")
    return problems


def _github_members(synth: Synth) -> set[str]:
    return {f"serviceAccount:${{google_service_account.{name}.email}}" for name in _github_accounts(synth)}


def no_service_account_keys(synth: Synth) -> list[str]:
    return [
        f"google_service_account_key.{name} exists: no keys, anywhere"
        for name in of_type(synth, "google_service_account_key")
    ]


def iam_is_scoped(synth: Synth) -> list[str]:
    """Kestra's grants; the GitHub identities' are github_identities_are_scoped's."""
    problems = []
    member = kestra_member(synth)
    github = _github_members(synth)
    github_accounts = {f"${{google_service_account.{name}.name}}" for name in _github_accounts(synth)}
    local = {f"serviceAccount:${{google_service_account.{name}.email}}" for name in _local_kestra_accounts(synth)}
    local_accounts = {f"${{google_service_account.{name}.name}}" for name in _local_kestra_accounts(synth)}
    expected_roles = {
        "google_project_iam_member": {PROJECT_ROLE},
        "google_storage_bucket_iam_member": {BUCKET_ROLE},
        "google_bigquery_dataset_iam_member": {DATASET_ROLE},
        "google_secret_manager_secret_iam_member": set(SECRET_ROLES),
    }
    for resource_type, name, body in _all_resources(synth):
        if resource_type.endswith(("_iam_binding", "_iam_policy")):
            problems.append(f"{resource_type}.{name} is authoritative IAM; grant with *_iam_member only")
        if not resource_type.endswith("_iam_member") or body.get("member") in github:
            continue
        if body.get("service_account_id") in github_accounts and body.get("role") == WORKLOAD_IDENTITY_USER_ROLE:
            continue  # GitHub's federation onto its own accounts: github_identities_are_scoped
        if body.get("member") in local or (
            body.get("service_account_id") in local_accounts and body.get("role") == TOKEN_CREATOR_ROLE
        ):
            continue  # the local Kestra's account and who may impersonate it: local_kestra_identity_is_scoped
        role = body.get("role")
        if role in BASIC_ROLES:
            problems.append(f"{resource_type}.{name} grants the basic role {role}")
        allowed = expected_roles.get(resource_type)
        if allowed is None:
            problems.append(f"{resource_type}.{name}: no grants of this kind are expected")
        elif role not in allowed:
            problems.append(f"{resource_type}.{name} grants {role}; only {sorted(allowed)} belong on that resource")
        if body.get("member") != member:
            problems.append(f"{resource_type}.{name} grants to {body.get('member')}, not Kestra's service account")
    return problems


def buckets_are_private_and_protected(synth: Synth, sandbox: bool) -> list[str]:
    problems = []
    buckets = of_type(synth, "google_storage_bucket")
    if not buckets:
        problems.append("no google_storage_bucket")
    for name, bucket in buckets.items():
        if bucket.get("uniform_bucket_level_access") is not True:
            problems.append(f"bucket {name}: uniform bucket-level access is off")
        if bucket.get("public_access_prevention") != "enforced":
            problems.append(f"bucket {name}: public access prevention is not enforced")
        if bucket.get("versioning", {}).get("enabled") is not True:
            problems.append(f"bucket {name}: versioning is off")
        if bucket.get("force_destroy") is not sandbox:
            problems.append(f"bucket {name}: force_destroy is {bucket.get('force_destroy')}, sandbox is {sandbox}")
    return problems


def raw_csvs_expire(synth: Synth, bucket_name: str, days: int) -> list[str]:
    for bucket in of_type(synth, "google_storage_bucket").values():
        if bucket.get("name") != bucket_name:
            continue
        for rule in bucket.get("lifecycle_rule", []):
            condition = rule.get("condition", {})
            if (
                rule.get("action", {}).get("type") == "Delete"
                and condition.get("age") == days
                and ".csv" in condition.get("matches_suffix", [])
                and "yellow_tripdata_" in condition.get("matches_prefix", [])
            ):
                return []
        return [f"bucket {bucket_name}: no rule deletes raw monthly CSVs after {days} days"]
    return [f"no bucket named {bucket_name}"]


def dataset_is_protected(synth: Synth, sandbox: bool) -> list[str]:
    problems = []
    locations = {b.get("location", "").lower() for b in of_type(synth, "google_storage_bucket").values()}
    for name, dataset in of_type(synth, "google_bigquery_dataset").items():
        if dataset.get("delete_contents_on_destroy") is not sandbox:
            problems.append(f"dataset {name}: delete_contents_on_destroy is not {sandbox} (sandbox {sandbox})")
        if dataset.get("location", "").lower() not in locations:
            problems.append(f"dataset {name}: location {dataset.get('location')} is not the buckets' ({locations})")
        if dataset.get("access"):
            problems.append(f"dataset {name}: inline access blocks replace the dataset's IAM; use iam_member")
    return problems


def vm_is_hardened(synth: Synth, external_ip_allowed: bool = False) -> list[str]:
    problems = []
    (account,) = set(of_type(synth, "google_service_account")) - set(_github_accounts(synth))
    for name, vm in of_type(synth, "google_compute_instance").items():
        shielded = vm.get("shielded_instance_config", {})
        for flag in ("enable_secure_boot", "enable_vtpm", "enable_integrity_monitoring"):
            if shielded.get(flag) is not True:
                problems.append(f"instance {name}: shielded VM {flag} is not true")
        metadata = vm.get("metadata", {})
        for key, value in HARDENING_METADATA.items():
            if metadata.get(key) != value:
                problems.append(f"instance {name}: metadata {key} is {metadata.get(key)!r}, must be {value!r}")
        email = vm.get("service_account", {}).get("email")
        if email != f"${{google_service_account.{account}.email}}":
            problems.append(f"instance {name}: runs as {email}, not Kestra's own service account")
        if vm.get("can_ip_forward"):
            problems.append(f"instance {name}: IP forwarding is on")
        public = [nic for nic in vm.get("network_interface", []) if nic.get("access_config")]
        if public and not external_ip_allowed:
            problems.append(f"instance {name}: has an external IP without an allowlist (GCP_ALLOWED_CIDRS)")
    return problems


def ingress_is_iap_or_allowlist(synth: Synth, allowed_cidrs: Iterable[str] = ()) -> list[str]:
    """IAP reaches Kestra and SSH; an allowlisted range (a /24 at most) reaches SSH only, never Kestra's
    plain-HTTP login; nothing else gets in."""
    problems = []
    allowed = {IAP_RANGE, *allowed_cidrs}
    iap_to_kestra = False
    for name, rule in of_type(synth, "google_compute_firewall").items():
        if rule.get("direction", "INGRESS") != "INGRESS" or rule.get("deny"):
            continue
        sources = rule.get("source_ranges", [])
        ports = {port for block in rule.get("allow", []) for port in block.get("ports", [])}
        for source in sources:
            if source not in allowed:
                problems.append(
                    f"firewall {name}: ingress from {source} (allowed: IAP {IAP_RANGE} and GCP_ALLOWED_CIDRS)"
                )
            elif source != IAP_RANGE and ipaddress.ip_network(source).prefixlen < ALLOWLIST_MIN_IPV4_PREFIX:
                problems.append(f"firewall {name}: {source} is wider than /{ALLOWLIST_MIN_IPV4_PREFIX}")
        if not sources:
            problems.append(f"firewall {name}: ingress without source ranges")
        if any(source != IAP_RANGE for source in sources) and (ports != {SSH_PORT}):
            opened = ", ".join(sorted(ports)) or "every port"
            problems.append(
                f"firewall {name}: opens {opened} beyond IAP; only SSH ({SSH_PORT}) may: Kestra's login is plain HTTP"
            )
        if sources == [IAP_RANGE] and KESTRA_PORT in ports:
            iap_to_kestra = True
    if not iap_to_kestra:
        problems.append(f"no firewall rule lets IAP ({IAP_RANGE}) reach Kestra on {KESTRA_PORT}")
    return problems


def github_identities_are_scoped(synth: Synth, repository: str) -> list[str]:
    """The pull-request planner can only read and only pull_request jobs of `repository` can act as it;
    only deploy.yml on main in environment gcp can act as the deployer, which has no basic role."""
    problems: list[str] = []
    accounts = _github_accounts(synth)
    by_suffix = {
        suffix: name
        for name, account_id in accounts.items()
        for suffix in GITHUB_ACCOUNT_SUFFIXES
        if account_id.endswith(suffix)
    }
    planner, deployer = by_suffix.get("-gh-plan"), by_suffix.get("-gh-deploy")
    if planner is None or deployer is None:
        return [f"GitHub planner and deployer accounts expected, found {sorted(accounts.values())}"]
    grants: dict[str, list[tuple[str, str, dict[str, Any]]]] = {planner: [], deployer: []}
    for resource_type, _name, body in _all_resources(synth):
        for account in (planner, deployer):
            if body.get("member") == f"serviceAccount:${{google_service_account.{account}.email}}":
                grants[account].append((resource_type, body.get("role", ""), body))
    planner_roles = sorted(role for _, role, _ in grants[planner])
    for resource_type, role, _ in grants[planner]:
        if role not in READ_ONLY_ROLES:
            problems.append(f"planner: {resource_type} grants {role}, not a read-only role")
    if sorted(role for t, role, _ in grants[planner] if t == "google_project_iam_member") != sorted(
        PLANNER_PROJECT_ROLES
    ):
        problems.append(f"planner: project roles {planner_roles}, expected {sorted(PLANNER_PROJECT_ROLES)}")
    problems += [
        f"planner: {t} grants {role}; only bucket roles go beyond the project"
        for t, role, _ in grants[planner]
        if t not in ("google_project_iam_member", "google_storage_bucket_iam_member")
    ]
    for resource_type, role, body in grants[deployer]:
        if role in BASIC_ROLES:
            problems.append(f"deployer: {resource_type} grants the basic role {role}")
        elif role == DEPLOYER_IAM_ADMIN_ROLE:
            expression = body.get("condition", {}).get("expression", "")
            if "modifiedGrantsByRole" not in expression or any(
                role in expression for role in (*BASIC_ROLES - {"roles/viewer"}, DEPLOYER_IAM_ADMIN_ROLE)
            ):
                problems.append(f"deployer: {role} without a condition limiting the roles it may grant")
        elif role in (DEPLOYER_ACT_AS_ROLE, DEPLOYER_ACCOUNT_ROLE):
            if resource_type != "google_service_account_iam_member":
                problems.append(f"deployer: {role} on the project; grant it on the stack's accounts only")
        elif role not in DEPLOYER_PROJECT_ROLES:
            problems.append(f"deployer: {resource_type} grants {role}, not one of DEPLOYER_PROJECT_ROLES")
    planner_subject = f"/subject/repo:{repository}:pull_request"
    deploy_job = (
        f"/attribute.deploy_job/repo:{repository}:environment:{DEPLOY_ENVIRONMENT}"
        f"@{repository}/{DEPLOY_WORKFLOW}@{DEPLOY_REF}"
    )
    expected = {planner: planner_subject, deployer: deploy_job}
    federated: dict[str, list[str]] = {planner: [], deployer: []}
    for name, body in of_type(synth, "google_service_account_iam_member").items():
        if body.get("role") != WORKLOAD_IDENTITY_USER_ROLE:
            continue
        target = body.get("service_account_id", "")
        account = next((a for a in (planner, deployer) if target == f"${{google_service_account.{a}.name}}"), None)
        if account is None:
            problems.append(f"google_service_account_iam_member.{name}: federation onto an account not GitHub's")
            continue
        federated[account].append(body.get("member", ""))
    for account, suffix in expected.items():
        members = federated[account]
        pool = "iam.googleapis.com/${google_iam_workload_identity_pool."
        if len(members) != 1 or pool not in members[0] or not members[0].endswith(suffix):
            problems.append(
                f"{accounts[account]}: workloadIdentityUser {members}, expected one principal ending {suffix}"
            )
    for name, provider in of_type(synth, "google_iam_workload_identity_pool_provider").items():
        condition = provider.get("attribute_condition", "")
        for clause in (
            f"assertion.repository == '{repository}'",
            f"assertion.ref == '{DEPLOY_REF}'",
            f"assertion.environment == '{DEPLOY_ENVIRONMENT}'",
            f"assertion.workflow_ref == '{repository}/{DEPLOY_WORKFLOW}@{DEPLOY_REF}'",
            "assertion.event_name == 'pull_request'",
        ):
            if clause not in condition:
                problems.append(f"provider {name}: attribute_condition lacks {clause}")
        if not condition.startswith(f"assertion.repository == '{repository}' && ("):
            problems.append(f"provider {name}: the repository check does not cover every token")
    return problems


def user_data_of(synth: Synth) -> str:
    (vm,) = of_type(synth, "google_compute_instance").values()
    return vm["metadata"]["user-data"].replace("$${", "${").replace("%%{", "%{")


def written_files(user_data: str) -> dict[str, str]:
    document = yaml.safe_load(user_data)
    return {entry["path"]: entry["content"] for entry in document.get("write_files", [])}


def no_secret_values(synth: Synth) -> list[str]:
    problems = [
        f"google_secret_manager_secret_version.{name} puts a secret value in the plan and state"
        for name in of_type(synth, "google_secret_manager_secret_version")
    ]
    files = written_files(user_data_of(synth))
    config = yaml.safe_load(files.get(cloud_init.KESTRA_CONFIG_PATH, "{}")) or {}
    passwords = {
        "datasources.postgres.password": config.get("datasources", {}).get("postgres", {}).get("password"),
        "kestra.server.basic-auth.password": config.get("kestra", {})
        .get("server", {})
        .get("basic-auth", {})
        .get("password"),
    }
    for where, value in passwords.items():
        if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
            problems.append(f"Kestra config {where} is not an environment placeholder")
    for path, text in files.items():
        if path.startswith(cloud_init.FLOWS_DIR + "/"):
            problems += [
                f"{path}: {where} is {value!r}, not a {{{{ secret('...') }}}} reference"
                for where, value in _credentials(yaml.safe_load(text))
                if not (isinstance(value, str) and SECRET_REFERENCE.match(value))
            ]
    env_files = [path for path in files if path.endswith(".env") and path != cloud_init.BOOT_ENV_PATH]
    problems += [f"user-data writes {path}, which would hold secrets in instance metadata" for path in env_files]
    boot_env = files.get(cloud_init.BOOT_ENV_PATH, "")
    problems += [f"boot.env sets {line.split('=')[0]}" for line in boot_env.splitlines() if "PASSWORD=" in line]
    return problems


def secret_versions_added_only_at_first_boot(synth: Synth) -> list[str]:
    """The VM may add a version to a secret only in the window after that secret's own creation
    (stacks/gcp/secrets.py): afterwards no flow, acting as the VM, can plant a password or key."""
    problems = []
    for name, body in of_type(synth, "google_secret_manager_secret_iam_member").items():
        if body.get("role") != SECRET_ADDER_ROLE:
            continue
        secret = str(body.get("secret_id", "")).removeprefix("${").removesuffix(".id}")
        expected = f'request.time < timestamp("${{timeadd({secret}.create_time, "{SECRET_ADDER_WINDOW}")}}")'
        condition = body.get("condition") or {}
        if condition.get("expression") != expected:
            problems.append(
                f"google_secret_manager_secret_iam_member.{name}: {SECRET_ADDER_ROLE} without the condition {expected}"
            )
    return problems


def task_containers_off_the_metadata_server(synth: Synth) -> list[str]:
    """Kestra's container has the one address kestra-boot lets through to the metadata server."""
    files = written_files(user_data_of(synth))
    document = yaml.safe_load(files.get(cloud_init.COMPOSE_PATH, "{}")) or {}
    kestra = document.get("services", {}).get(compose.KESTRA_SERVICE, {})
    boot_env = dict(line.split("=", 1) for line in files.get(cloud_init.BOOT_ENV_PATH, "").splitlines()[1:])
    problems = []
    address = (
        (kestra.get("networks") or {}).get(compose.NETWORK, {}).get("ipv4_address")
        if isinstance(kestra.get("networks"), dict)
        else None
    )
    if "network_mode" in kestra:
        problems.append(
            f"compose: Kestra has network_mode {kestra['network_mode']!r}; the metadata rules need its own address"
        )
    if address is None or address != boot_env.get("KESTRA_CONTAINER_IP"):
        problems.append(
            f"compose: Kestra's address {address!r} is not the KESTRA_CONTAINER_IP the boot script lets through "
            f"({boot_env.get('KESTRA_CONTAINER_IP')!r})"
        )
    if boot_env.get("METADATA_IP") != METADATA_SERVER_IP:
        problems.append(f"boot.env: METADATA_IP is {boot_env.get('METADATA_IP')!r}, not {METADATA_SERVER_IP}")
    return problems


def _credentials(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every value under a credential-named key of a parsed flow, with its path."""
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{where}.{key}" if where else str(key)
            if key in CREDENTIAL_KEYS or (key == "key" and str(value.get("type", "")).endswith(".Webhook")):
                yield path, inner
            else:
                yield from _credentials(inner, path)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _credentials(inner, f"{where}[{index}]")
