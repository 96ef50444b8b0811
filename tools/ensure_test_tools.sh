#!/usr/bin/env bash
# Installs the system tools the test suite runs for real (PostgreSQL server >= 15, cloud-init), from
# Debian's packages when missing. Python and Node tools come from the lock files instead.
set -euo pipefail

min_pg_major=15

pg_major() {
  "$1" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/'
}

find_initdb() {
  local candidate
  for candidate in $(command -v initdb 2>/dev/null) /usr/local/bin/initdb \
    $(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -t/ -k4 -rn); do
    if [ -x "$candidate" ] && [ "$(pg_major "$candidate")" -ge "$min_pg_major" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing $*; install it (e.g. sudo apt-get install $*) and rerun" >&2
    exit 1
  fi
  echo "==> Installing $* from Debian's packages"
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! initdb_path=$(find_initdb); then
  apt_install postgresql
  initdb_path=$(find_initdb) || { echo "error: no PostgreSQL >= $min_pg_major server found after install" >&2; exit 1; }
fi
echo "==> PostgreSQL server: $initdb_path ($(pg_major "$initdb_path"))"

# cloud-init validates the gcp stack's rendered user-data (`cloud-init schema`, tests/policy/).
if ! command -v cloud-init >/dev/null 2>&1; then
  apt_install cloud-init
fi
echo "==> cloud-init: $(cloud-init --version 2>&1)"
