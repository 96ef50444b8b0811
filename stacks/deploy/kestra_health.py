"""Wait until Kestra answers on the port the learner will use, showing the time it takes.

The container's own healthcheck asks the management port (8081) inside the container;
that proves Kestra runs, not that the learner's browser can reach it. So we ask the
published URL for `/api/v1/configs` with the basic-auth credentials, the first thing the
UI itself loads: 200 means the URL, the port mapping and the password all work.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

from stacks.errors import BundleError

HEALTH_PATH = "/api/v1/configs"


@dataclass(frozen=True)
class Answer:
    healthy: bool
    detail: str  # Kestra's version when healthy, else why not (refused, 503, ...)
    unauthorized: bool = False


def kestra_get(url: str, path: str, username: str, password: str, timeout: float) -> tuple[int, bytes]:
    """One GET of Kestra's API with basic auth: (status, body). Network trouble raises OSError or
    http.client.HTTPException for the caller to word; a URL that is not http://HOST:PORT is a BundleError."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise BundleError(f"Kestra URL {url!r} is not http://HOST:PORT; check KESTRA_PORT and ZOOMCAMP_BIND_ADDRESS")
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def ask_kestra(url: str, username: str, password: str, timeout: float = 5.0) -> Answer:
    """One GET of the health path; never raises for network trouble (that is "not yet")."""
    try:
        status, body = kestra_get(url, HEALTH_PATH, username, password, timeout)
    except ConnectionRefusedError:
        return Answer(False, "connection refused")
    except TimeoutError:
        return Answer(False, "no answer yet")
    except (OSError, http.client.HTTPException) as error:
        return Answer(False, type(error).__name__)
    if status == 401:
        return Answer(False, "401 Unauthorized", unauthorized=True)
    if status != 200:
        return Answer(False, f"HTTP {status}")
    try:
        version = json.loads(body).get("version")
    except (ValueError, AttributeError):
        version = None
    return Answer(True, f"Kestra {version}" if version else "Kestra")


@dataclass(frozen=True)
class HealthWait:
    url: str
    username: str
    password: str
    container: str  # for the `docker logs` hint
    timeout: float = 300.0
    interval: float = 2.0
    report_every: float = 10.0


def wait_for_kestra(
    wait: HealthWait,
    out: TextIO,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, float]:
    """(what answered, seconds waited); a one-line BundleError when Kestra never does."""
    start = clock()
    last_report = -wait.report_every
    while True:
        answer = ask_kestra(wait.url, wait.username, wait.password)
        elapsed = clock() - start
        if answer.healthy:
            return answer.detail, elapsed
        if answer.unauthorized:
            raise BundleError(
                f"Kestra at {wait.url} rejects the username/password in .secrets/local.env; if you changed them "
                "after the first deploy, put the old ones back (README: Troubleshooting)"
            )
        if elapsed >= wait.timeout:
            raise BundleError(
                f"Kestra did not become healthy at {wait.url} within {wait.timeout:.0f}s (last: {answer.detail}); "
                f"read `docker logs {wait.container}`, then rerun make deploy-local"
            )
        if elapsed - last_report >= wait.report_every:
            print(f"    still waiting ... {elapsed:.0f}s ({answer.detail})", file=out, flush=True)
            last_report = elapsed
        sleep(wait.interval)
