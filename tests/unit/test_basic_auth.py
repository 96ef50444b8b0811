"""Our username/password checks say yes exactly where Kestra 1.3's BasicAuthService does.

Kestra's webserver module is not on Maven Central, so the service itself cannot run here. What
can run is Java's regex engine: the differential test feeds the same values to Kestra's two
patterns (as written in BasicAuthService, docs/kestra-sources.md) under java.util.regex with
`matches()`, and to stacks/basic_auth.py, so the Python transcription cannot drift from Java's
semantics (line terminators, code points vs UTF-16 units, ASCII classes).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks import basic_auth
from stacks.local.credentials import generate_password

# BasicAuthService's rules, as Java source: EMAIL_PATTERN, PASSWORD_PATTERN, EMAIL_PASSWORD_MAX_LEN = 256.
_JAVA = r"""
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Scanner;
import java.util.regex.Pattern;

public class Rules {
    static final Pattern EMAIL = Pattern.compile("^[a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+$");
    static final Pattern PASSWORD = Pattern.compile("(?=.{8,})(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).*");

    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        while (in.hasNextLine()) {
            String value = new String(Base64.getDecoder().decode(in.nextLine()), StandardCharsets.UTF_8);
            boolean user = EMAIL.matcher(value).matches() && value.length() <= 256;
            boolean password = PASSWORD.matcher(value).matches() && value.length() <= 256;
            System.out.println((user ? "1" : "0") + (password ? "1" : "0"));
        }
    }
}
"""

SAMPLES = [
    "admin@example.com",
    "admin@localhost",  # no TLD: Kestra takes it (our old check did not)
    "o'brien@example.com",
    "ad min@example.com",
    "a@b@example.com",
    "admin@exa_mple.com",
    "admin@example.com\n",
    "Ünicode@example.com",
    "x" * 250 + "@example.com",
    "Str0ngEnough",
    "ALLUPPERCASE1",  # no lower-case letter: our old check let it through
    "alllowercase1",
    "NoDigitsHere",
    "Sh0rt",
    "Abcdefg1",
    "Abcdefg1\n",
    "Abc\ndefg1",
    "Abcdefg1\r",
    "Abcdefg1\u2028",
    "Abcdefg1\u0085",
    "Abcdef\t1",
    "Äbcdefg1",
    "ÄBCDEFG1",
    "Ab1\U0001f600\U0001f600\U0001f600\U0001f600\U0001f600",  # 8 code points, 13 UTF-16 units
    "Ab1\U0001f600\U0001f600\U0001f600\U0001f600",  # 7 code points
    "Aa1" + "x" * 253,  # 256
    "Aa1" + "x" * 254,  # 257
    "Aa1" + "x" * 250 + "\U0001f600\U0001f600",  # 255 code points, 257 UTF-16 units
    "",
]


def _ours(value: str) -> str:
    user = not basic_auth.username_problems(value)
    password = basic_auth.password_problem(value) is None
    return f"{int(user)}{int(password)}"


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a JDK (java) on PATH")
def test_our_rules_answer_as_java_runs_kestras_patterns(tmp_path: Path) -> None:
    source = tmp_path / "Rules.java"
    source.write_text(_JAVA, encoding="utf-8")
    lines = "\n".join(base64.b64encode(value.encode()).decode() for value in SAMPLES) + "\n"
    java = subprocess.run(
        ["java", str(source)], input=lines, capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert dict(zip(SAMPLES, java, strict=True)) == {value: _ours(value) for value in SAMPLES}


def test_each_broken_rule_is_named() -> None:
    assert basic_auth.password_problems("ALLUPPERCASE1") == ["needs a lower-case letter (a-z)"]
    assert basic_auth.password_problems("abc") == [
        "needs at least 8 characters",
        "needs an upper-case letter (A-Z)",
        "needs a digit (0-9)",
    ]
    assert basic_auth.password_problems("Abcdefg1\n") == ["must not contain a line break"]
    assert basic_auth.username_problems("admin") and not basic_auth.username_problems("admin@localhost")


def test_generated_passwords_always_pass_kestras_rule() -> None:
    # A property over many draws: the generator retries until the rule holds, so none may fail.
    passwords = [generate_password() for _ in range(2000)]
    assert [p for p in passwords if basic_auth.password_problem(p) is not None] == []
    assert len(set(passwords)) == len(passwords)
    # Short ones too, where a draw without a lower-case letter is common (about 1 in 10 at 8 characters).
    assert all(basic_auth.password_problem(generate_password(8)) is None for _ in range(2000))


def test_a_hand_edited_kestra_password_that_kestra_would_not_save_stops_the_deploy(tmp_path: Path) -> None:
    import json

    from common.errors import BundleError
    from stacks.local.credentials import write_stack_tfvars

    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"variable": {"kestra_password": {}}}))
    credentials = tmp_path / "secrets" / "local.env"
    write_stack_tfvars(stack_dir, {}, credentials)  # generated: passes
    text = credentials.read_text(encoding="utf-8")
    start = text.index("TF_VAR_kestra_password=")
    end = text.index("\n", start)
    credentials.write_text(text[:start] + "TF_VAR_kestra_password='ALLUPPERCASE1'" + text[end:], encoding="utf-8")
    with pytest.raises(BundleError) as caught:
        write_stack_tfvars(stack_dir, {}, credentials)
    assert str(caught.value).endswith(
        "local.env: TF_VAR_kestra_password needs a lower-case letter (a-z) (Kestra 1.3's basic-auth rule: "
        "Kestra would answer every call with 401); set a password that passes it there, or set KESTRA_PASSWORD"
    )
    assert "ALLUPPERCASE1" not in str(caught.value)
