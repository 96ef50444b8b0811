"""Local passwords: generated once, kept in a git-ignored file, handed to Terraform as variables.

The synthesized Terraform never contains a password: the stacks declare sensitive
variables. Their values live in `.secrets/local.env` (mode 0600), created on the first synth.
Every synth of the local stack also writes them, for exactly the variables it declares, into
`credentials.auto.tfvars.json` (mode 0600) beside the stack's `cdk.tf.json`: Terraform loads
that file by itself, so a plain `cdktf deploy local` / `diff` / `destroy` needs nothing set.
A learner who sets KESTRA_PASSWORD keeps their own; everything else is random, so no two
installations share a default password (the course's `k3str4` lives on in many laptops).

Synth (main.py), the deploy and the reset call `ensure_credentials`; `python -m ops.credentials`
runs it on its own.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shlex
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.errors import BundleError
from stacks import basic_auth
from stacks.settings import PROJECT_ROOT, Settings

CREDENTIALS_FILE = PROJECT_ROOT / ".secrets" / "local.env"
# Terraform loads *.auto.tfvars.json from its working directory (the stack's synth folder).
STACK_TFVARS_NAME = "credentials.auto.tfvars.json"

# Terraform variable name -> what it protects (the description shown by `terraform plan`).
VARIABLES: dict[str, str] = {
    "kestra_password": "Kestra UI/API basic-auth password",
    "kestra_db_password": "password of Kestra's metadata PostgreSQL",
    "zoomcamp_db_password": "password of the zoomcamp data PostgreSQL",
    "pgadmin_password": "pgAdmin login password",
}
# Generated values that are not passwords: Terraform variable name -> what it protects.
ENCRYPTION_KEY_VARIABLE = "kestra_encryption_key"
KEYS: dict[str, str] = {ENCRYPTION_KEY_VARIABLE: "Kestra's key for encrypted outputs (kestra.encryption.secret-key)"}
# Optional, never generated: the learner's own Gemini API key (the AI flows, the AI Copilot). The stack
# declares the variable only when a key is given (GEMINI_API_KEY, or this TF_VAR_ line in the file).
GEMINI_API_KEY_VARIABLE = "gemini_api_key"
_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 24) -> str:
    """Random, shell- and YAML-safe, and always passing Kestra 1.3's basic-auth rule (stacks/basic_auth.py):
    a draw without a lower-case letter, an upper-case letter or a digit is drawn again."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if basic_auth.password_problem(candidate) is None:
            return candidate


def generate_encryption_key() -> str:
    """Base64 of 32 random bytes: the AES-256 key Kestra's EncryptionService expects."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


# A value as this module writes it: single-quoted pieces joined by \' (the shell's '\'' escape).
_NEW_QUOTING = re.compile(r"^'[^']*'(?:\\''[^']*')*$")


def shell_quoted(name: str, value: str) -> str:
    """`value` in single quotes, each quote inside closed, escaped and reopened: a shell sourcing the
    file runs nothing and cuts nothing (Python reads it back with `_unquoted`).

    A newline cannot be kept on one line (the file is read line by line), so it is refused.
    """
    if "\n" in value or "\r" in value or "\0" in value:
        raise BundleError(
            f"{name} contains a line break or NUL, which .secrets/local.env cannot hold; choose a value without one"
        )
    return "'" + value.replace("'", "'\\''") + "'"


def _unquoted(raw: str) -> str:
    """The value of one `TF_VAR_x=...` line, as this module writes it or as older versions did.

    Older versions wrote '<value>' with no escaping, so their quotes inside a value are literal;
    a hand-written unquoted (or double-quoted) value is read as a shell would, without running it.
    """
    raw = raw.strip()
    if _NEW_QUOTING.match(raw):
        return raw[1:-1].replace("'\\''", "'")
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]  # an older file's '<value>' (a quote inside it was written as is)
    try:
        words = shlex.split(raw)
    except ValueError:
        return raw.strip("'")
    return words[0] if len(words) == 1 else raw


def read_credentials(path: Path = CREDENTIALS_FILE) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("TF_VAR_") and "=" in line:
            name, value = line.removeprefix("TF_VAR_").split("=", 1)
            values[name] = _unquoted(value)
    return values


def ensure_credentials(env: Mapping[str, str], path: Path = CREDENTIALS_FILE) -> tuple[Path, bool]:
    """Create the credentials file if missing; never overwrite one (volumes keep old passwords)."""
    settings = Settings.from_env(env)
    if path.exists():
        present = read_credentials(path)
        missing = set(VARIABLES) - set(present)
        if missing:
            raise BundleError(
                f"{path} lacks {', '.join(sorted(missing))}; add the lines or delete the file "
                "together with the stack's volumes (ZOOMCAMP_SANDBOX=true make destroy-local) to start fresh"
            )
        if ENCRYPTION_KEY_VARIABLE not in present:
            # A file from before the key existed: outputs were stored unencrypted until now, so a new
            # key loses nothing. Appended, never replaced (a replaced key makes encrypted outputs unreadable).
            with path.open("a", encoding="utf-8") as handle:
                key = shell_quoted(ENCRYPTION_KEY_VARIABLE, generate_encryption_key())
                handle.write(f"TF_VAR_{ENCRYPTION_KEY_VARIABLE}={key}\n")
        return path, False
    values = {name: generate_password() for name in VARIABLES}
    values[ENCRYPTION_KEY_VARIABLE] = generate_encryption_key()
    if settings.kestra.password:
        values["kestra_password"] = settings.kestra.password
    path.parent.mkdir(mode=0o700, exist_ok=True)
    lines = ["# Generated by `make deploy-local`; git-ignored. Delete only together with the volumes."]
    lines += [
        f"TF_VAR_{name}={shell_quoted('KESTRA_PASSWORD' if name == 'kestra_password' else name, value)}"
        for name, value in values.items()
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path, True


def write_stack_tfvars(stack_dir: Path, env: Mapping[str, str], path: Path = CREDENTIALS_FILE) -> Path:
    """Hand the local stack's password variables to Terraform in its own folder (see the docstring).

    Only the variables the synthesized stack declares are written (Terraform warns about others);
    KESTRA_PASSWORD, when set, wins over the file's kestra_password.
    """
    stack = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    if not path.exists() and _deployed(stack, stack_dir):
        raise BundleError(
            f"{path} is missing but the local stack is deployed: new passwords would not open its databases "
            "and Kestra; restore the file, or remove everything with ZOOMCAMP_SANDBOX=true make destroy-local"
        )
    ensure_credentials(env, path)
    values = read_credentials(path)
    kestra = Settings.from_env(env).kestra
    if kestra.password:
        values["kestra_password"] = kestra.password
    problem = basic_auth.password_problem(values.get("kestra_password", ""))
    if problem:  # a hand-edited file: Kestra would not save the login and answer every call with 401
        raise BundleError(
            f"{path}: TF_VAR_kestra_password {problem} ({basic_auth.RULE}: Kestra would answer every call "
            "with 401); set a password that passes it there, or set KESTRA_PASSWORD"
        )
    if kestra.gemini_api_key:  # GEMINI_API_KEY wins over the file's line
        values[GEMINI_API_KEY_VARIABLE] = kestra.gemini_api_key
    declared = stack.get("variable", {})
    target = stack_dir / STACK_TFVARS_NAME
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({name: values[name] for name in declared if name in values}, handle, indent=2)
    return target


def _deployed(stack: Mapping[str, Any], stack_dir: Path) -> bool:
    """Whether the stack's local Terraform state holds resources (read as JSON: no Terraform run)."""
    state_path = stack.get("terraform", {}).get("backend", {}).get("local", {}).get("path")
    state_file = stack_dir / state_path if state_path else None
    if state_file is None or not state_file.is_file():
        return False
    try:
        return bool(json.loads(state_file.read_text(encoding="utf-8")).get("resources"))
    except ValueError:
        return True  # unreadable: assume deployed rather than generate passwords over it
