"""The deploy wrappers as a learner sees them: steps in order, the summary, one-line failures.

cdktf and terraform are fake executables that record how they were called; Kestra is a
fake HTTP server on a loopback port checking the basic-auth password; the synthesis is the
real `main.py` in one test (so the summary is proven against the real local stack) and a
fake app elsewhere (fast).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.errors import run_cli
from ops.deploy.cdktf_steps import Commands
from ops.deploy.kestra_health import HealthWait, LoginRefused, kestra_get, wait_for_kestra
from ops.deploy.runner import DeployOptions, deploy_gcp, deploy_local
from ops.deploy.summary import resource_preview
from stacks.local.credentials import VARIABLES, read_credentials
from stacks.settings import PROJECT_ROOT
from stacks.versions import KESTRA_VERSION
from tests.support.fakes import (
    FakeKestraState,
    fake_kestra,
    fake_kestra_api,
    free_port,
    kestra_login_needed,
    write_python_tool,
)

FAKE_CDKTF = """
import json, os, sys
with open(os.environ["FAKE_CDKTF_RECORD"], "w") as record:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}, record)
print("fake cdktf: Apply complete! Resources: 12 added, 0 changed, 0 destroyed.", flush=True)
sys.exit(int(os.environ.get("FAKE_CDKTF_EXIT", "0")))
"""

# Stands in for main.py: writes the stack JSON a test gives, or fails like run_cli does.
FAKE_APP = """
import json, os, sys
stack = os.environ["ZOOMCAMP_STACKS"]
if os.environ.get("FAKE_APP_ERROR"):
    print("error: " + os.environ["FAKE_APP_ERROR"], file=sys.stderr)
    sys.exit(1)
target = os.path.join(os.environ["CDKTF_OUTDIR"], "stacks", stack)
os.makedirs(target, exist_ok=True)
with open(os.path.join(target, "cdk.tf.json"), "w") as handle:
    handle.write(os.environ["FAKE_APP_JSON"])
annotations = json.loads(os.environ.get("FAKE_APP_ANNOTATIONS", "[]"))
with open(os.path.join(os.environ["CDKTF_OUTDIR"], "manifest.json"), "w") as handle:
    json.dump({"stacks": {stack: {"annotations": annotations}}}, handle)
"""

LOCAL_JSON: dict[str, Any] = {
    "resource": {
        "docker_container": {"kestra": {"name": "zoomcamp-kestra"}},
        "kestra_flow": {"f": {"namespace": "zoomcamp", "flow_id": "03_getting_started_data_pipeline"}},
    },
    "output": {
        "kestra_url": {"value": "http://localhost:1"},
        "kestra_username": {"value": "admin@example.com"},
        "credentials_file": {"value": ".secrets/local.env"},
    },
}


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """This machine's environment without any of our settings, plus a fixed project id."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "GCP_", "DEBUG", "TF_VAR_", "FAKE_"))
    }
    return {**kept, "GCP_PROJECT_ID": "zoomcamp-test-project", "FAKE_CDKTF_RECORD": str(tmp_path / "cdktf.json")}


@pytest.fixture
def tools(tmp_path: Path) -> dict[str, Path]:
    bin_dir = tmp_path / "bin"
    return {
        "cdktf": write_python_tool(bin_dir, "cdktf", FAKE_CDKTF),
        "app": write_python_tool(bin_dir, "app", FAKE_APP),
    }


def options(tmp_path: Path, tools: dict[str, Path], real_synth: bool = False, **extra: Any) -> DeployOptions:
    commands = Commands(
        project_root=PROJECT_ROOT,
        python=(sys.executable,) if real_synth else (sys.executable, str(tools["app"])),
        cdktf=(sys.executable, str(tools["cdktf"])),
        terraform=str(extra.pop("terraform", "terraform")),
        outdir=str(tmp_path / "cdktf.out"),
    )
    return DeployOptions(
        commands=commands, credentials_file=tmp_path / "secrets" / "local.env", health_interval=0.05, **extra
    )


def recorded(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(Path(env["FAKE_CDKTF_RECORD"]).read_text())


@pytest.fixture
def kestra_that_checks_the_password(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """503 twice (still starting), then 200 with a version for the right password, 401 otherwise."""
    calls: list[str | None] = []

    def answers(password: str | None) -> tuple[int, dict[str, Any]]:
        calls.append(password)
        if len(calls) <= 2:
            return 503, {"message": "starting"}
        expected = read_credentials(tmp_path / "secrets" / "local.env")["kestra_password"]
        return (200, {"version": "1.3.14"}) if password == expected else (401, {})

    with fake_kestra(answers) as server:
        yield server


def test_local_deploy_shows_each_step_then_a_summary_of_the_real_stack(
    clean_env, tools, tmp_path, capfd, kestra_that_checks_the_password
) -> None:
    kestra_port, asked = kestra_that_checks_the_password
    pg_port = free_port()
    env = {**clean_env, "KESTRA_PORT": str(kestra_port), "ZOOMCAMP_PG_PORT": str(pg_port)}

    deploy_local(env, sys.stdout, options(tmp_path, tools, real_synth=True))

    out = capfd.readouterr().out
    order = [
        "==> [1/4] Credentials",
        "Generated new passwords in",
        "==> [2/4] Synthesizing the local stack",
        "containers (3): zoomcamp-kestra, zoomcamp-kestra-postgres, zoomcamp-postgres",
        "flows (",
        "==> [3/4] Deploying with `cdktf deploy local`",
        "fake cdktf: Apply complete!",
        f"==> [4/4] Waiting for Kestra to answer at http://localhost:{kestra_port}",
        "Kestra 1.3.14 answered after",
        "Kestra is ready (Kestra 1.3.14).",
    ]
    positions = [out.index(text) for text in order]
    assert positions == sorted(positions), out

    call = recorded(env)
    password = read_credentials(tmp_path / "secrets" / "local.env")["kestra_password"]
    assert call["argv"] == ["deploy", "local", "--skip-synth", "--auto-approve"]
    assert call["env"]["TF_VAR_kestra_password"] == password
    assert call["env"]["ZOOMCAMP_STACKS"] == "local" and call["env"]["CHECKPOINT_DISABLE"] == "1"
    # up (the open /configs) three times, then the login proven on a call that needs it
    assert asked == ["/api/v1/configs"] * 3 + ["/api/v1/main/flows/search?namespace=zoomcamp&size=1"]
    assert password not in out, "a password is never printed, only where it is kept"

    flow_id = "01_hello_world"  # the first flow, by id
    for line in [
        f"  Kestra UI        http://localhost:{kestra_port}",
        "  Username         admin@example.com",
        "  Password         TF_VAR_kestra_password in .secrets/local.env (`grep kestra_password .secrets/local.env`)",
        f"                   - {flow_id}",
        f"  Run a first flow open http://localhost:{kestra_port}/ui/main/flows/edit/zoomcamp/{flow_id} "
        "and press Execute",
        f"  Taxi PostgreSQL  host 127.0.0.1, port {pg_port}, database ny_taxi, user zoomcamp",
        "                   password: TF_VAR_zoomcamp_db_password in .secrets/local.env",
        f"                   e.g. `psql -h 127.0.0.1 -p {pg_port} -U zoomcamp -d ny_taxi`",
        "                   from Kestra flows: zoomcamp-postgres:5432",
        "  Remove it        make destroy-local keeps the PostgreSQL volumes",
        "; ZOOMCAMP_SANDBOX=true make destroy-local deletes them too",
    ]:
        assert line in out, f"{line!r} not in:\n{out}"


def fake_local_env(clean_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**clean_env, "FAKE_APP_JSON": json.dumps(LOCAL_JSON), **extra}


def test_a_failing_cdktf_deploy_is_one_line_and_kestra_is_not_awaited(clean_env, tools, tmp_path, capfd) -> None:
    env = fake_local_env(clean_env, FAKE_CDKTF_EXIT="3")
    code = run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools)))
    captured = capfd.readouterr()
    assert code == 1
    assert captured.err == (
        "error: cdktf deploy local failed (exit 3): the Terraform error is above; fix it and rerun "
        "`make deploy-local` (`make doctor STACK=local` checks the usual causes)\n"
    )
    assert "[4/4]" not in captured.out


def test_a_synth_error_is_the_apps_own_line_and_nothing_is_deployed(clean_env, tools, tmp_path, capfd) -> None:
    problem = "flows/04_postgres_taxi.yaml: missing required field 'tasks'; a flow needs a non-empty list of tasks"
    env = fake_local_env(clean_env, FAKE_APP_ERROR=problem)
    code = run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools)))
    assert code == 1
    assert capfd.readouterr().err == f"error: {problem}\n"
    assert not Path(env["FAKE_CDKTF_RECORD"]).exists(), "cdktf deploy must not run after a failed synth"


def test_synth_warnings_are_shown_and_synth_errors_stop(clean_env, tools, tmp_path, capfd) -> None:
    warning = {"constructPath": "local", "level": "@cdktf/warn", "message": "GCP KV values not set"}
    env = fake_local_env(clean_env, FAKE_APP_ANNOTATIONS=json.dumps([warning]), FAKE_CDKTF_EXIT="1")
    run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools)))
    assert "    ! GCP KV values not set\n    Terraform will create or keep:" in capfd.readouterr().out

    Path(env["FAKE_CDKTF_RECORD"]).unlink()  # the first run reached cdktf; the second must not
    error = {"constructPath": "local", "level": "@cdktf/error", "message": "a policy says no"}
    env = fake_local_env(clean_env, FAKE_APP_ANNOTATIONS=json.dumps([error]))
    assert run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools))) == 1
    assert capfd.readouterr().err == "error: a policy says no\n"
    assert not Path(env["FAKE_CDKTF_RECORD"]).exists()


def test_bad_settings_stop_before_credentials_are_written(clean_env, tools, tmp_path, capfd) -> None:
    env = fake_local_env(clean_env, KESTRA_PORT="99999")
    assert run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools))) == 1
    assert capfd.readouterr().err == "error: KESTRA_PORT='99999' must be a port number from 1 to 65535\n"
    assert not (tmp_path / "secrets" / "local.env").exists()


def test_kestra_rejecting_the_password_is_one_line(clean_env, tools, tmp_path, capfd) -> None:
    with fake_kestra(lambda password: (401, {})) as (port, _):
        local_json = json.loads(json.dumps(LOCAL_JSON))
        local_json["output"]["kestra_url"]["value"] = f"http://localhost:{port}"
        env = {**clean_env, "FAKE_APP_JSON": json.dumps(local_json)}
        code = run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools)))
    err = capfd.readouterr().err
    assert code == 1
    assert err.startswith(
        f"error: Kestra at http://localhost:{port} refuses the login admin@example.com; check KESTRA_USERNAME "
        "and TF_VAR_kestra_password in .secrets/local.env: "
    )
    assert err.count("\n") == 1


def test_the_wait_logs_in_with_kestra_password_when_it_is_set(clean_env, tools, tmp_path, capfd) -> None:
    """Terraform deploys KESTRA_PASSWORD over the file's (write_stack_tfvars): the wait must ask with it too."""
    chosen = "Chosen123pass"
    with fake_kestra(lambda password: (200, {"version": KESTRA_VERSION}) if password == chosen else (401, {})) as (
        port,
        _,
    ):
        local_json = json.loads(json.dumps(LOCAL_JSON))
        local_json["output"]["kestra_url"]["value"] = f"http://localhost:{port}"
        env = {**clean_env, "FAKE_APP_JSON": json.dumps(local_json), "KESTRA_PASSWORD": chosen}
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "local.env").write_text(
            "".join(f"TF_VAR_{name}='Other123pass'\n" for name in VARIABLES), encoding="utf-8"
        )
        code = run_cli(lambda: deploy_local(env, sys.stdout, options(tmp_path, tools)))
    assert code == 0, capfd.readouterr().err
    assert f"Kestra {KESTRA_VERSION} answered after" in capfd.readouterr().out


def test_a_wrong_password_is_caught_although_kestra_serves_configs_without_a_login() -> None:
    """Issue 19: /api/v1/configs is open (AuthenticationFilter), so asking it alone passed a wrong password."""
    import io

    state = FakeKestraState(password="Right123pass")
    with fake_kestra_api(state) as url:
        status, _ = kestra_get(url, "/api/v1/configs", state.username, "Wrong123pass", 5)
        assert status == 200  # what the old health check asked, and all it asked
        wait = HealthWait(url=url, username=state.username, password="Wrong123pass", container="c", timeout=10)
        with pytest.raises(LoginRefused) as refused:
            wait_for_kestra(wait, io.StringIO(), clock=lambda: 0.0, sleep=lambda seconds: None)
        assert str(refused.value) == (
            f"Kestra at {url} refuses the login admin@example.com; check KESTRA_USERNAME and "
            "TF_VAR_kestra_password in .secrets/local.env: Kestra saves the configured login at each start, "
            "so after fixing them run make deploy-local (docs/troubleshooting.md)"
        )
        right = HealthWait(url=url, username=state.username, password="Right123pass", container="c", timeout=10)
        assert wait_for_kestra(right, io.StringIO(), clock=lambda: 0.0, sleep=lambda seconds: None)[0] == (
            f"Kestra {KESTRA_VERSION}"
        )


def test_a_login_kestra_did_not_save_is_one_line_in_kestras_words() -> None:
    import io

    error = (
        "Invalid password for Basic Authentication. The password must have 8 chars, one upper, one lower and one number"
    )
    state = FakeKestraState(password="ALLUPPERCASE1", login_saved=False, validation_errors=[error])
    with fake_kestra_api(state) as url:
        wait = HealthWait(url=url, username=state.username, password="ALLUPPERCASE1", container="c", timeout=10)
        with pytest.raises(LoginRefused) as refused:
            wait_for_kestra(wait, io.StringIO(), clock=lambda: 0.0, sleep=lambda seconds: None)
    assert str(refused.value) == (
        f"Kestra at {url} did not save the basic-auth login ({error}); fix KESTRA_USERNAME / "
        "TF_VAR_kestra_password in .secrets/local.env to pass Kestra 1.3's basic-auth rule and run make deploy-local"
    )


@pytest.mark.parametrize(
    ("path", "saved", "needed"),
    [
        ("/api/v1/configs", True, False),
        ("//api//v1//configs", True, False),  # slashes collapsed, as Kestra's normalizePath does
        ("/api/v1/configs?x=1", True, False),
        ("/api/v1/main/flows/configs", True, True),  # open before 1.3.21 (endsWith): CVE-2026-49869
        ("/api/v1/main/flows/search?namespace=zoomcamp&size=1", True, True),
        ("/api/v1/main/basicAuth", True, True),
        ("/api/v1/main/basicAuth", False, False),  # the first-login setup, only while none is saved
        ("/api/v1/basicAuthValidationErrors", False, False),
        ("/api/v1/basicAuthValidationErrors", True, True),
        ("/ui/main/flows", True, False),  # the filter covers /api/v1/** only
    ],
)
def test_the_fake_asks_for_the_login_where_kestra_does(path: str, saved: bool, needed: bool) -> None:
    assert kestra_login_needed(path, saved) is needed


def test_waiting_shows_elapsed_time_and_gives_up_with_the_logs_command() -> None:
    import io

    ticks = iter(range(0, 1000, 5))
    out = io.StringIO()
    with fake_kestra(lambda password: (503, {})) as (port, asked):
        wait = HealthWait(
            url=f"http://127.0.0.1:{port}", username="a@b.co", password="x", container="zoomcamp-kestra", timeout=20
        )
        with pytest.raises(Exception) as failed:
            wait_for_kestra(wait, out, clock=lambda: float(next(ticks)), sleep=lambda seconds: None)
    assert out.getvalue().splitlines() == [
        "    still waiting ... 5s (HTTP 503)",
        "    still waiting ... 15s (HTTP 503)",
    ]
    assert str(failed.value) == (
        f"Kestra did not become healthy at http://127.0.0.1:{port} within 20s (last: HTTP 503); "
        "read `docker logs zoomcamp-kestra`, then rerun make deploy-local"
    )
    assert len(asked) == 4


def test_nothing_listening_counts_as_not_yet() -> None:
    import io

    port = free_port()
    ticks = iter([0.0, 0.0, 99.0])
    wait = HealthWait(url=f"http://127.0.0.1:{port}", username="a@b.co", password="x", container="c", timeout=10)
    with pytest.raises(Exception, match=r"within 10s \(last: connection refused\)"):
        wait_for_kestra(wait, io.StringIO(), clock=lambda: next(ticks), sleep=lambda seconds: None)


def test_gcp_deploy_asks_for_approval_and_prints_the_outputs(clean_env, tools, tmp_path, capfd) -> None:
    outputs = {
        "kestra_url": {"sensitive": False, "type": "string", "value": "http://localhost:8080"},
        "iap_tunnel_command": {"sensitive": False, "type": "string", "value": "gcloud compute start-iap-tunnel k 8080"},
        "secret_thing": {"sensitive": True, "type": "string", "value": "do-not-print-me"},
    }
    terraform = write_python_tool(
        tmp_path / "bin",
        "terraform",
        f"""
        import json, sys
        assert sys.argv[2:] == ["output", "-json"], sys.argv
        assert sys.argv[1] == "-chdir={tmp_path / "cdktf.out" / "stacks" / "gcp"}", sys.argv
        print(json.dumps({outputs!r}))
        """,
    )
    gcp_json = {"resource": {"google_storage_bucket": {"lake": {"name": "p-zoomcamp-data"}}}}
    env = {**clean_env, "FAKE_APP_JSON": json.dumps(gcp_json)}

    deploy_gcp(env, sys.stdout, options(tmp_path, tools, terraform=terraform))

    out = capfd.readouterr().out
    assert recorded(env)["argv"] == ["deploy", "gcp", "--skip-synth"], "gcp is approved by the learner, not auto"
    assert "    Terraform will create or keep:\n      buckets (1): p-zoomcamp-data\n" in out
    assert "  iap_tunnel_command gcloud compute start-iap-tunnel k 8080" in out
    assert "  kestra_url       http://localhost:8080" in out
    assert "do-not-print-me" not in out and "(sensitive: `terraform output` shows it)" in out
    assert "  Remove it        make destroy-gcp keeps the GCS bucket and the BigQuery dataset" in out
    assert "ZOOMCAMP_SANDBOX=true make destroy-gcp deletes them too" in out


def test_preview_names_resources_and_falls_back_to_ids_for_computed_names() -> None:
    stack = {
        "resource": {
            "docker_image": {"a": {"name": "postgres:17.6"}, "b": {"name": "postgres:17.6"}},
            "google_thing": {"made_up": {"name": "${google_x.y.name}"}},
        }
    }
    assert resource_preview(stack) == ["images (2): postgres:17.6", "google_thing (1): made_up"]


def test_cli_without_a_stack_is_one_line() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ops.deploy"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        "error: the following arguments are required: stack (usage: python -m ops.deploy [-h] {local,gcp})\n"
    )
