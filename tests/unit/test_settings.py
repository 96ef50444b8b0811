"""Bad settings stop synth with one line naming the variable and what is allowed."""

from __future__ import annotations

import pytest

from stacks import versions
from stacks.settings import Settings, SettingsError


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env({})
    assert settings.stacks == ("local", "gcp")
    assert settings.sandbox is False
    assert settings.kestra.image == versions.KESTRA_IMAGE
    assert settings.kestra.namespace == "zoomcamp"
    assert settings.kestra.password is None
    local = settings.local
    assert (local.kestra_port, local.data_pg_port, local.pgadmin_port) == (8080, 5432, 8085)
    assert local.pgadmin_enabled is False
    assert local.bind_address == "127.0.0.1"
    assert local.kestra_url == "http://localhost:8080"


def test_good_overrides_are_taken() -> None:
    settings = Settings.from_env(
        {
            "KESTRA_PORT": "18080",
            "ZOOMCAMP_PG_PORT": "15432",
            "PGADMIN_ENABLED": "yes",
            "PGADMIN_PORT": "18085",
            "KESTRA_PASSWORD": "Str0ngEnough",
            "KESTRA_USERNAME": "teacher@school.org",
            "ZOOMCAMP_STACKS": "local",
            "ZOOMCAMP_SANDBOX": "true",
        }
    )
    assert settings.local.kestra_port == 18080
    assert settings.local.kestra_url == "http://localhost:18080"
    assert settings.local.pgadmin_enabled is True
    assert settings.kestra.password == "Str0ngEnough"
    assert settings.stacks == ("local",)
    assert settings.sandbox is True


BAD_INPUTS = [
    ({"KESTRA_PORT": "99999"}, "KESTRA_PORT='99999' must be a port number from 1 to 65535"),
    ({"KESTRA_PORT": "http"}, "KESTRA_PORT='http' must be a port number"),
    ({"ZOOMCAMP_PG_PORT": "0"}, "ZOOMCAMP_PG_PORT='0' must be a port number"),
    (
        {"ZOOMCAMP_PG_PORT": "8080"},
        "ZOOMCAMP_PG_PORT=8080 is also KESTRA_PORT: two services cannot share one host port",
    ),
    (
        {"PGADMIN_ENABLED": "true", "PGADMIN_PORT": "5432"},
        "PGADMIN_PORT=5432 is also ZOOMCAMP_PG_PORT: two services cannot share one host port",
    ),
    ({"PGADMIN_ENABLED": "maybe"}, "PGADMIN_ENABLED='maybe' must be true or false"),
    ({"KESTRA_USERNAME": "admin"}, "KESTRA_USERNAME='admin' must be an email address"),
    # Kestra 1.3's EMAIL_PATTERN has no TLD rule but a fixed alphabet: a space or a second '@' fails it
    ({"KESTRA_USERNAME": "ad min@example.com"}, "KESTRA_USERNAME='ad min@example.com' must be an email address"),
    ({"KESTRA_USERNAME": "a@b@example.com"}, "(Kestra 1.3's basic-auth rule: Kestra would answer every call with 401)"),
    ({"KESTRA_PASSWORD": "Sh0rt"}, "KESTRA_PASSWORD: needs at least 8 characters (Kestra 1.3's basic-auth rule"),
    ({"KESTRA_PASSWORD": "alllowercase1"}, "KESTRA_PASSWORD: needs an upper-case letter (A-Z) (Kestra 1.3's"),
    ({"KESTRA_PASSWORD": "NoDigitsHere"}, "KESTRA_PASSWORD: needs a digit (0-9) (Kestra 1.3's"),
    # the rule our check lacked before issue 19: Kestra's PASSWORD_PATTERN has (?=.*[a-z])
    ({"KESTRA_PASSWORD": "ALLUPPERCASE1"}, "KESTRA_PASSWORD: needs a lower-case letter (a-z) (Kestra 1.3's"),
    (
        {"KESTRA_PASSWORD": "abc"},
        "KESTRA_PASSWORD: needs at least 8 characters; needs an upper-case letter (A-Z); needs a digit (0-9)",
    ),
    ({"KESTRA_NAMESPACE": "Zoomcamp"}, "KESTRA_NAMESPACE='Zoomcamp' must be lower-case letters"),
    ({"KESTRA_NAMESPACE": "-zoomcamp"}, "KESTRA_NAMESPACE='-zoomcamp' must be lower-case letters"),
    ({"KESTRA_IMAGE": "kestra/kestra:latest"}, "KESTRA_IMAGE='kestra/kestra:latest' must be a pinned Kestra release"),
    ({"KESTRA_IMAGE": "kestra/kestra:develop"}, "KESTRA_IMAGE='kestra/kestra:develop' must be a pinned Kestra release"),
    ({"KESTRA_IMAGE": "kestra/kestra:v1.2.5"}, "must stay on Kestra 1.3.x: the Kestra Terraform provider is pinned"),
    ({"ZOOMCAMP_PG_IMAGE": "postgres:14.10"}, "ZOOMCAMP_PG_IMAGE='postgres:14.10' must be PostgreSQL 15 or newer"),
    ({"ZOOMCAMP_PG_IMAGE": "postgres"}, "ZOOMCAMP_PG_IMAGE='postgres' must be a pinned postgres image"),
    ({"PGADMIN_IMAGE": "dpage/pgadmin4:latest"}, "PGADMIN_IMAGE='dpage/pgadmin4:latest' must name a pinned tag"),
    ({"ZOOMCAMP_STACKS": "local,aws"}, "ZOOMCAMP_STACKS='local,aws' must be a comma-separated list of local, gcp"),
    ({"ZOOMCAMP_BIND_ADDRESS": "localhost"}, "ZOOMCAMP_BIND_ADDRESS='localhost' must be an IPv4 address"),
    ({"ZOOMCAMP_BIND_ADDRESS": "127.0.0.256"}, "ZOOMCAMP_BIND_ADDRESS='127.0.0.256' must be an IPv4 address"),
    ({"ZOOMCAMP_PG_DB": "ny-taxi"}, "ZOOMCAMP_PG_DB='ny-taxi' must be a lower-case PostgreSQL identifier"),
    ({"ZOOMCAMP_PREFIX": "Zoom Camp"}, "ZOOMCAMP_PREFIX='Zoom Camp' must be 1-41 lower-case letters"),
    (
        {"DOCKER_SOCKET": "docker.sock"},
        "DOCKER_SOCKET='docker.sock' must be the absolute path of Docker's socket, ending in .sock",
    ),
]


@pytest.mark.parametrize(
    ("env", "message"), BAD_INPUTS, ids=[next(iter(env)) + "=" + next(iter(env.values())) for env, _ in BAD_INPUTS]
)
def test_bad_input_fails_with_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    assert len(text.splitlines()) == 1, text
    assert message in text


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"KESTRA_PORT": "x", "KESTRA_USERNAME": "nobody", "PGADMIN_ENABLED": "2"})
    lines = str(caught.value).splitlines()
    assert [line.split("=")[0] for line in lines] == ["KESTRA_USERNAME", "KESTRA_PORT", "PGADMIN_ENABLED"]


def test_a_weak_password_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"KESTRA_PASSWORD": "secretpass"})
    assert "secretpass" not in str(caught.value)
