"""Kestra 1.3's basic-auth rules for the username and password, checked before Kestra sees them.

Kestra does not refuse to start on a bad pair: its webserver's BasicAuthService logs the
error, stores it as the setting `kestra.server.authentication-configuration-error`, does not
save the credentials, and then answers every API call with 401 (docs/kestra-sources.md has
the file and commit this follows). So a bad pair is caught here, at synth, one rule per line.

The rules, transcribed (not copied) from BasicAuthService's EMAIL_PATTERN, PASSWORD_PATTERN
and EMAIL_PASSWORD_MAX_LEN, matched the way Java's `Matcher.matches()` does (the whole value):

- username: characters from `a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-`, one '@', then `a-zA-Z0-9.-`;
- password: at least 8 characters, with a lower-case a-z, an upper-case A-Z and a digit 0-9,
  and no line break (Java's `.` matches no line terminator, so `.*` must cover the whole value);
- each at most 256 characters (String.length(): UTF-16 code units).
"""

from __future__ import annotations

import re

RULE = "Kestra 1.3's basic-auth rule"
MAX_LENGTH = 256
# EMAIL_PATTERN of BasicAuthService; fullmatch stands for Matcher.matches().
_EMAIL = re.compile(r"[a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+")
# The characters Java's `.` does not match (java.util.regex.Pattern without DOTALL).
_LINE_TERMINATORS = re.compile("[\n\r\u0085\u2028\u2029]")


def _java_length(value: str) -> int:
    """String.length() in Java: UTF-16 code units (a character outside the BMP counts twice)."""
    return len(value.encode("utf-16-le")) // 2


def username_problems(username: str) -> list[str]:
    """Each rule of Kestra's the username breaks, worded as a fix ([] when Kestra takes it)."""
    problems = []
    if not _EMAIL.fullmatch(username):
        problems.append(
            "must be an email address of letters, digits and _!#$%&'*+/=?`{|}~^.- before the '@' and "
            "letters, digits, '.' or '-' after it, e.g. admin@example.com"
        )
    if _java_length(username) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    return problems


def password_problems(password: str) -> list[str]:
    """Each rule of Kestra's the password breaks, worded as a fix ([] when Kestra takes it)."""
    rules = (
        ("needs at least 8 characters", len(password) >= 8),  # `.{8,}` counts code points
        ("needs a lower-case letter (a-z)", re.search(r"[a-z]", password) is not None),
        ("needs an upper-case letter (A-Z)", re.search(r"[A-Z]", password) is not None),
        ("needs a digit (0-9)", re.search(r"[0-9]", password) is not None),
        ("must not contain a line break", _LINE_TERMINATORS.search(password) is None),
        (f"must be at most {MAX_LENGTH} characters", _java_length(password) <= MAX_LENGTH),
    )
    return [rule for rule, ok in rules if not ok]


def password_problem(password: str) -> str | None:
    """All broken password rules in one phrase (one message, not one rule per try), or None."""
    problems = password_problems(password)
    return "; ".join(problems) if problems else None
