"""Settings that reach the host or the supply chain (issue 22 items 4 and 6): image digests,
registries other than Docker Hub, the Docker socket and the Git URL Kestra renders."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from stacks.settings import Settings, SettingsError
from stacks.versions import KESTRA_IMAGE

DIGEST = "sha256:" + "0123456789abcdef" * 4


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KESTRA_IMAGE", f"{KESTRA_IMAGE}@{DIGEST}"),
        ("KESTRA_IMAGE", f"{KESTRA_IMAGE}-no-plugins@{DIGEST}"),
        ("KESTRA_PG_IMAGE", f"postgres:17.6@{DIGEST}"),
        ("ZOOMCAMP_PG_IMAGE", f"postgres:17.6-alpine@{DIGEST}"),
        ("ZOOMCAMP_PG_IMAGE", f"docker.io/library/postgres:17.6@{DIGEST}"),
        ("PGADMIN_IMAGE", f"dpage/pgadmin4:9.8@{DIGEST}"),
    ],
)
def test_every_image_setting_accepts_a_digest_after_its_tag(name: str, value: str) -> None:
    settings = Settings.from_env({name: value})
    images = {
        "KESTRA_IMAGE": settings.kestra.image,
        "KESTRA_PG_IMAGE": settings.local.metadata_pg_image,
        "ZOOMCAMP_PG_IMAGE": settings.local.data_pg_image,
        "PGADMIN_IMAGE": settings.local.pgadmin_image,
    }
    assert images[name] == value


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KESTRA_IMAGE": f"kestra/kestra:v1.4.0@{DIGEST}"}, "must stay on Kestra 1.3.x"),
        ({"KESTRA_IMAGE": f"kestra/kestra:latest@{DIGEST}"}, "must be a pinned Kestra release"),
        ({"ZOOMCAMP_PG_IMAGE": f"postgres:14@{DIGEST}"}, "must be PostgreSQL 15 or newer"),
        ({"PGADMIN_IMAGE": f"dpage/pgadmin4:latest@{DIGEST}"}, "must name a pinned tag"),
        ({"PGADMIN_IMAGE": "dpage/pgadmin4:9.8@sha256:abc"}, "optionally followed by @sha256: and 64"),
        ({"KESTRA_PG_IMAGE": f"postgres:17@{DIGEST.upper()}"}, "optionally followed by @sha256: and 64"),
    ],
)
def test_the_tag_rules_still_apply_behind_a_digest(env: dict[str, str], message: str) -> None:
    text = refusal(env)
    assert message in text and len(text.splitlines()) == 1


@pytest.mark.parametrize("name", ["ZOOMCAMP_PG_IMAGE", "KESTRA_PG_IMAGE", "PGADMIN_IMAGE"])
def test_an_image_from_another_registry_needs_the_explicit_setting(name: str) -> None:
    image = {"PGADMIN_IMAGE": "ghcr.io/someone/pgadmin4:9.8"}.get(name, "ghcr.io/someone/postgres:17.6")
    text = refusal({name: image})
    assert text == (
        f"{name}={image!r} pulls from the registry ghcr.io, not Docker Hub: set ZOOMCAMP_ALLOW_REGISTRY=ghcr.io "
        "if you trust it, or use the Docker Hub image"
    )
    assert Settings.from_env({name: image, "ZOOMCAMP_ALLOW_REGISTRY": "quay.io, ghcr.io"})
    assert "localhost:5000" in refusal({name: image.replace("ghcr.io", "localhost:5000")})


def test_a_malformed_registry_list_is_one_line() -> None:
    assert refusal({"ZOOMCAMP_ALLOW_REGISTRY": "ghcr.io,$(id)"}) == (
        "ZOOMCAMP_ALLOW_REGISTRY='ghcr.io,$(id)' must be a comma-separated list of registry hosts such as ghcr.io"
    )


@pytest.mark.parametrize("value", ["/", "/var/run", "/etc/passwd", "/run/../etc/docker.sock", "docker.sock"])
def test_docker_socket_must_name_a_socket(value: str) -> None:
    assert refusal({"DOCKER_SOCKET": value}).startswith(f"DOCKER_SOCKET={value!r} must be the absolute path of Docker")


def test_docker_socket_that_exists_must_be_a_socket(tmp_path: Path) -> None:
    fake = tmp_path / "docker.sock"
    fake.mkdir()
    assert refusal({"DOCKER_SOCKET": str(fake)}) == (
        f"DOCKER_SOCKET={str(fake)!r} exists but is not a socket; name Docker's socket, e.g. /var/run/docker.sock"
    )
    real = tmp_path / "real.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(real))
        assert Settings.from_env({"DOCKER_SOCKET": str(real)}).local.docker_socket == str(real)
    # Not there yet (Docker not started): accepted; the doctor reports it.
    gone = str(tmp_path / "later.sock")
    assert Settings.from_env({"DOCKER_SOCKET": gone}).local.docker_socket == gone


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/you/{{ secret('KESTRA_PASSWORD') }}.git",
        "https://github.com/you/$(id).git",
        "https://github.com/you/`id`.git",
        "https://github.com/you/repo'.git",
        'https://github.com/you/repo".git',
        "https://github.com/you/${HOME}.git",
    ],
)
def test_git_url_refuses_templates_substitutions_and_quotes(url: str) -> None:
    assert refusal({"ZOOMCAMP_GIT_URL": url}) == (
        f"ZOOMCAMP_GIT_URL={url!r} must be an https:// Git URL such as https://github.com/you/zoomcamp-kestra.git"
    )
