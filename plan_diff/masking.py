"""Keep secrets out of a diff that ends up in a public pull-request comment.

A value is masked when the attribute, environment variable or YAML key that holds it is
named like a secret (password, token, secret, private key, credentials…). References are
left visible (`${var.kestra_password}`, `{{ secret('X') }}`, `$${ENV}`): they say where a
secret comes from, which is what a reviewer needs, and hold no secret themselves.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "(sensitive)"

SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|private[_-]?key|credential|api[_-]?key|access[_-]?key|client[_-]?key",
    re.IGNORECASE,
)
# Terraform `${...}` (escaped or not) or a Kestra/Pebble `{{ ... }}`, optionally quoted.
_REFERENCE = re.compile(r"""^\s*(["']?)(\$\$?\{[^{}]*\}|\{\{.*\}\})\1\s*$""")
# NAME=value (container env) or `key: value` / `key = value` inside a multi-line text.
_ASSIGNMENT = re.compile(r"^(?P<lead>\s*-?\s*)(?P<name>[A-Za-z_][\w.-]*)(?P<sep>\s*[:=]\s*)(?P<value>.+)$")


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value))


def _mask_line(line: str) -> str:
    match = _ASSIGNMENT.match(line)
    if not match or not is_secret_name(match["name"]) or is_reference(match["value"]):
        return line
    return f"{match['lead']}{match['name']}{match['sep']}{MASK}"


def mask_text(text: str) -> str:
    """Mask `NAME=value` / `key: value` lines whose name looks secret, line by line."""
    return "\n".join(_mask_line(line) for line in text.split("\n"))


def _secret_path(path: str) -> bool:
    keys = [part for part in re.split(r"[.\[\]]", path) if part and not part.isdigit()]
    return any(is_secret_name(key) for key in keys)


def mask_value(path: str, value: Any) -> Any:
    """The value to show for the attribute at `path` (dotted, with [i] for list items)."""
    if isinstance(value, list):
        return [mask_value(path, item) for item in value]
    if isinstance(value, str) and is_reference(value):
        return value
    if _secret_path(path) and value is not None and not isinstance(value, bool):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    return value
