"""Wait until Kestra answers on the port the learner will use, showing the time it takes.

The container's own healthcheck asks the management port (8081) inside the container;
that proves Kestra runs, not that the learner's browser can reach it. So we ask the
published URL for `/api/v1/configs` with the basic-auth credentials, the first thing the
UI itself loads: 200 means the URL, the port mapping and the password all work.

It is also the one client of Kestra's API for the commands that talk to the local Kestra
after a deploy (`make pull-flows`, `make smoke`): `kestra_request` is the one HTTP call with
basic auth, `KestraApi` words network trouble and a refused login in one line, and
`local_kestra_api` builds it from the settings and the local credentials.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from common.errors import BundleError
from stacks.local.credentials import CREDENTIALS_FILE, read_credentials
from stacks.settings import Settings

HEALTH_PATH = "/api/v1/configs"


class LoginRefused(BundleError):
    """Kestra answered 401: the username or password is not the one it was started with."""


@dataclass(frozen=True)
class Answer:
    healthy: bool
    detail: str  # Kestra's version when healthy, else why not (refused, 503, ...)
    unauthorized: bool = False


def kestra_request(
    method: str,
    url: str,
    path: str,
    username: str,
    password: str,
    timeout: float,
    body: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, bytes]:
    """One call of Kestra's API with basic auth: (status, body). Network trouble raises OSError or
    http.client.HTTPException for the caller to word; a URL that is not http://HOST:PORT is a BundleError."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise BundleError(f"Kestra URL {url!r} is not http://HOST:PORT; check KESTRA_PORT and ZOOMCAMP_BIND_ADDRESS")
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def kestra_get(url: str, path: str, username: str, password: str, timeout: float) -> tuple[int, bytes]:
    """One GET of Kestra's API with basic auth (see kestra_request)."""
    return kestra_request("GET", url, path, username, password, timeout)


def multipart_form(fields: Mapping[str, str]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request: how Kestra takes an execution's inputs."""
    boundary = f"zoomcamp-{secrets.token_hex(12)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class KestraApi:
    """Kestra's API at `url` with one login; every failure to reach it or log in is one BundleError line."""

    url: str
    username: str
    password: str
    timeout: float = 10.0

    def get(self, path: str) -> tuple[int, Any]:
        return self._call("GET", path)

    def flow_ids(self, namespace: str) -> list[str]:
        """The ids of the flows Kestra holds in `namespace` (not its child namespaces), sorted."""
        status, page = self.get(f"/api/v1/main/flows/search?namespace={quote(namespace)}&size=1000")
        if status != 200 or not isinstance(page, dict):
            raise BundleError(f"Kestra at {self.url} answered HTTP {status} when listing the flows of {namespace}")
        return sorted(flow["id"] for flow in page.get("results", []) if flow.get("namespace") == namespace)

    def post_form(self, path: str, fields: Mapping[str, str]) -> tuple[int, Any]:
        body, content_type = multipart_form(fields)
        return self._call("POST", path, body, content_type)

    def _call(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, Any]:
        try:
            status, answer = kestra_request(
                method, self.url, path, self.username, self.password, self.timeout, body, content_type
            )
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise BundleError(
                f"cannot reach Kestra at {self.url} ({reason}); is the local stack running? (make deploy-local)"
            ) from None
        if status == 401:
            raise LoginRefused(f"Kestra at {self.url} refused the login {self.username}; check KESTRA_PASSWORD")
        try:
            return status, (json.loads(answer) if answer else None)
        except ValueError:
            return status, answer.decode("utf-8", "replace")


def local_kestra_api(settings: Settings, credentials: Path = CREDENTIALS_FILE) -> KestraApi:
    """The local stack's Kestra with the login a learner uses: KESTRA_PASSWORD, else the generated one."""
    password = settings.kestra.password
    if not password:
        if not credentials.exists():
            raise BundleError(f"no {credentials.name} and no KESTRA_PASSWORD: the local stack was never deployed here")
        password = read_credentials(credentials)["kestra_password"]
    return KestraApi(settings.local.kestra_url, settings.kestra.username, password)


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
                "after the first deploy, put the old ones back (docs/troubleshooting.md)"
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
