"""The VM's boot script, run for real against stand-ins for the disk tools, Docker and Google's APIs.

The stand-ins (blkid, mkfs.ext4, mount, mountpoint, docker, curl, sleep, iptables) are small programs
on PATH that record each call; curl plays the metadata server, Secret Manager and Kestra's API, and
iptables keeps its chains in a JSON file (DOCKER-USER exists, as Docker makes it).
What matters most is proven here: a disk is formatted only when it holds no filesystem (never
on a probe error), secrets are generated once and reused, and passwords reach only 0600 files
and curl's stdin configs, never a command line.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.gce import cloud_init, compose, system_flows
from stacks.settings import kestra_password_problem
from stacks.versions import KESTRA_IMAGE

CURL_STUB = r"""
import base64, json, os, sys
args = sys.argv[1:]
state = os.environ["STUB_STATE"]
url = next(a for a in args if a.startswith("http"))
out = args[args.index("-o") + 1] if "-o" in args else None
config = ""
if "--config" in args:
    with open(args[args.index("--config") + 1]) as handle:
        config = handle.read()
data = sys.stdin.read() if "--data-binary" in args else ""
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps({"cmd": "curl", "args": args, "config": config, "data": data}) + "\n")
def reply(status, body):
    if out:
        with open(out, "w") as handle:
            handle.write(json.dumps(body))
    if "-w" in args:
        sys.stdout.write(str(status))
    fail = any(a.startswith("-") and not a.startswith("--") and "f" in a for a in args)
    sys.exit(22 if status >= 400 and fail else 0)
if "computeMetadata" in url:
    print(json.dumps({"access_token": "stub-token"}))
    sys.exit(0)
if "secretmanager.googleapis.com" in url:
    name = url.split("/secrets/")[1].split("/")[0].split(":")[0]
    path = os.path.join(state, "secret-" + name)
    forced = os.environ.get("STUB_SECRET_STATUS")
    if forced:
        reply(int(forced), {"error": {"status": "PERMISSION_DENIED"}})
    if url.endswith(":addVersion"):
        if os.environ.get("STUB_ADD_STATUS"):
            reply(int(os.environ["STUB_ADD_STATUS"]), {"error": {"status": "PERMISSION_DENIED"}})
        with open(path, "w") as handle:
            handle.write(base64.b64decode(json.loads(data)["payload"]["data"]).decode())
        reply(200, {"name": name})
    if os.path.exists(path):
        with open(path) as handle:
            reply(200, {"payload": {"data": base64.b64encode(handle.read().encode()).decode()}})
    reply(404, {"error": {"status": "NOT_FOUND"}})
reply(200, {"id": "execution"})
"""

IPTABLES_STUB = r"""
import json, os, sys
args = [a for a in sys.argv[1:] if a != "-w"]
state = os.environ["STUB_STATE"]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps({"cmd": "iptables", "args": " ".join(args)}) + "\n")
path = os.path.join(state, "iptables.json")
chains = json.load(open(path)) if os.path.exists(path) else {"DOCKER-USER": []}
if os.environ.get("STUB_IPTABLES_FAIL") and args[0] == "-A":
    sys.exit(4)
action, chain, rule = args[0], (args[1:] or [""])[0], " ".join(args[2:])
if action == "-n":  # -n -L CHAIN
    sys.exit(0 if args[2] in chains else 1)
if action == "-N":
    if chain in chains:
        sys.exit(1)
    chains[chain] = []
elif action == "-F":
    chains[chain] = []
elif action == "-A":
    chains[chain].append(rule)
elif action == "-I":
    chains[chain].insert(0, rule)
elif action == "-C":
    sys.exit(0 if rule in chains.get(chain, []) else 1)
json.dump(chains, open(path, "w"))
"""

RECORDER = """#!/usr/bin/env bash
printf '%s\\n' "{\\"cmd\\": \\"$(basename "$0")\\", \\"args\\": \\"$*\\"}" >>"$STUB_STATE/calls.log"
"""


def install_stubs(bin_dir: Path) -> None:
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(f"#!{sys.executable}\n{CURL_STUB}", encoding="utf-8")
    (bin_dir / "iptables").write_text(f"#!{sys.executable}\n{IPTABLES_STUB}", encoding="utf-8")
    blkid = RECORDER + 'exit "${STUB_BLKID_EXIT:-0}"\n'
    mountpoint = RECORDER + "exit 1\n"  # not mounted yet: the script mounts it
    for name, text in {
        "curl": None,
        "iptables": None,
        "blkid": blkid,
        "mkfs.ext4": RECORDER,
        "mount": RECORDER,
        "mountpoint": mountpoint,
        "docker": RECORDER,
        "sleep": RECORDER,
    }.items():
        path = bin_dir / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def vm_config() -> cloud_init.VmKestraConfig:
    return cloud_init.VmKestraConfig(
        project_id="zoomcamp-test-project",
        kestra_image=KESTRA_IMAGE,
        postgres_image="postgres:17.6",
        kestra_username="admin@example.com",
        namespace="zoomcamp",
        internal_storage_bucket="zoomcamp-test-project-zoomcamp-kestra",
        basic_auth_secret_id="zoomcamp-kestra-basic-auth-password",
        webhook_key_secret_id="zoomcamp-kestra-git-sync-webhook-key",
        encryption_key_secret_id="zoomcamp-kestra-kestra-encryption-key",
        git=system_flows.GitSource(
            "https://github.com/example/zoomcamp-kestra.git", "main", "flows", None, "*/15 * * * *", True
        ),
        kv_values={},
    )


class BootRun:
    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.device = tmp_path / "google-kestra-data"
        self.device.write_text("", encoding="utf-8")
        self.mount = tmp_path / "mnt"
        self.run_dir = tmp_path / "run"
        self.fstab = tmp_path / "fstab"
        self.fstab.write_text("", encoding="utf-8")
        self.bin = tmp_path / "bin"
        install_stubs(self.bin)
        self.boot_env = tmp_path / "boot.env"
        overrides = {
            "DATA_DEVICE": self.device,
            "DATA_MOUNT": self.mount,
            "RUN_DIR": self.run_dir,
            "COMPOSE_FILE": tmp_path / "compose.yaml",
        }
        self.boot_env.write_text(
            cloud_init.boot_env(vm_config()) + "".join(f"{k}={v}\n" for k, v in overrides.items()), encoding="utf-8"
        )

    def __call__(self, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(cloud_init.BOOT_SCRIPT)],
            env={
                "PATH": f"{self.bin}:{os.environ['PATH']}",
                "STUB_STATE": str(self.state),
                "KESTRA_BOOT_ENV": str(self.boot_env),
                "KESTRA_BOOT_FSTAB": str(self.fstab),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def calls(self) -> list[dict[str, Any]]:
        log = self.state / "calls.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def commands(self) -> list[str]:
        return [call["cmd"] for call in self.calls()]

    def secret(self, name: str) -> str:
        return (self.state / f"secret-{name}").read_text(encoding="utf-8")

    def env_file(self, name: str) -> dict[str, str]:
        path = self.run_dir / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{name} must be readable by root only"
        return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


@pytest.fixture
def boot(tmp_path: Path) -> BootRun:
    return BootRun(tmp_path)


def test_first_boot_formats_the_empty_disk_and_generates_the_secrets(boot: BootRun) -> None:
    result = boot(STUB_BLKID_EXIT="2")
    assert result.returncode == 0, result.stderr
    assert boot.commands().count("mkfs.ext4") == 1
    assert f"{boot.device} {boot.mount} ext4 discard,defaults,nofail 0 2" in boot.fstab.read_text(encoding="utf-8")
    password = boot.secret("zoomcamp-kestra-basic-auth-password")
    webhook_key = boot.secret("zoomcamp-kestra-git-sync-webhook-key")
    assert kestra_password_problem(password) is None and len(password) == 24
    kestra_env = boot.env_file("kestra.env")
    assert kestra_env["ZOOMCAMP_BASIC_AUTH_PASSWORD"] == password
    assert base64.b64decode(kestra_env["SECRET_GIT_SYNC_WEBHOOK_KEY"]).decode() == webhook_key
    db_password = (boot.mount / "secrets" / "metadata-db-password").read_text(encoding="utf-8").strip()
    assert kestra_env["ZOOMCAMP_METADATA_DB_PASSWORD"] == db_password
    assert boot.env_file("postgres.env") == {"POSTGRES_PASSWORD": db_password}
    # Kestra's encryption key, generated into Secret Manager like the passwords, in the shape Kestra needs
    encryption_key = boot.secret("zoomcamp-kestra-kestra-encryption-key")
    assert kestra_env["ZOOMCAMP_ENCRYPTION_KEY"] == encryption_key
    assert len(base64.b64decode(encryption_key, validate=True)) == 32
    # the only Kestra secret (SECRET_<NAME>, readable by every flow) is the webhook key: never the password
    assert [name for name in kestra_env if name.startswith("SECRET_")] == [system_flows.WEBHOOK_SECRET_ENV]
    assert password not in {base64.b64decode(v).decode() for k, v in kestra_env.items() if k.startswith("SECRET_")}
    # every ${NAME} the rendered Kestra configuration reads is in the env file the VM writes
    wanted = set(re.findall(r"\$\{(\w+)\}", cloud_init.kestra_server_config(vm_config())))
    assert wanted and wanted <= set(kestra_env), wanted - set(kestra_env)
    docker = [c["args"] for c in boot.calls() if c["cmd"] == "docker"]
    assert docker == [f"compose --file {boot.run_dir.parent}/compose.yaml up --detach --wait --wait-timeout 900"]


def test_system_flows_start_with_basic_auth_passed_on_stdin_only(boot: BootRun) -> None:
    assert boot(STUB_BLKID_EXIT="2").returncode == 0
    password = boot.secret("zoomcamp-kestra-basic-auth-password")
    started = [c for c in boot.calls() if c["cmd"] == "curl" and "/executions/" in " ".join(c["args"])]
    assert [c["args"][-1] for c in started] == [
        "http://localhost:8080/api/v1/main/executions/system/zoomcamp_gcp_kv",
        "http://localhost:8080/api/v1/main/executions/system/zoomcamp_git_sync",
    ]
    assert all(c["config"] == f'user = "admin@example.com:{password}"\n' for c in started)
    for call in boot.calls():
        command_line = " ".join(call["args"]) if isinstance(call["args"], list) else call["args"]
        assert password not in command_line


def test_later_boots_reuse_the_disk_and_the_secrets(boot: BootRun) -> None:
    assert boot(STUB_BLKID_EXIT="2").returncode == 0
    password = boot.secret("zoomcamp-kestra-basic-auth-password")
    (boot.state / "calls.log").unlink()
    result = boot(STUB_BLKID_EXIT="0")  # the disk now holds a filesystem
    assert result.returncode == 0, result.stderr
    assert "mkfs.ext4" not in boot.commands()
    assert not any(":addVersion" in " ".join(c["args"]) for c in boot.calls() if c["cmd"] == "curl")
    assert boot.env_file("kestra.env")["ZOOMCAMP_BASIC_AUTH_PASSWORD"] == password
    assert boot.env_file("kestra.env")["ZOOMCAMP_ENCRYPTION_KEY"] == boot.secret(
        "zoomcamp-kestra-kestra-encryption-key"
    )
    assert boot.fstab.read_text(encoding="utf-8").count(str(boot.mount)) == 1


def test_a_disk_probe_error_never_formats(boot: BootRun) -> None:
    result = boot(STUB_BLKID_EXIT="4")
    assert result.returncode != 0
    assert "mkfs.ext4" not in boot.commands()
    assert "cannot probe" in result.stderr and "not touching it" in result.stderr


def test_secret_manager_refusal_stops_with_the_fix(boot: BootRun) -> None:
    result = boot(STUB_BLKID_EXIT="0", STUB_SECRET_STATUS="403")
    assert result.returncode != 0
    assert "gcloud services enable secretmanager.googleapis.com" in result.stderr
    assert "docker" not in boot.commands()
    assert not (boot.run_dir / "kestra.env").exists()


def test_every_secret_the_system_flows_read_is_written_by_the_boot_script(boot: BootRun) -> None:
    """secret('NAME') in a system flow is SECRET_NAME in kestra.env, and nowhere in the rendered files."""
    assert boot(STUB_BLKID_EXIT="2").returncode == 0
    kestra_env = boot.env_file("kestra.env")
    flows = cloud_init.system_flow_files(vm_config())
    texts = [json.dumps(yaml.safe_load(flow.content)) for flow in flows]
    named = {name for text in texts for name in re.findall(r"secret\('(\w+)'\)", text)}
    assert named == {system_flows.WEBHOOK_SECRET_NAME}
    assert {f"SECRET_{name}" for name in named} <= set(kestra_env)
    password = boot.secret("zoomcamp-kestra-basic-auth-password")
    assert password not in cloud_init.render_user_data(vm_config())


def iptables_chains(boot: BootRun) -> dict[str, list[str]]:
    return json.loads((boot.state / "iptables.json").read_text(encoding="utf-8"))


def test_task_containers_cannot_reach_the_metadata_server_but_kestra_can(boot: BootRun) -> None:
    """Only Kestra's fixed address (compose.py) passes; DNS to the metadata resolver passes; the rest
    of the containers' traffic to 169.254.169.254 drops, and the rules are in before Kestra starts."""
    assert boot(STUB_BLKID_EXIT="2").returncode == 0
    chains = iptables_chains(boot)
    assert chains["DOCKER-USER"] == ["-d 169.254.169.254 -j ZOOMCAMP-METADATA"]
    assert chains["ZOOMCAMP-METADATA"] == [
        f"-s {compose.KESTRA_IP} -j RETURN",
        "-p udp --dport 53 -j RETURN",
        "-p tcp --dport 53 -j RETURN",
        "-j DROP",
    ]
    commands = boot.commands()
    assert max(i for i, c in enumerate(commands) if c == "iptables") < commands.index("docker")
    compose_file = yaml.safe_load(compose.render_compose("k", "p", compose_paths()))
    kestra = compose_file["services"]["kestra"]
    assert kestra["networks"] == {compose.NETWORK: {"ipv4_address": compose.KESTRA_IP}}
    assert "network_mode" not in kestra  # on the compose network, so its traffic is forwarded (DOCKER-USER)
    assert compose_file["networks"][compose.NETWORK]["ipam"]["config"] == [{"subnet": compose.NETWORK_SUBNET}]
    assert ipaddress.ip_address(compose.KESTRA_IP) in ipaddress.ip_network(compose.NETWORK_SUBNET)


def test_later_boots_rebuild_the_metadata_rules_without_duplicates(boot: BootRun) -> None:
    assert boot(STUB_BLKID_EXIT="2").returncode == 0
    first = iptables_chains(boot)
    assert boot(STUB_BLKID_EXIT="0").returncode == 0
    assert iptables_chains(boot) == first


def test_a_failed_metadata_rule_stops_before_kestra_starts(boot: BootRun) -> None:
    result = boot(STUB_BLKID_EXIT="2", STUB_IPTABLES_FAIL="1")
    assert result.returncode != 0
    assert "task containers could reach the metadata server; not starting Kestra" in result.stderr
    assert "docker" not in boot.commands()


def test_a_first_boot_after_the_add_window_says_how_to_add_the_secret(boot: BootRun) -> None:
    """The IAM condition (stacks/gcp/secrets.py) refuses addVersion after the window: the boot stops
    with the command that fills the secret, and starts nothing."""
    result = boot(STUB_BLKID_EXIT="2", STUB_ADD_STATUS="403")
    assert result.returncode != 0
    assert "the VM may do so only in the 1h after the secret was created" in result.stderr
    assert "gcloud secrets versions add zoomcamp-kestra-basic-auth-password --project=zoomcamp-test-project" in (
        result.stderr
    )
    assert "docker" not in boot.commands()


def compose_paths() -> compose.ComposePaths:
    return compose.ComposePaths("/c", "/f", "/d", "/k.env", "/p.env")
