#!/usr/bin/env bash
# Starts Kestra on this VM at every boot (run by kestra.service, which cloud-init installs):
#  1. mounts the persistent data disk, formatting it only when it is brand new, so Kestra's
#     metadata PostgreSQL survives the VM being replaced;
#  2. reads the Kestra basic-auth password, the Git-sync webhook key and Kestra's encryption key
#     from Secret Manager, generating them on the first boot: they never appear in instance
#     metadata, Terraform state or Git, and the owner reads them with
#     `gcloud secrets versions access latest`. The VM may add a secret's version only in the
#     SECRET_ADDER_WINDOW after Terraform made the secret (an IAM condition, stacks/gcp/secrets.py);
#  3. stops the containers Kestra's Docker task runner starts from reaching the metadata server
#     (and so the VM's token), Kestra's own container excepted: its storage and GCP tasks need it;
#  4. starts PostgreSQL and Kestra with docker compose and waits until both are healthy;
#  5. runs the system flows once: the GCP KV values, then the first Git sync.
# Of these values only the webhook key is a Kestra secret (SECRET_<NAME>), readable by every flow
# (open-source Kestra's secrets are global); the password and the encryption key are not.
# Settings (names only, no secrets) come from /etc/kestra/boot.env, rendered by the gcp stack.
set -euo pipefail
shopt -s inherit_errexit
umask 077

# Both overrides exist for tests/unit/test_gcp_boot_script.py only.
BOOT_ENV=${KESTRA_BOOT_ENV:-/etc/kestra/boot.env}
# shellcheck source=/dev/null
source "$BOOT_ENV"

: "${PROJECT_ID:?}" "${DATA_DEVICE:?}" "${DATA_MOUNT:?}" "${COMPOSE_FILE:?}" "${RUN_DIR:?}"
: "${BASIC_AUTH_SECRET:?}" "${WEBHOOK_KEY_SECRET:?}" "${ENCRYPTION_KEY_SECRET:?}" "${KESTRA_USERNAME:?}"
: "${KESTRA_API:?}" "${BASIC_AUTH_PASSWORD_ENV:?}" "${METADATA_DB_PASSWORD_ENV:?}" "${WEBHOOK_SECRET_ENV:?}"
: "${ENCRYPTION_KEY_ENV:?}" "${METADATA_IP:?}" "${KESTRA_CONTAINER_IP:?}" "${SECRET_ADDER_WINDOW:?}"
: "${SYSTEM_NAMESPACE:?}" "${KV_FLOW_ID:?}" "${GIT_SYNC_FLOW_ID:?}"

readonly FSTAB=${KESTRA_BOOT_FSTAB:-/etc/fstab}
readonly SECRETS_API=https://secretmanager.googleapis.com/v1
readonly METADATA_API=http://metadata.google.internal/computeMetadata/v1
TOKEN=""
KESTRA_PASSWORD=""

log() { printf 'kestra-boot: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- 1. the data disk --------------------------------------------------------------------

wait_for_device() {
  local waited=0
  until [[ -e $DATA_DEVICE ]]; do
    if ((waited >= 120)); then
      die "data disk $DATA_DEVICE did not appear; check the disk is attached to this VM"
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

mount_data_disk() {
  local probe=0
  wait_for_device
  # blkid -p exits 2 only when the device holds no filesystem at all; anything else but 0
  # is an error, and an error must never lead to formatting a disk that may hold data.
  blkid -p "$DATA_DEVICE" >/dev/null 2>&1 || probe=$?
  case $probe in
    0) ;;
    2)
      log "formatting the new, empty data disk $DATA_DEVICE"
      mkfs.ext4 -q -m 0 -L kestra-data -E lazy_itable_init=0,lazy_journal_init=0,discard "$DATA_DEVICE"
      ;;
    *) die "cannot probe $DATA_DEVICE (blkid exit $probe); not touching it" ;;
  esac
  mkdir -p "$DATA_MOUNT"
  # fstab mounts it before Docker starts on later boots, so restarted containers find their data.
  if ! grep -qs "^$DATA_DEVICE " "$FSTAB"; then
    printf '%s %s ext4 discard,defaults,nofail 0 2\n' "$DATA_DEVICE" "$DATA_MOUNT" >>"$FSTAB"
  fi
  if ! mountpoint -q "$DATA_MOUNT"; then
    mount "$DATA_MOUNT"
  fi
  mkdir -p "$DATA_MOUNT/postgres" "$DATA_MOUNT/secrets"
}

# --- 2. secrets --------------------------------------------------------------------------

new_password() {
  # 24 letters and digits, with an upper-case letter, a lower-case letter and a digit:
  # Kestra's basic-auth rule, and safe in env files and curl configs.
  python3 - <<'PY'
import secrets
import string

alphabet = string.ascii_letters + string.digits
while True:
    candidate = "".join(secrets.choice(alphabet) for _ in range(24))
    if any(c.isupper() for c in candidate) and any(c.islower() for c in candidate) and any(c.isdigit() for c in candidate):
        print(candidate)
        break
PY
}

new_encryption_key() {
  # Base64 of 32 random bytes: the AES-256 key Kestra's EncryptionService decodes
  # (kestra.encryption.secret-key), as stacks/local/credentials.py makes it locally.
  python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'
}

access_token() {
  curl -fsS --retry 5 -H 'Metadata-Flavor: Google' "$METADATA_API/instance/service-accounts/default/token" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# curl reads the header from a file descriptor, so the token never shows in the process list.
bearer() { printf 'header = "Authorization: Bearer %s"\n' "$TOKEN"; }

# Prints the latest version of secret $1, or nothing when the secret has no version yet.
secret_latest() {
  local body status
  body=$(mktemp)
  status=$(curl -sS -o "$body" -w '%{http_code}' --config <(bearer) \
    "$SECRETS_API/projects/$PROJECT_ID/secrets/$1/versions/latest:access") || status=000
  case $status in
    200)
      python3 -c 'import base64, json, sys; sys.stdout.write(base64.b64decode(json.load(open(sys.argv[1]))["payload"]["data"]).decode())' "$body"
      ;;
    404) ;;
    *)
      log "Secret Manager answered HTTP $status for $1: $(head -c 300 "$body")"
      rm -f "$body"
      return 1
      ;;
  esac
  rm -f "$body"
}

secret_add() {
  local data
  data=$(printf '%s' "$2" | base64 -w0)
  printf '{"payload": {"data": "%s"}}' "$data" |
    curl -fsS -o /dev/null --config <(bearer) -H 'Content-Type: application/json' \
      --data-binary @- "$SECRETS_API/projects/$PROJECT_ID/secrets/$1:addVersion"
}

# The value of secret $1, generated by $2 (default new_password) and stored as its first
# version on the first boot.
secret_or_generate() {
  local value generator=${2:-new_password}
  if ! value=$(secret_latest "$1"); then
    die "cannot read secret $1; is the Secret Manager API enabled (gcloud services enable secretmanager.googleapis.com)?"
  fi
  if [[ -z $value ]]; then
    value=$("$generator")
    secret_add "$1" "$value" ||
      die "cannot add a version to secret $1: the VM may do so only in the $SECRET_ADDER_WINDOW after the secret was created; add one yourself (gcloud secrets versions add $1 --project=$PROJECT_ID --data-file=FILE), then: sudo systemctl restart kestra"
    log "generated $1 and stored it in Secret Manager"
  fi
  printf '%s' "$value"
}

# A password that only this VM's PostgreSQL needs: kept on the data disk with the database.
disk_secret() {
  local file="$DATA_MOUNT/secrets/$1"
  if [[ ! -s $file ]]; then
    new_password >"$file"
  fi
  tr -d '\n' <"$file"
}

write_env_files() {
  local webhook_key webhook_key_base64 db_password encryption_key
  TOKEN=$(access_token) || die "no access token from the metadata server; is a service account attached?"
  KESTRA_PASSWORD=$(secret_or_generate "$BASIC_AUTH_SECRET")
  webhook_key=$(secret_or_generate "$WEBHOOK_KEY_SECRET")
  webhook_key_base64=$(printf '%s' "$webhook_key" | base64 -w0)
  encryption_key=$(secret_or_generate "$ENCRYPTION_KEY_SECRET" new_encryption_key)
  db_password=$(disk_secret metadata-db-password)
  mkdir -p "$RUN_DIR"
  chmod 700 "$RUN_DIR"
  {
    printf '%s=%s\n' "$BASIC_AUTH_PASSWORD_ENV" "$KESTRA_PASSWORD"
    printf '%s=%s\n' "$METADATA_DB_PASSWORD_ENV" "$db_password"
    printf '%s=%s\n' "$WEBHOOK_SECRET_ENV" "$webhook_key_base64"
    printf '%s=%s\n' "$ENCRYPTION_KEY_ENV" "$encryption_key"
  } >"$RUN_DIR/kestra.env"
  printf 'POSTGRES_PASSWORD=%s\n' "$db_password" >"$RUN_DIR/postgres.env"
}

# --- 3. the metadata server --------------------------------------------------------------

# Docker sends the containers' traffic through FORWARD, where it jumps to DOCKER-USER (kept by
# Docker across restarts). Our chain, rebuilt at every boot: Kestra's address passes; DNS passes (on
# Compute Engine the metadata server is the resolver Docker hands to containers); the rest is
# dropped. Processes on the host's own network (the boot script, a task container with
# `networkMode: host`) go through OUTPUT instead and are not affected.
readonly METADATA_CHAIN=ZOOMCAMP-METADATA

ipt() {
  iptables -w "$@" || die "iptables $* failed: task containers could reach the metadata server; not starting Kestra"
}

block_metadata_from_task_containers() {
  if iptables -w -n -L "$METADATA_CHAIN" >/dev/null 2>&1; then
    ipt -F "$METADATA_CHAIN"
  else
    ipt -N "$METADATA_CHAIN"
  fi
  ipt -A "$METADATA_CHAIN" -s "$KESTRA_CONTAINER_IP" -j RETURN
  ipt -A "$METADATA_CHAIN" -p udp --dport 53 -j RETURN
  ipt -A "$METADATA_CHAIN" -p tcp --dport 53 -j RETURN
  ipt -A "$METADATA_CHAIN" -j DROP
  if ! iptables -w -C DOCKER-USER -d "$METADATA_IP" -j "$METADATA_CHAIN" 2>/dev/null; then
    ipt -I DOCKER-USER -d "$METADATA_IP" -j "$METADATA_CHAIN"
  fi
}

# --- 4. Kestra ---------------------------------------------------------------------------

start_kestra() {
  log "starting PostgreSQL and Kestra (the first boot pulls the images: a few minutes)"
  if ! docker compose --file "$COMPOSE_FILE" up --detach --wait --wait-timeout 900; then
    die "Kestra did not become healthy; see: sudo docker compose --file $COMPOSE_FILE logs kestra"
  fi
}

# --- 5. system flows ---------------------------------------------------------------------

basic_auth() { printf 'user = "%s:%s"\n' "$KESTRA_USERNAME" "$KESTRA_PASSWORD"; }

run_flow() {
  local attempt
  for attempt in {1..30}; do
    if curl -fsS -o /dev/null --config <(basic_auth) -X POST "$KESTRA_API/executions/$1/$2"; then
      log "started flow $1.$2"
      return 0
    fi
    log "flow $1.$2 not accepted yet (attempt $attempt of 30)"
    sleep 10
  done
  # Not fatal: Kestra is up, and the Git sync also runs on its schedule.
  log "could not start flow $1.$2; start it from the UI (namespace $1)"
}

main() {
  mount_data_disk
  write_env_files
  block_metadata_from_task_containers
  start_kestra
  run_flow "$SYSTEM_NAMESPACE" "$KV_FLOW_ID"
  run_flow "$SYSTEM_NAMESPACE" "$GIT_SYNC_FLOW_ID"
  log "Kestra is up on port 8080"
}

main "$@"
