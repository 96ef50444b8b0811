"""A throwaway PostgreSQL server for tests and benchmarks.

PostgreSQL refuses to run as root, and CI runs as root: the server is started as an
unprivileged system user, with its data and socket in a temporary folder, on a free
localhost port, and stopped (folder removed) afterwards. The binaries are found, not
assumed: PATH, /usr/local/bin, then Debian's /usr/lib/postgresql/<major>/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MIN_MAJOR = 15
SERVICE_USER = "pgtest"


def _major(initdb: Path) -> int:
    out = subprocess.run([str(initdb), "--version"], capture_output=True, text=True, check=True).stdout
    return int("".join(ch if ch.isdigit() else " " for ch in out).split()[0])


def find_bin_dir() -> Path:
    candidates: list[str] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(on_path)
    candidates.append("/usr/local/bin/initdb")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: -int(p.split("/")[4]))
    for candidate in candidates:
        path = Path(candidate)
        if path.exists() and _major(path) >= MIN_MAJOR:
            # /usr/local/bin may hold only symlinks to initdb/postgres: use their real folder,
            # which also has pg_isready.
            return path.resolve().parent
    raise RuntimeError(
        f"no PostgreSQL >= {MIN_MAJOR} server binaries found; run tools/ensure_test_tools.sh "
        "(installs Debian's postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_service_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
    return ["runuser", "-u", SERVICE_USER, "--"]


@dataclass
class PostgresServer:
    """`with PostgresServer() as pg:` gives `pg.dsn` for psycopg."""

    durable: bool = False  # benchmarks keep fsync on; tests trade it for speed
    port: int = 0
    bin_dir: Path | None = None
    _root: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self.bin_dir = find_bin_dir()
        self._root = Path(tempfile.mkdtemp(prefix="pgtest-"))
        data, sockets = self._root / "data", self._root / "sockets"
        sockets.mkdir()
        prefix = _as_service_user()
        if prefix:
            shutil.chown(self._root, SERVICE_USER)
            shutil.chown(sockets, SERVICE_USER)
            os.chmod(self._root, 0o755)
        subprocess.run(
            [
                *prefix,
                str(self.bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
        )
        self.port = _free_port()
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}"]
        if not self.durable:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self._process = subprocess.Popen(
            [*prefix, str(self.bin_dir / "postgres"), "-D", str(data), "-p", str(self.port), *settings],
            stdout=subprocess.DEVNULL,
            stderr=open(self._root / "server.log", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.2)
        log = (self._root / "server.log").read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start:\n{log}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self._root:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
