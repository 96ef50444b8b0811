"""The doctor, each check faked at its boundary: a real socket, a real file, a real PATH.

Every test builds its own environment (never the developer's), so a Docker engine, a busy
port or a gcloud login on this machine cannot change the outcome.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from common.errors import run_cli
from ops.doctor import Report, Status, run_doctor
from ops.doctor import checks_tools as tools_module
from ops.doctor.__main__ import main as doctor_main
from ops.doctor.checks_gcp import REQUIRED_APIS
from stacks.settings import PROJECT_ROOT
from tests.support.fakes import (
    container,
    fake_docker_engine,
    free_port,
    listening_port,
    short_tmp_dir,
    unix_http_server,
    write_python_tool,
    write_tool,
)

GOOD_PYTHON = (3, 11, 7)


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    with short_tmp_dir() as path:
        yield path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the files the tool checks read (Pipfile, package.json, node_modules)."""
    root = tmp_path / "project"
    (root / "node_modules" / "cdktf-cli").mkdir(parents=True)
    (root / "Pipfile").write_text('[requires]\npython_version = "3.11"\n')
    (root / "package.json").write_text(
        json.dumps({"engines": {"node": ">=20"}, "devDependencies": {"cdktf-cli": "0.21.0"}})
    )
    (root / "node_modules" / "cdktf-cli" / "package.json").write_text(json.dumps({"version": "0.21.0"}))
    return root


@pytest.fixture
def env(tmp_path: Path, sock_dir: Path) -> dict[str, str]:
    """Good tools on PATH, free ports, and a Docker socket path where nothing listens yet."""
    bin_dir = tmp_path / "bin"
    write_tool(bin_dir, "node", "v20.11.1")
    write_tool(bin_dir, "terraform", json.dumps({"terraform_version": "1.11.4"}))
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": str(bin_dir),
        "HOME": str(home),
        # Terraform's docker provider reads DOCKER_HOST; Kestra mounts DOCKER_SOCKET: one engine.
        "DOCKER_HOST": f"unix://{sock_dir / 'docker.sock'}",
        "DOCKER_SOCKET": str(sock_dir / "docker.sock"),
        "KESTRA_PORT": str(free_port()),
        "ZOOMCAMP_PG_PORT": str(free_port()),
        # A project given, so no test consults this machine's gcloud or ADC for one.
        "GCP_PROJECT_ID": "zoomcamp-test-project",
    }


def doctor(stack: str, env: dict[str, str], project: Path, tmp_path: Path, **overrides: object) -> Report:
    options: dict[str, object] = {
        "project_root": project,
        "credentials_file": tmp_path / "secrets" / "local.env",
        "python_version": GOOD_PYTHON,
        "docker_timeout": 2.0,
        **overrides,
    }
    return run_doctor(stack, env, **options)


def results(report: Report, check: str) -> list:
    found = [r for r in report.results if r.check == check]
    assert found, f"no {check} result in {[r.check for r in report.results]}"
    return found


def one(report: Report, check: str):
    found = results(report, check)
    assert len(found) == 1, found
    return found[0]


# --- Docker engine -----------------------------------------------------------------------


def test_missing_docker_socket_fails_with_how_to_start_docker(env, project, tmp_path) -> None:
    report = doctor("local", env, project, tmp_path)
    docker = one(report, "docker")
    assert docker.status is Status.FAIL
    assert docker.message == f"not reachable (no Docker socket at {env['DOCKER_SOCKET']})"
    assert "start Docker" in docker.fix and "systemctl start docker" in docker.fix
    assert report.exit_code == 1
    assert [r.check for r in report.failures] == ["docker"], "everything else in this environment is fine"


def test_socket_nobody_listens_on_is_connection_refused(env, project, tmp_path) -> None:
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(env["DOCKER_SOCKET"])  # the file exists, but no engine accepts on it
    try:
        docker = one(doctor("local", env, project, tmp_path), "docker")
    finally:
        dead.close()
    assert docker.status is Status.FAIL
    assert "connection refused" in docker.message and env["DOCKER_SOCKET"] in docker.message


def test_docker_desktop_socket_is_suggested_when_the_default_is_missing(env, project, tmp_path, sock_dir) -> None:
    desktop = Path(env["HOME"]) / ".docker" / "desktop"
    desktop.mkdir(parents=True)
    with short_tmp_dir() as short:
        # The socket must be short-pathed; link it where Docker Desktop keeps it.
        real = short / "d.sock"
        with fake_docker_engine(real):
            (desktop / "docker.sock").symlink_to(real)
            docker = one(doctor("local", env, project, tmp_path), "docker")
    assert docker.status is Status.FAIL
    expected = desktop / "docker.sock"
    assert (
        docker.fix == f"Docker listens on {expected}: `export DOCKER_HOST=unix://{expected} DOCKER_SOCKET={expected}`"
    )


def test_reachable_fake_engine_passes_and_exit_code_is_zero(env, project, tmp_path) -> None:
    with fake_docker_engine(Path(env["DOCKER_SOCKET"])) as asked:
        report = doctor("local", env, project, tmp_path)
    docker = one(report, "docker")
    assert docker.status is Status.OK
    assert docker.message == f"reachable at unix://{env['DOCKER_SOCKET']}, API 1.47"
    assert asked[:2] == ["/_ping", "/containers/json"]
    assert report.failures == () and report.exit_code == 0


def test_docker_host_overrides_the_configured_socket(env, project, tmp_path, sock_dir) -> None:
    other = sock_dir / "other.sock"
    with fake_docker_engine(other) as asked:
        report = doctor("local", {**env, "DOCKER_HOST": f"unix://{other}"}, project, tmp_path)
    assert one(report, "docker").status is Status.OK
    assert asked, "the engine named by DOCKER_HOST was asked, not DOCKER_SOCKET"


def test_something_that_is_not_docker_on_the_socket_is_named(env, project, tmp_path, sock_dir) -> None:
    # An HTTP server answering 404 to /_ping: a socket, but not a Docker engine.
    server_path = sock_dir / "web.sock"
    with unix_http_server(server_path, lambda path: (404, b"nope", {})):
        not_docker = {**env, "DOCKER_HOST": f"unix://{server_path}", "DOCKER_SOCKET": str(server_path)}
        docker = one(doctor("local", not_docker, project, tmp_path), "docker")
    assert docker.status is Status.FAIL
    assert "answered /_ping with 404" in docker.message
    assert "not Docker" in docker.fix


def test_tcp_docker_host_with_nothing_listening_is_refused(env, project, tmp_path) -> None:
    port = free_port()
    docker = one(doctor("local", {**env, "DOCKER_HOST": f"tcp://127.0.0.1:{port}"}, project, tmp_path), "docker")
    assert docker.status is Status.FAIL
    assert docker.message == f"not reachable (connection refused on tcp://127.0.0.1:{port})"


def test_tls_docker_host_cannot_be_checked_and_is_only_a_warning(env, project, tmp_path) -> None:
    tls = {**env, "DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1"}
    docker = one(doctor("local", tls, project, tmp_path), "docker")
    assert docker.status is Status.WARN
    assert docker.fix == "make sure `docker info` works before deploying"


def test_socket_without_docker_host_is_not_what_terraform_uses(env, project, tmp_path) -> None:
    without_host = {k: v for k, v in env.items() if k != "DOCKER_HOST"}
    report = doctor("local", without_host, project, tmp_path)
    socket_check = one(report, "docker.socket")
    assert socket_check.status is Status.FAIL
    assert socket_check.message == (
        f"DOCKER_SOCKET={env['DOCKER_SOCKET']} but DOCKER_HOST is unset, so Terraform would use /var/run/docker.sock"
    )
    assert socket_check.fix == f"`export DOCKER_HOST=unix://{env['DOCKER_SOCKET']}` as well"


def test_kestra_socket_missing_here_warns_for_vm_based_engines(env, project, tmp_path, sock_dir) -> None:
    """Docker Desktop/Colima resolve the mount inside their VM: a missing local file is not fatal."""
    with fake_docker_engine(Path(env["DOCKER_SOCKET"])):
        report = doctor("local", {**env, "DOCKER_SOCKET": str(sock_dir / "gone.sock")}, project, tmp_path)
    socket_check = one(report, "docker.socket")
    assert socket_check.status is Status.WARN
    assert socket_check.message == (
        f"DOCKER_SOCKET={sock_dir / 'gone.sock'} is not a socket on this machine; Kestra mounts it to run script tasks"
    )
    assert "Docker Desktop or Colima" in socket_check.fix
    assert f"export DOCKER_SOCKET={env['DOCKER_SOCKET']}" in socket_check.fix
    assert one(report, "docker").status is Status.OK
    assert report.exit_code == 0


def test_one_engine_for_terraform_and_kestra_needs_no_socket_line(env, project, tmp_path) -> None:
    with fake_docker_engine(Path(env["DOCKER_SOCKET"])):
        report = doctor("local", env, project, tmp_path)
    assert "docker.socket" not in [r.check for r in report.results]


# --- Host ports --------------------------------------------------------------------------


def test_port_bound_by_another_program_fails_and_suggests_a_free_one(env, project, tmp_path) -> None:
    with port_held_apart_from(env) as busy:
        report = doctor("local", {**env, "ZOOMCAMP_PG_PORT": str(busy)}, project, tmp_path)
        port = one(report, "port.postgres")
        suggested = int(port.fix.rsplit("ZOOMCAMP_PG_PORT=", 1)[1])
        with socket.socket() as check:  # the suggestion really is free
            check.bind(("127.0.0.1", suggested))
    assert port.status is Status.FAIL
    assert port.message == (
        f"127.0.0.1:{busy} is already in use by another program (Docker is not reachable: it may be ours)"
    )
    assert port.fix.startswith(f"stop it (`sudo ss -ltnp 'sport = :{busy}'` shows it) or set ZOOMCAMP_PG_PORT=")
    assert suggested > busy and suggested != int(env["KESTRA_PORT"])
    assert one(report, "port.kestra").status is Status.OK
    assert report.exit_code == 1


def test_free_ports_pass(env, project, tmp_path) -> None:
    report = doctor("local", env, project, tmp_path)
    assert one(report, "port.kestra").message == f"127.0.0.1:{env['KESTRA_PORT']} is free"
    assert one(report, "port.postgres").status is Status.OK


def test_port_published_by_a_foreign_container_fails_naming_it(env, project, tmp_path) -> None:
    kestra_port = int(env["KESTRA_PORT"])
    engine = [container("pgadmin-from-module-1", kestra_port)]
    with fake_docker_engine(Path(env["DOCKER_SOCKET"]), engine):
        report = doctor("local", env, project, tmp_path)
    port = one(report, "port.kestra")
    assert port.status is Status.FAIL
    assert (
        port.message
        == f"{kestra_port} is published by Docker container pgadmin-from-module-1, which is not part of this stack"
    )
    assert port.fix.startswith("stop it (`docker stop pgadmin-from-module-1`) or set KESTRA_PORT=")
    assert report.exit_code == 1


def test_port_held_by_our_own_container_is_fine(env, project, tmp_path) -> None:
    kestra_port = int(env["KESTRA_PORT"])
    engine = [container("zoomcamp-kestra", kestra_port)]
    with listening_port() as _, fake_docker_engine(Path(env["DOCKER_SOCKET"]), engine):
        report = doctor("local", env, project, tmp_path)
    port = one(report, "port.kestra")
    assert port.status is Status.OK
    assert port.message == f"{kestra_port} is held by our container zoomcamp-kestra (the deploy keeps or replaces it)"
    assert report.exit_code == 0


def test_our_containers_are_recognised_by_the_configured_prefix(env, project, tmp_path) -> None:
    kestra_port = int(env["KESTRA_PORT"])
    engine = [container("zoomcamp-kestra", kestra_port)]  # default prefix, but we now use "course"
    with fake_docker_engine(Path(env["DOCKER_SOCKET"]), engine):
        report = doctor("local", {**env, "ZOOMCAMP_PREFIX": "course"}, project, tmp_path)
    assert one(report, "port.kestra").status is Status.FAIL


@contextmanager
def port_held_apart_from(env: dict[str, str]) -> Iterator[int]:
    """A port another program listens on, never one of `env`'s ports.

    free_port() closes its socket, so the kernel may hand the same number to the next bind(0), about
    once in 10,000 tries: a busy port equal to KESTRA_PORT or ZOOMCAMP_PG_PORT turns the test into a
    settings error (two services on one port), with no port check at all (the flake once seen on main).
    """
    ours = {env["KESTRA_PORT"], env["ZOOMCAMP_PG_PORT"]}
    with ExitStack() as stack:
        while True:
            busy = stack.enter_context(listening_port())  # a colliding one stays held, so it is not drawn again
            if str(busy) not in ours:
                yield busy
                return


def test_pgadmin_port_is_checked_only_when_enabled(env, project, tmp_path) -> None:
    assert not [r for r in doctor("local", env, project, tmp_path).results if r.check == "port.pgadmin"]
    with port_held_apart_from(env) as busy:
        enabled = {**env, "PGADMIN_ENABLED": "true", "PGADMIN_PORT": str(busy)}
        pgadmin = one(doctor("local", enabled, project, tmp_path), "port.pgadmin")
    assert pgadmin.status is Status.FAIL and "PGADMIN_PORT=" in pgadmin.fix


def test_a_busy_port_drawn_equal_to_kestras_is_skipped(env, project, tmp_path, monkeypatch) -> None:
    """The flake's cause, forced: the kernel's next port is KESTRA_PORT, then another."""
    drawn = iter([int(env["KESTRA_PORT"]), free_port()])

    @contextmanager
    def reused_port() -> Iterator[int]:
        yield next(drawn)

    monkeypatch.setattr(f"{__name__}.listening_port", reused_port)
    clash = {**env, "PGADMIN_ENABLED": "true", "PGADMIN_PORT": env["KESTRA_PORT"]}
    assert not [r for r in doctor("local", clash, project, tmp_path).results if r.check == "port.pgadmin"]
    with port_held_apart_from(env) as busy:
        assert str(busy) not in (env["KESTRA_PORT"], env["ZOOMCAMP_PG_PORT"])


def test_bind_address_that_is_not_ours_is_reported(env, project, tmp_path) -> None:
    # 192.0.2.1 is TEST-NET-1: never assigned to this machine, and binding sends no traffic.
    report = doctor("local", {**env, "ZOOMCAMP_BIND_ADDRESS": "192.0.2.1"}, project, tmp_path)
    port = one(report, "port.kestra")
    assert port.status is Status.FAIL
    assert port.message == "ZOOMCAMP_BIND_ADDRESS=192.0.2.1 is not an address of this machine"


# --- Settings surfaced as checks --------------------------------------------------------


def test_develop_kestra_image_is_a_failed_check_not_a_crash(env, project, tmp_path) -> None:
    report = doctor("local", {**env, "KESTRA_IMAGE": "kestra/kestra:develop"}, project, tmp_path)
    image = one(report, "kestra_image")
    assert image.status is Status.FAIL
    assert image.message.startswith("KESTRA_IMAGE='kestra/kestra:develop' must be a pinned Kestra release")
    assert image.fix.startswith("unset KESTRA_IMAGE to use the tested kestra/kestra:v1.3.")
    assert one(report, "settings").status is Status.OK, "the image problem is reported once, by its own check"
    assert one(report, "ports").status is Status.SKIP
    assert report.exit_code == 1


def test_old_postgres_image_fails_because_merge_needs_15(env, project, tmp_path) -> None:
    report = doctor("local", {**env, "ZOOMCAMP_PG_IMAGE": "postgres:14.9"}, project, tmp_path)
    images = one(report, "postgres_images")
    assert images.status is Status.FAIL
    assert "must be PostgreSQL 15 or newer" in images.message and "MERGE" in images.fix


def test_every_bad_setting_is_its_own_line(env, project, tmp_path) -> None:
    bad = {**env, "KESTRA_PORT": "99999", "KESTRA_USERNAME": "admin"}
    lines = results(doctor("local", bad, project, tmp_path), "settings")
    assert [r.status for r in lines] == [Status.FAIL, Status.FAIL]
    by_variable = {r.message.split("=", 1)[0]: r for r in lines}
    assert by_variable["KESTRA_PORT"].message == "KESTRA_PORT='99999' must be a port number from 1 to 65535"
    assert by_variable["KESTRA_PORT"].fix.startswith("change or unset KESTRA_PORT")
    assert by_variable["KESTRA_USERNAME"].message.startswith("KESTRA_USERNAME='admin' must be an email address")


def test_pinned_kestra_image_passes(env, project, tmp_path) -> None:
    image = one(doctor("local", env, project, tmp_path), "kestra_image")
    assert image.status is Status.OK and image.message.startswith("kestra/kestra:v1.")


# --- Tools ---------------------------------------------------------------------------------


def test_tool_versions_pass_when_new_enough(env, project, tmp_path) -> None:
    report = doctor("local", env, project, tmp_path)
    assert one(report, "node").message == "20.11.1 (>= 20)"
    assert one(report, "terraform").message == "1.11.4 (>= 1.5)"
    assert one(report, "python").message == "3.11.7 (>= 3.11)"
    assert one(report, "cdktf").message == "0.21.0 (pinned in package.json)"


def test_old_node_fails(env, project, tmp_path) -> None:
    write_tool(Path(env["PATH"]), "node", "v18.19.0")
    node = one(doctor("local", env, project, tmp_path), "node")
    assert node.status is Status.FAIL
    assert node.message == "18.19.0 is older than 20 (package.json)"
    assert "Node.js 20 or newer" in node.fix


def test_missing_terraform_fails(env, project, tmp_path) -> None:
    (Path(env["PATH"]) / "terraform").unlink()
    terraform = one(doctor("local", env, project, tmp_path), "terraform")
    assert terraform.status is Status.FAIL
    assert terraform.message == "terraform not found on PATH"


def test_old_terraform_fails(env, project, tmp_path) -> None:
    write_tool(Path(env["PATH"]), "terraform", json.dumps({"terraform_version": "1.4.6"}))
    terraform = one(doctor("local", env, project, tmp_path), "terraform")
    assert terraform.status is Status.FAIL and terraform.message.startswith("1.4.6 is older than 1.5")


def test_old_python_fails(env, project, tmp_path) -> None:
    python = one(doctor("local", env, project, tmp_path, python_version=(3, 10, 12)), "python")
    assert python.status is Status.FAIL
    assert python.message == "3.10.12 is older than 3.11, which the Pipfile requires"


def test_cdktf_cli_not_installed_fails(env, project, tmp_path) -> None:
    (project / "node_modules" / "cdktf-cli" / "package.json").unlink()
    cdktf = one(doctor("local", env, project, tmp_path), "cdktf")
    assert cdktf.status is Status.FAIL and "make setup" in cdktf.fix


# --- Local credentials ------------------------------------------------------------------------


def test_half_edited_credentials_file_fails(env, project, tmp_path) -> None:
    secrets = tmp_path / "secrets" / "local.env"
    secrets.parent.mkdir()
    secrets.write_text("TF_VAR_kestra_password='Abcdefgh1'\n")
    credentials = one(doctor("local", env, project, tmp_path), "credentials")
    assert credentials.status is Status.FAIL
    assert (
        "lacks TF_VAR_kestra_db_password, TF_VAR_pgadmin_password, TF_VAR_zoomcamp_db_password" in credentials.message
    )


def test_kestra_password_that_the_file_overrides_is_a_warning(env, project, tmp_path) -> None:
    secrets = tmp_path / "secrets" / "local.env"
    secrets.parent.mkdir()
    names = ("kestra_password", "kestra_db_password", "zoomcamp_db_password", "pgadmin_password")
    secrets.write_text("".join(f"TF_VAR_{name}='Abcdefgh1'\n" for name in names))
    report = doctor("local", {**env, "KESTRA_PASSWORD": "Different1"}, project, tmp_path)
    statuses = [r.status for r in results(report, "credentials")]
    assert statuses == [Status.OK, Status.WARN]
    assert "docker" in [r.check for r in report.failures]  # only Docker is missing here
    assert "credentials" not in [r.check for r in report.failures]


# --- gcp -----------------------------------------------------------------------------------------


@pytest.fixture
def gcp_env(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """google-auth reads the process environment: isolate it from this machine's gcloud."""
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    gcloud_config = tmp_path / "gcloud-config"
    gcloud_config.mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud_config))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("PATH", env["PATH"])  # no real gcloud for google-auth's project lookup
    without_project = {k: v for k, v in env.items() if k != "GCP_PROJECT_ID"}
    return {
        **without_project,
        "CLOUDSDK_CONFIG": str(gcloud_config),
        "ZOOMCAMP_GIT_URL": "https://github.com/example/zoomcamp-kestra.git",
    }


def adc_file(tmp_path: Path) -> Path:
    """An authorized_user ADC file as `gcloud auth application-default login` writes it."""
    path = tmp_path / "adc.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "test-client.apps.googleusercontent.com",
                "client_secret": "test-secret",
                "refresh_token": "test-refresh-token",
            }
        )
    )
    return path


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **values: str) -> dict[str, str]:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**env, **values}


def test_missing_credentials_file_fails_with_the_login_command(gcp_env, project, tmp_path, monkeypatch) -> None:
    missing = tmp_path / "nowhere" / "adc.json"
    env = use_env(monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(missing))
    report = doctor("gcp", env, project, tmp_path)
    adc = one(report, "gcp.adc")
    assert adc.status is Status.FAIL
    assert adc.message.startswith(
        f"GOOGLE_APPLICATION_CREDENTIALS={missing} cannot be used: File {missing} was not found"
    )
    assert adc.fix == (
        "correct that path, or unset GOOGLE_APPLICATION_CREDENTIALS and run `gcloud auth application-default login`"
    )
    project_check = one(report, "gcp.project")
    assert project_check.status is Status.FAIL
    assert project_check.message == "GCP_PROJECT_ID is not set and ADC has no default project"
    assert one(report, "gcp.apis").status is Status.SKIP
    assert one(report, "settings").status is Status.OK, "the bad path is reported once, by the ADC check"
    assert report.exit_code == 1


def test_no_adc_at_all_says_to_run_the_application_default_login(gcp_env, project, tmp_path) -> None:
    # No GOOGLE_APPLICATION_CREDENTIALS, an empty gcloud config folder, no metadata server check.
    adc = one(doctor("gcp", gcp_env, project, tmp_path), "gcp.adc")
    assert adc.status is Status.FAIL
    assert adc.message == "no Application Default Credentials found (`gcloud auth login` alone is not enough)"
    assert adc.fix == "run `gcloud auth application-default login` (it opens a browser), then rerun the doctor"


def test_user_credentials_and_project_pass_and_list_the_apis_to_enable(gcp_env, project, tmp_path, monkeypatch) -> None:
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    report = doctor("gcp", env, project, tmp_path)
    assert one(report, "gcp.adc").message == "found: your user account (from `gcloud auth application-default login`)"
    assert one(report, "gcp.project").message == "my-course-123 (from GCP_PROJECT_ID)"
    apis = one(report, "gcp.apis")
    assert apis.status is Status.WARN, "without gcloud the APIs cannot be verified, only listed"
    assert apis.fix == f"enable them once: `gcloud services enable {' '.join(REQUIRED_APIS)} --project=my-course-123`"
    assert "docker" not in [r.check for r in report.results], "the gcp stack needs no local Docker"
    assert report.exit_code == 0


def test_apis_missing_in_gcloud_fail_with_the_exact_enable_line(gcp_env, project, tmp_path, monkeypatch) -> None:
    write_python_tool(
        Path(gcp_env["PATH"]),
        "gcloud",
        """
        import sys
        assert sys.argv[1:4] == ["services", "list", "--enabled"], sys.argv
        assert "--project=my-course-123" in sys.argv, sys.argv
        print("compute.googleapis.com\\nstorage.googleapis.com\\niam.googleapis.com\\nlogging.googleapis.com")
        """,
    )
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    apis = one(doctor("gcp", env, project, tmp_path), "gcp.apis")
    assert apis.status is Status.FAIL
    missing = [
        api
        for api in REQUIRED_APIS
        if api not in ("compute.googleapis.com", "storage.googleapis.com", "iam.googleapis.com")
    ]
    assert apis.message == f"not enabled in my-course-123: {', '.join(missing)}"
    assert apis.fix == f"`gcloud services enable {' '.join(missing)} --project=my-course-123`"


def test_all_apis_enabled_pass(gcp_env, project, tmp_path, monkeypatch) -> None:
    write_tool(Path(gcp_env["PATH"]), "gcloud", "\n".join(REQUIRED_APIS))
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    apis = one(doctor("gcp", env, project, tmp_path), "gcp.apis")
    assert (
        apis.status is Status.OK
        and apis.message == f"all {len(REQUIRED_APIS)} required APIs are enabled in my-course-123"
    )


def test_project_number_instead_of_id_fails(gcp_env, project, tmp_path, monkeypatch) -> None:
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="123456789012"
    )
    report = doctor("gcp", env, project, tmp_path)
    check = one(report, "gcp.project")
    assert check.status is Status.FAIL
    assert check.message.startswith("GCP_PROJECT_ID='123456789012' must be a Google Cloud project id")
    assert check.fix == "set GCP_PROJECT_ID to the ID column of `gcloud projects list`"
    assert one(report, "settings").status is Status.OK, "reported once, by the project check"


def test_project_from_adc_is_used_and_a_different_choice_is_flagged(gcp_env, project, tmp_path, monkeypatch) -> None:
    base = use_env(
        monkeypatch,
        gcp_env,
        GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)),
        GOOGLE_CLOUD_PROJECT="adc-default-1",
    )
    from_adc = results(doctor("gcp", base, project, tmp_path), "gcp.project")
    assert [r.message for r in from_adc] == ["adc-default-1 (from Application Default Credentials / gcloud config)"]
    chosen = use_env(monkeypatch, base, GCP_PROJECT_ID="other-project-2")
    checks = results(doctor("gcp", chosen, project, tmp_path), "gcp.project")
    assert [r.status for r in checks] == [Status.OK, Status.WARN]
    assert (
        checks[1].message
        == "gcloud's default project is adc-default-1, but the stack deploys to other-project-2 (GCP_PROJECT_ID)"
    )


# --- Output: text, JSON, exit codes, no tracebacks ---------------------------------------------


def test_json_report_shape(env, project, tmp_path, monkeypatch) -> None:
    report = doctor("local", env, project, tmp_path)
    document = json.loads(report.to_json())
    assert set(document) == {"stack", "ok", "failed", "checks"}
    assert document["stack"] == "local" and document["ok"] is False and document["failed"] == 1
    for check in document["checks"]:
        assert set(check) == {"check", "title", "status", "message", "fix"}
        assert check["status"] in {"ok", "fail", "warn", "skip"}
        assert (check["fix"] is None) == (check["status"] == "ok")
    assert [c["check"] for c in document["checks"] if c["status"] == "fail"] == ["docker"]


def test_text_report_marks_each_check_and_gives_the_fix_below(env, project, tmp_path) -> None:
    text = doctor("local", env, project, tmp_path).render_text()
    lines = text.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("  ✗ Docker engine: not reachable"))
    assert lines[failed + 1].startswith("      → start Docker")
    assert "  ✓ Python: 3.11.7 (>= 3.11)" in lines
    assert (
        lines[-1]
        == "1 problem would make the deploy fail: fix the lines marked ✗, then rerun `make doctor STACK=local`."
    )
    ascii_text = doctor("local", env, project, tmp_path).render_text(unicode=False)
    assert "  XX Docker engine" in ascii_text and "✓" not in ascii_text


def test_a_check_that_crashes_is_one_failed_line(env, project, tmp_path, monkeypatch) -> None:
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(tools_module, "check_node", broken)
    monkeypatch.delenv("DEBUG", raising=False)
    node = one(doctor("local", env, project, tmp_path), "node")
    assert node.status is Status.FAIL
    assert node.message == "the check itself failed: RuntimeError: boom"
    monkeypatch.setenv("DEBUG", "1")
    with pytest.raises(RuntimeError):
        doctor("local", env, project, tmp_path)


def test_cli_json_and_exit_code(env, monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "DOCKER_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name != "PATH":
            monkeypatch.setenv(name, value)
    out = io.StringIO()
    code = doctor_main(["--stack", "local", "--json"], stdout=out)
    document = json.loads(out.getvalue())
    assert code == 1 and document["ok"] is False
    assert any(c["check"] == "docker" and c["status"] == "fail" for c in document["checks"])


def test_cli_as_the_makefile_runs_it(env) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "DOCKER_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "ops.doctor", "--stack", "local"],
        cwd=PROJECT_ROOT,
        env={**clean, **{k: v for k, v in env.items() if k != "PATH"}, "KESTRA_IMAGE": "kestra/kestra:latest"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1
    assert completed.stderr == ""
    assert "  ✗ Kestra image: KESTRA_IMAGE='kestra/kestra:latest' must be a pinned Kestra release" in completed.stdout
    assert "  ✗ Docker engine: not reachable (no Docker socket at" in completed.stdout


def test_cli_rejects_an_unknown_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(lambda: doctor_main(["--stack", "aws"], stdout=io.StringIO())) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: argument --stack: invalid choice: 'aws' (choose from 'local', 'gcp') (usage: ")


# --- gcp: derived names, flows repository; GCP flows in the local Kestra ---------------------


def test_bucket_and_dataset_derived_from_the_project(gcp_env, project, tmp_path, monkeypatch) -> None:
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    report = doctor("gcp", env, project, tmp_path)
    target = one(report, "gcp.target")
    assert target.status is Status.OK
    assert target.message.startswith("bucket my-course-123-zoomcamp-data, dataset ")
    git = one(report, "gcp.git")
    assert git.message.startswith(
        "the VM syncs flows from https://github.com/example/zoomcamp-kestra.git (branch main)"
    )


def test_no_flows_repository_fails_for_gcp(gcp_env, project, tmp_path, monkeypatch) -> None:
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    del env["ZOOMCAMP_GIT_URL"]  # and the fake project root is no git checkout with an origin
    git = one(doctor("gcp", env, project, tmp_path), "gcp.git")
    assert git.status is Status.FAIL
    assert git.message == "ZOOMCAMP_GIT_URL is not set and this checkout has no https-usable `origin` remote"
    assert git.fix == "set ZOOMCAMP_GIT_URL=https://github.com/<you>/<fork>.git"


def test_local_kestra_gets_no_google_credentials_by_default(env, project, tmp_path) -> None:
    for extra in ({}, {"GOOGLE_APPLICATION_CREDENTIALS": str(adc_file(tmp_path))}):
        report = doctor("local", {**env, **extra}, project, tmp_path)
        gcp = one(report, "gcp.local")
        assert gcp.status is Status.OK
        assert gcp.message == (
            "KV values for project zoomcamp-test-project; no Google credentials in the local Kestra "
            "(the GCP flows run on the gcp stack's VM, as its service account)"
        )


def test_with_the_token_broker_the_doctor_names_the_account_and_the_broker(env, project, tmp_path) -> None:
    report = doctor("local", {**env, "ZOOMCAMP_GCP_TOKEN_BROKER": "true"}, project, tmp_path)
    gcp = one(report, "gcp.local")
    assert gcp.status is Status.OK
    assert gcp.message == (
        "KV values for project zoomcamp-test-project; tokens of at most 1 h for "
        "zoomcamp-local@zoomcamp-test-project.iam.gserviceaccount.com from the token broker on this machine "
        "(keep `make gcp-token-broker` running while the GCP flows run)"
    )


def test_asking_to_mount_the_learners_login_fails_in_the_settings(env, project, tmp_path) -> None:
    credentials = adc_file(tmp_path)
    mount = {"GOOGLE_APPLICATION_CREDENTIALS": str(credentials), "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "true"}
    settings = [r for r in results(doctor("local", {**env, **mount}, project, tmp_path), "settings")]
    assert [r.status for r in settings] == [Status.FAIL]
    assert settings[0].message.startswith(
        f"ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=true would mount {credentials}, your own Google login"
    )


def test_local_kestra_without_any_project_is_only_a_warning(gcp_env, project, tmp_path) -> None:
    gcp = one(doctor("local", gcp_env, project, tmp_path), "gcp.local")
    assert gcp.status is Status.WARN
    assert gcp.message == "no Google Cloud project, so no GCP KV values (only the GCP flows need them)"


def test_gcloud_that_cannot_list_apis_is_a_warning_with_its_message(gcp_env, project, tmp_path, monkeypatch) -> None:
    write_python_tool(
        Path(gcp_env["PATH"]),
        "gcloud",
        """
        import sys
        print("WARNING: something\\nERROR: (gcloud.services.list) PERMISSION_DENIED: not allowed", file=sys.stderr)
        sys.exit(1)
        """,
    )
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    apis = one(doctor("gcp", env, project, tmp_path), "gcp.apis")
    assert apis.status is Status.WARN
    assert apis.message == (
        "gcloud could not list the enabled APIs of my-course-123: "
        "ERROR: (gcloud.services.list) PERMISSION_DENIED: not allowed"
    )
    assert apis.fix.startswith("enable them once: `gcloud services enable ")


def test_gcloud_that_hangs_is_a_warning_not_a_hang(gcp_env, project, tmp_path, monkeypatch) -> None:
    write_python_tool(Path(gcp_env["PATH"]), "gcloud", "import time\ntime.sleep(30)\n")
    env = use_env(
        monkeypatch, gcp_env, GOOGLE_APPLICATION_CREDENTIALS=str(adc_file(tmp_path)), GCP_PROJECT_ID="my-course-123"
    )
    apis = one(doctor("gcp", env, project, tmp_path, command_timeout=1), "gcp.apis")
    assert apis.status is Status.WARN
    assert apis.message.startswith("could not ask gcloud which APIs are enabled (`gcloud services list")
    assert "timed out after 1 seconds" in apis.message
