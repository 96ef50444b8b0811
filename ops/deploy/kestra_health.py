"""Wait until Kestra answers on the port the learner will use, and prove the login works.

The container's own healthcheck asks the management port (8081) inside the container;
that proves Kestra runs, not that the learner's browser can reach it, nor that the login
works. So the wait asks the published URL twice (docs/kestra-sources.md names the sources):

1. `/api/v1/configs`, the first thing the UI loads: any answer means the URL and the port
   mapping work. Kestra's AuthenticationFilter lets this one path through without a login,
   so it cannot see a wrong password; its `isBasicAuthInitialized` says whether Kestra saved
   the configured login at all (it does not when the pair breaks its rule);
2. one flow of the namespace (`/api/v1/main/flows/search`), which needs the login: 200 means
   the username and password work, 401 that they do not.

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

HEALTH_PATH = "/api/v1/configs"  # open without a login (AuthenticationFilter)
# Where the password comes from, for the one-line fix of a 401: KESTRA_PASSWORD wins over the file.
PASSWORD_FROM_ENV = "KESTRA_PASSWORD"
PASSWORD_FROM_FILE = "TF_VAR_kestra_password in .secrets/local.env"


def flows_search_path(namespace: str, size: int) -> str:
    """Kestra's flow search in `namespace`, at most `size` flows: it needs the login."""
    return f"/api/v1/main/flows/search?namespace={quote(namespace)}&size={size}"


def login_path(namespace: str) -> str:
    """An API call only a logged-in user may make, and cheap: one flow of the namespace."""
    return flows_search_path(namespace, 1)


def refused_login(url: str, username: str, password_from: str) -> tuple[str, str]:
    """(problem, fix) of a 401: the settings that hold the login, and how to make Kestra take them."""
    return (
        f"Kestra at {url} refuses the login {username}",
        f"check KESTRA_USERNAME and {password_from}: Kestra saves the configured login at each start, "
        "so after fixing them run make deploy-local (docs/troubleshooting.md)",
    )


def login_not_saved(url: str, errors: list[str], password_from: str) -> tuple[str, str]:
    """(problem, fix) when Kestra did not save the login at all, in its own words if it gave them."""
    why = f" ({' '.join(errors)})" if errors else ""
    return (
        f"Kestra at {url} did not save the basic-auth login{why}",
        f"fix KESTRA_USERNAME / {password_from} to pass Kestra 1.3's basic-auth rule and run make deploy-local",
    )


def login_problem(answer: Answer, url: str, username: str, password_from: str) -> tuple[str, str]:
    """(problem, fix) of a refused login: Kestra never saved one (its words), or it holds another."""
    if answer.login_saved is False:
        return login_not_saved(url, validation_errors(url), password_from)
    return refused_login(url, username, password_from)


def one_line(problem_and_fix: tuple[str, str]) -> str:
    return "; ".join(problem_and_fix)


class LoginRefused(BundleError):
    """Kestra answered 401: the username or password is not the one it saved at its last start."""


@dataclass(frozen=True)
class Answer:
    healthy: bool
    detail: str  # Kestra's version when healthy, else why not (refused, 503, ...)
    unauthorized: bool = False
    login_saved: bool | None = None  # /api/v1/configs' isBasicAuthInitialized, when it said


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
    password_from: str = PASSWORD_FROM_ENV  # the setting a refused login points to

    def get(self, path: str) -> tuple[int, Any]:
        return self._call("GET", path)

    def check_login(self, namespace: str) -> str:
        """Kestra is up and takes this login (ask_kestra), else one BundleError line; what answered."""
        answer = ask_kestra(self.url, self.username, self.password, namespace, self.timeout)
        if answer.unauthorized:
            raise LoginRefused(one_line(login_problem(answer, self.url, self.username, self.password_from)))
        if not answer.healthy:
            raise BundleError(
                f"cannot reach Kestra at {self.url} ({answer.detail}); is the local stack running? (make deploy-local)"
            )
        return answer.detail

    def flow_ids(self, namespace: str) -> list[str]:
        """The ids of the flows Kestra holds in `namespace` (not its child namespaces), sorted."""
        status, page = self.get(flows_search_path(namespace, 1000))
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
            raise LoginRefused(one_line(refused_login(self.url, self.username, self.password_from)))
        try:
            return status, (json.loads(answer) if answer else None)
        except ValueError:
            return status, answer.decode("utf-8", "replace")


def local_kestra_api(settings: Settings, credentials: Path = CREDENTIALS_FILE) -> KestraApi:
    """The local stack's Kestra with the login a learner uses: KESTRA_PASSWORD, else the generated one."""
    password, password_from = settings.kestra.password, PASSWORD_FROM_ENV
    if not password:
        if not credentials.exists():
            raise BundleError(f"no {credentials.name} and no KESTRA_PASSWORD: the local stack was never deployed here")
        password, password_from = read_credentials(credentials)["kestra_password"], PASSWORD_FROM_FILE
    return KestraApi(settings.local.kestra_url, settings.kestra.username, password, password_from=password_from)


def _get(url: str, path: str, username: str, password: str, timeout: float) -> tuple[int, bytes] | Answer:
    """One GET, or the Answer "not yet" for network trouble (never raises for it)."""
    try:
        return kestra_get(url, path, username, password, timeout)
    except ConnectionRefusedError:
        return Answer(False, "connection refused")
    except TimeoutError:
        return Answer(False, "no answer yet")
    except (OSError, http.client.HTTPException) as error:
        return Answer(False, type(error).__name__)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def ask_kestra(url: str, username: str, password: str, namespace: str, timeout: float = 5.0) -> Answer:
    """Is Kestra up (the open /api/v1/configs), and does the login work (one flow of `namespace`)?"""
    configs = _get(url, HEALTH_PATH, username, password, timeout)
    if isinstance(configs, Answer):
        return configs
    status, body = configs
    if status not in (200, 401):  # 401: a Kestra that closes /configs too is up all the same
        return Answer(False, f"HTTP {status}")
    config = _json_object(body) if status == 200 else {}
    version = config.get("version")
    saved = config.get("isBasicAuthInitialized")
    login_saved = saved if isinstance(saved, bool) else None
    search = _get(url, login_path(namespace), username, password, timeout)
    if isinstance(search, Answer):
        return search
    status, _ = search
    if status == 401:
        return Answer(False, "401 Unauthorized", unauthorized=True, login_saved=login_saved)
    if status != 200:
        return Answer(False, f"HTTP {status}", login_saved=login_saved)
    return Answer(True, f"Kestra {version}" if version else "Kestra", login_saved=login_saved)


def validation_errors(url: str, timeout: float = 5.0) -> list[str]:
    """Kestra's own words for a login it did not save (open while none is saved); [] when it says nothing."""
    answer = _get(url, "/api/v1/basicAuthValidationErrors", "", "", timeout)
    if isinstance(answer, Answer) or answer[0] != 200:
        return []
    try:
        errors = json.loads(answer[1])
    except ValueError:
        return []
    return [str(error) for error in errors] if isinstance(errors, list) else []


@dataclass(frozen=True)
class HealthWait:
    url: str
    username: str
    password: str
    container: str  # for the `docker logs` hint
    namespace: str = "zoomcamp"  # whose flows the login check lists
    password_from: str = PASSWORD_FROM_FILE
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
        answer = ask_kestra(wait.url, wait.username, wait.password, wait.namespace)
        elapsed = clock() - start
        if answer.healthy:
            return answer.detail, elapsed
        if answer.unauthorized:
            raise LoginRefused(one_line(login_problem(answer, wait.url, wait.username, wait.password_from)))
        if elapsed >= wait.timeout:
            raise BundleError(
                f"Kestra did not become healthy at {wait.url} within {wait.timeout:.0f}s (last: {answer.detail}); "
                f"read `docker logs {wait.container}`, then rerun make deploy-local"
            )
        if elapsed - last_report >= wait.report_every:
            print(f"    still waiting ... {elapsed:.0f}s ({answer.detail})", file=out, flush=True)
            last_report = elapsed
        sleep(wait.interval)
