"""The encryption key the stacks generate is one Kestra's own EncryptionService accepts.

`kestra.encryption.secret-key` is base64-decoded into an AES key by Kestra; a password-shaped
value makes every encrypted output fail. Locally the key comes from stacks/local/credentials.py;
on the VM the boot script makes it the same way (tests/unit/test_gcp_boot_script.py).
"""

from __future__ import annotations

from stacks.local.credentials import generate_encryption_key
from tests.support.kestra_judge import encryption_key_problem


def test_the_generated_key_works_in_kestra() -> None:
    assert encryption_key_problem(generate_encryption_key()) is None


def test_a_password_shaped_key_is_refused_by_kestra() -> None:
    """The check can fail: what a learner might paste instead of a key."""
    assert encryption_key_problem("Strong123password") is not None
