"""`make dbt-local`: run dbt on the local stack's PostgreSQL with the password of `.secrets/local.env`.

The Makefile used to `.` (source) that file in its shell, so a password holding a quote, `$(…)`
or a backtick ran as a command and files written before values were escaped stay unsafe to
source. Here Python reads the file (stacks/local/credentials.py, which never evaluates it),
the connection comes from the settings, and dbt replaces this process with the environment set.

    python -m ops.dbt_local [dbt arguments, default: build]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from common.errors import BundleError, CommandLine, run_cli
from stacks.local.credentials import CREDENTIALS_FILE, read_credentials
from stacks.settings import PROJECT_ROOT, Settings

DBT = PROJECT_ROOT / "tools" / "dbt" / ".venv" / "bin" / "dbt"
PROJECT_ARGS = ("--project-dir", "dbt", "--profiles-dir", "dbt")


def dbt_environment(env: Mapping[str, str], credentials: Path = CREDENTIALS_FILE) -> dict[str, str]:
    """`env` plus dbt's postgres profile variables (dbt/profiles.yml) for the local stack."""
    if not credentials.is_file():
        raise BundleError(f"{credentials} is missing: run `make deploy-local` first (it creates the passwords)")
    password = read_credentials(credentials).get("zoomcamp_db_password")
    if not password:
        raise BundleError(f"{credentials} has no TF_VAR_zoomcamp_db_password line; restore it from your backup")
    local = Settings.from_env(env).local
    return {
        **env,
        "DBT_TARGET": "postgres",
        "DBT_PG_HOST": local.data_pg_host,
        "DBT_PG_PORT": str(local.data_pg_port),
        "DBT_PG_USER": local.data_db_user,
        "DBT_PG_DBNAME": local.data_db_name,
        "DBT_ENV_SECRET_PG_PASSWORD": password,
    }


def dbt_command(arguments: Sequence[str]) -> list[str]:
    return [str(DBT), *(arguments or ["build"]), *PROJECT_ARGS]


def main(argv: list[str] | None = None) -> int:
    parser = CommandLine(
        prog="python -m ops.dbt_local",
        description="Run dbt on the local stack's PostgreSQL with the password of .secrets/local.env "
        '(make dbt-local CMD="build --select staging").',
    )
    parser.add_argument("command", nargs="?", default="build", help="the dbt command (default: build)")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="its arguments, e.g. --select staging")
    parsed = parser.parse_args(argv)
    arguments = [parsed.command, *parsed.arguments]
    environment = dbt_environment(os.environ, CREDENTIALS_FILE)
    command = dbt_command(arguments)
    os.chdir(PROJECT_ROOT)
    os.execve(command[0], command, environment)  # no return: dbt's exit code is make's


if __name__ == "__main__":
    sys.exit(run_cli(lambda: main()))
