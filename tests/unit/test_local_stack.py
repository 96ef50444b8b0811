"""What `cdktf deploy local` would create: the rules and relations its Terraform JSON keeps.

The values themselves (names, ports, mounts, images, KV, provider, variables, outputs) are
listed in tests/inventories/local-*.yaml, read by tests/unit/test_inventories.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from flowcheck.flow_catalog import load_flow_catalog
from stacks import versions
from stacks.kestra import server_config
from stacks.settings import PROJECT_ROOT
from tests.support.synth import only, resources, synth_stack

FORBIDDEN_TAGS = re.compile(r":(latest|develop)(-.*)?$")


def containers(synth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in resources(synth, "docker_container").values()}


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container["env"])


def kestra_configuration(synth: dict[str, Any]) -> dict[str, Any]:
    raw = env_of(containers(synth)["zoomcamp-kestra"])["KESTRA_CONFIGURATION"]
    assert "${" not in raw.replace("$${", ""), "unescaped Terraform interpolation in the Kestra config"
    return yaml.safe_load(raw.replace("$${", "${"))


def test_images_are_pinned_and_kept(local_synth: dict[str, Any]) -> None:
    images = {i["name"]: i for i in resources(local_synth, "docker_image").values()}
    assert set(images) == {versions.KESTRA_IMAGE, versions.POSTGRES_IMAGE}
    assert versions.KESTRA_IMAGE.startswith("kestra/kestra:v1.")
    for name, image in images.items():
        assert ":" in name and not FORBIDDEN_TAGS.search(name), name
        assert image["keep_locally"] is True
    for container in containers(local_synth).values():
        assert container["image"].startswith("${docker_image."), container["name"]


def test_every_container_is_healthchecked_and_waited_for(local_synth: dict[str, Any]) -> None:
    for name, container in containers(local_synth).items():
        assert container["healthcheck"]["test"], name
        assert container["wait"] is True, name
        assert container["restart"] == "unless-stopped", name
    pg_checks = [
        containers(local_synth)[n]["healthcheck"]["test"] for n in ("zoomcamp-postgres", "zoomcamp-kestra-postgres")
    ]
    assert all(test[:2] == ["CMD", "pg_isready"] for test in pg_checks)
    kestra_check = " ".join(containers(local_synth)["zoomcamp-kestra"]["healthcheck"]["test"])
    assert "/dev/tcp/127.0.0.1/8081" in kestra_check and "GET /health" in kestra_check


def test_passwords_are_sensitive_variables_never_literals(local_synth: dict[str, Any]) -> None:
    """Which variable each container reads: tests/inventories/local-default.yaml."""
    for name in ("kestra_password", "kestra_db_password", "zoomcamp_db_password"):
        variable = local_synth["variable"][name]
        assert variable["sensitive"] is True and "default" not in variable
        assert 'can(regex("[A-Z]"' in variable["validation"][0]["condition"]
        assert 'can(regex("[a-z]"' in variable["validation"][0]["condition"]  # Kestra 1.3 needs one too
    for container in containers(local_synth).values():
        for key, value in env_of(container).items():
            if any(word in key for word in ("PASSWORD", "SECRET")):
                assert value.startswith("${") and "var." in value, f"{container['name']} {key} holds a literal"


def test_task_working_directories_are_the_same_path_on_the_host(local_synth: dict[str, Any]) -> None:
    """Task containers Kestra starts mount the host's path: it must be the path Kestra writes to.
    The other mounts (storage, Docker socket, database volumes): tests/inventories/local-default.yaml."""
    mounts = {v["container_path"]: v for v in containers(local_synth)["zoomcamp-kestra"]["volumes"]}
    assert mounts[server_config.TASK_WORKING_DIR]["host_path"] == server_config.TASK_WORKING_DIR
    tmp_dir = kestra_configuration(local_synth)["kestra"]["tasks"]["tmp-dir"]["path"]
    assert tmp_dir.startswith(server_config.TASK_WORKING_DIR + "/")


def test_start_order_follows_health(local_synth: dict[str, Any]) -> None:
    address = {c["name"]: f"docker_container.{key}" for key, c in resources(local_synth, "docker_container").items()}
    assert containers(local_synth)["zoomcamp-kestra"]["depends_on"] == [address["zoomcamp-kestra-postgres"]]
    for flow in resources(local_synth, "kestra_flow").values():
        assert flow["depends_on"] == ["docker_container.kestra"]
    for entry in resources(local_synth, "kestra_kv").values():
        assert entry["depends_on"] == ["docker_container.kestra"]


def test_one_kestra_flow_per_file_with_the_file_text(local_synth: dict[str, Any]) -> None:
    """Every file of flows/ under the id it names, with its text less only its read-only label
    (the local flows are editable)."""
    expected = {flow.flow_id: flow for flow in load_flow_catalog(PROJECT_ROOT / "flows")}
    synthesized = {f["flow_id"]: f for f in resources(local_synth, "kestra_flow").values()}
    assert set(synthesized) == set(expected)
    for flow_id, flow in synthesized.items():
        shipped, written = flow["content"].splitlines(), expected[flow_id].content.splitlines()
        removed = [line for line in written if line not in shipped]
        assert removed in (['  system.readOnly: "true"'], ["labels:", '  system.readOnly: "true"']), removed
        assert len(written) - len(shipped) in (1, 3)  # the label line, or the labels block and its blank line
        assert flow["content"] == expected[flow_id].editable_content
        assert flow["namespace"] == expected[flow_id].namespace


def test_the_kestra_provider_is_the_pinned_one(local_synth: dict[str, Any]) -> None:
    """Where it points: tests/inventories/local-default.yaml (and local-pgadmin.yaml on another port)."""
    assert local_synth["terraform"]["required_providers"]["kestra"] == {
        "source": versions.KESTRA_PROVIDER_SOURCE,
        "version": versions.KESTRA_PROVIDER_VERSION,
    }


@pytest.mark.parametrize("synth", ["local_synth", "custom_synth"])
def test_flows_get_the_stacks_network_and_no_credential_as_kv(synth: str, request: pytest.FixtureRequest) -> None:
    """The values themselves: tests/inventories/local-default.yaml, local-pgadmin.yaml."""
    local_synth = request.getfixturevalue(synth)
    kv = {e["key"]: e for e in resources(local_synth, "kestra_kv").values()}
    assert kv["ZOOMCAMP_DOCKER_NETWORK"]["value"] == only(local_synth, "docker_network")["name"]
    assert all("PASSWORD" not in key for key in kv), "credentials never go to KV"


def test_no_password_literal_anywhere(local_synth: dict[str, Any]) -> None:
    text = json.dumps(local_synth)
    for weak in ("k3str4", "Admin1234", "root:root", "PASSWORD=root"):
        assert weak not in text
    assert not re.search(r"PASSWORD=(?!\$\{)", text), "a password env var holds a literal"


@pytest.fixture(scope="module")
def custom_synth() -> dict[str, Any]:
    return synth_stack(
        "local",
        {
            "KESTRA_PORT": "18080",
            "ZOOMCAMP_PG_PORT": "15432",
            "PGADMIN_ENABLED": "true",
            "PGADMIN_PORT": "18085",
            "ZOOMCAMP_PREFIX": "dez",
            "ZOOMCAMP_BIND_ADDRESS": "0.0.0.0",
        },
    )


def test_pgadmin_knows_the_taxi_database_without_holding_its_password(custom_synth: dict[str, Any]) -> None:
    (upload,) = containers(custom_synth)["dez-pgadmin"]["upload"]
    assert upload["file"] == "/pgadmin4/servers.json"
    (server,) = json.loads(upload["content"])["Servers"].values()
    assert server["Host"] == "zoomcamp-postgres" and server["Port"] == 5432
    assert (server["MaintenanceDB"], server["Username"]) == ("ny_taxi", "zoomcamp")
    assert not any("pass" in key.lower() for key in server), "pgAdmin asks for the password; it is not stored"


def test_every_value_the_kestra_configuration_reads_is_in_the_container_env(local_synth: dict[str, Any]) -> None:
    """A ${NAME} Kestra cannot resolve stops it at start; each one is set, from a sensitive variable."""
    env = env_of(containers(local_synth)["zoomcamp-kestra"])
    wanted = set(re.findall(r"\$\$\{(\w+)\}", env["KESTRA_CONFIGURATION"]))
    assert {"ZOOMCAMP_BASIC_AUTH_PASSWORD", "ZOOMCAMP_METADATA_DB_PASSWORD", "ZOOMCAMP_ENCRYPTION_KEY"} <= wanted
    for name in wanted:
        assert env[name].startswith("${var."), name
    assert env["ZOOMCAMP_ENCRYPTION_KEY"] == "${var.kestra_encryption_key}"
    assert local_synth["variable"]["kestra_encryption_key"]["sensitive"] is True


@pytest.mark.parametrize(("setting", "enabled"), [(None, False), ("true", True)])
def test_secret_outputs_are_encrypted_and_tutorial_flows_off_unless_asked(setting: str | None, enabled: bool) -> None:
    synth = synth_stack("local", {"KESTRA_TUTORIAL_FLOWS": setting} if setting else {})
    kestra = kestra_configuration(synth)["kestra"]
    assert kestra["encryption"] == {"secret-key": "${ZOOMCAMP_ENCRYPTION_KEY}"}
    assert kestra["tutorial-flows"] == {"enabled": enabled}
