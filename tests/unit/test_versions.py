"""The Kestra image and the Kestra Terraform provider move together, as a pair."""

from __future__ import annotations

import re

from stacks import versions


def minor(text: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", text)
    assert match, text
    return int(match[1]), int(match[2])


def image_version(image: str) -> str:
    return image.split(":v", 1)[1]


def test_image_and_provider_are_on_the_same_kestra_minor() -> None:
    assert minor(image_version(versions.KESTRA_IMAGE)) == minor(versions.KESTRA_PROVIDER_VERSION)


def test_the_kestra_provider_is_one_exact_release() -> None:
    """The bindings are checked against this release's schema (tests/unit/test_kestra_bindings.py), no other."""
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.KESTRA_PROVIDER_VERSION), "pin X.Y.Z exactly (no ~>, no range)"


def test_the_pair_rule_compares_minors() -> None:
    """The pair test above can fail: a 2.x provider or another Kestra minor is refused."""
    assert minor(image_version("kestra/kestra:v1.3.9")) == minor("1.3.2")
    assert minor("1.3.9") != minor("2.0.0")
    assert minor("1.4.0") != minor("1.3.2")


def test_kestra_is_a_pinned_1x_release() -> None:
    assert re.fullmatch(r"kestra/kestra:v1\.\d+\.\d+", versions.KESTRA_IMAGE)


def test_data_postgres_supports_merge() -> None:
    assert int(versions.POSTGRES_IMAGE.split(":")[1].split(".")[0]) >= versions.MIN_DATA_POSTGRES_MAJOR >= 15


def test_the_kestra_the_tests_ask_is_the_kestra_we_deploy() -> None:
    """tools/kestra/pom.xml resolves Kestra's modules at exactly the image's version."""
    from tests.support.kestra_judge import pinned_kestra_version

    assert pinned_kestra_version() == versions.KESTRA_VERSION, "set <kestra.version> in tools/kestra/pom.xml"
    assert f"kestra/kestra:v{pinned_kestra_version()}" == versions.KESTRA_IMAGE
