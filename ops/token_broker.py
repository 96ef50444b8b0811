"""A metadata server for the local Kestra that hands out only short-lived tokens of one account.

Why: Kestra's GCP tasks (plugin-gcp's CredentialService) take a key or Application Default
Credentials, and ADC ends at the Compute Engine metadata server, which Google's client libraries
(Java's, which plugin-gcp uses, and Python's) look for wherever GCE_METADATA_HOST says. This
process runs on the learner's machine, with the learner's own ADC, which never leaves it: each
token it serves belongs to the gcp stack's local-Kestra service account, lives at most an hour,
and is minted by IAM Credentials through google-auth's impersonated credentials (Google's own
client; nothing here signs or refreshes by hand).

Hand-written because no maintained package serves this: it answers only what those clients ask
(the ping, the token, the account's email and scopes, the project id, the universe domain), never
an identity token or other metadata. Like the real server it refuses a request without
`Metadata-Flavor: Google` or with `X-Forwarded-For`, so a web page or a proxy cannot fetch a
token, and it answers only peers on loopback or on Docker's bridges.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import google.auth
from google.auth import exceptions, impersonated_credentials
from google.auth.transport.requests import Request

from common.errors import BundleError, CommandLine, run_cli
from stacks.gcp.names import gcp_names
from stacks.gcp.target import resolve_gcp_target
from stacks.settings import Settings

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
LIFETIME_SECONDS = 3600  # IAM's default maximum; a longer one needs an organization policy
RENEW_BEFORE = dt.timedelta(minutes=5)  # a client never gets a token about to expire
ACCOUNT_PREFIX = "/computeMetadata/v1/instance/service-accounts/"

PeerNetworks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
LOOPBACK: PeerNetworks = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class BrokerError(BundleError):
    """One line for the learner (and, as the answer's body, for the Kestra task that asked)."""


@dataclass
class TokenSource:
    """Tokens of `account` per scope set, minted with `source` credentials and cached until near expiry."""

    account: str
    source: Any  # google.auth.credentials.Credentials: the learner's own, on this machine only
    iam_endpoint: str | None = None  # tests: a local IAM Credentials stand-in; None: Google's
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)
    _cache: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, scopes: Sequence[str]) -> tuple[str, int]:
        """(access token, seconds it stays valid) for `scopes` (cloud-platform when none)."""
        key = tuple(sorted(scopes)) or (CLOUD_PLATFORM,)
        with self._lock:
            credentials = self._cache.get(key)
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # google-auth keeps naive UTC expiries
            if credentials is None or credentials.expiry is None or credentials.expiry - now < RENEW_BEFORE:
                credentials = impersonated_credentials.Credentials(
                    source_credentials=self.source,
                    target_principal=self.account,
                    target_scopes=list(key),
                    lifetime=LIFETIME_SECONDS,
                    iam_endpoint_override=self.iam_endpoint,
                )
                try:
                    credentials.refresh(Request())
                except exceptions.GoogleAuthError as error:
                    raise BrokerError(_refusal(self.account, error)) from None
                self._cache[key] = credentials
                self.log(f"token broker: minted a token of {self.account}, valid until {credentials.expiry:%H:%M} UTC")
            return credentials.token, int((credentials.expiry - now).total_seconds())


def _refusal(account: str, error: Exception) -> str:
    reason = " ".join(str(error).split())[:300]
    return (
        f"token broker: Google refused a token of {account} for your login ({reason}); deploy the gcp stack "
        "with GCP_LOCAL_KESTRA_MEMBERS=user:<your Google account> (docs/google-cloud.md) and check "
        "`gcloud auth application-default login`"
    )


def handler_class(tokens: TokenSource, project_id: str, peers: PeerNetworks) -> type[BaseHTTPRequestHandler]:
    """The request handler, bound to one token source, project and set of allowed peers."""
    account_paths = {f"{ACCOUNT_PREFIX}default", f"{ACCOUNT_PREFIX}{tokens.account}"}
    account_info = {"aliases": ["default"], "email": tokens.account, "scopes": [CLOUD_PLATFORM]}

    class MetadataHandler(BaseHTTPRequestHandler):
        server_version = "zoomcamp-token-broker"
        sys_version = ""

        def do_GET(self) -> None:
            refused = self._refusal()
            if refused:
                self._answer(403, refused)
                return
            path, _, query = self.path.partition("?")
            path = path.rstrip("/") or "/"
            account, _, leaf = path.rpartition("/")
            if path in ("/", "/computeMetadata/v1"):
                self._answer(200, "computeMetadata/\n")  # the clients' ping reads only the header
            elif path == "/computeMetadata/v1/project/project-id":
                self._answer(200, project_id)
            elif path == "/computeMetadata/v1/universe/universe-domain":
                self._answer(200, "googleapis.com")
            elif path == ACCOUNT_PREFIX.rstrip("/") and "recursive=true" in query:
                self._json({"default": account_info, tokens.account: account_info})
            elif path in account_paths and "recursive=true" in query:
                self._json(account_info)
            elif account in account_paths and leaf == "email":
                self._answer(200, tokens.account)
            elif account in account_paths and leaf == "scopes":
                self._answer(200, CLOUD_PLATFORM + "\n")
            elif account in account_paths and leaf == "token":
                self._token(query)
            else:
                self._answer(404, f"token broker: {path} is not served (only the token of {tokens.account})")

        def _refusal(self) -> str | None:
            peer = ipaddress.ip_address(self.client_address[0])
            if not any(peer in network for network in peers):
                return f"token broker: {peer} is neither this machine nor a Docker container"
            if self.headers.get("Metadata-Flavor") != "Google":
                return "token broker: missing header Metadata-Flavor: Google"
            if self.headers.get("X-Forwarded-For") is not None:
                return "token broker: forwarded requests are refused"
            return None

        def _token(self, query: str) -> None:
            scopes = [
                scope
                for pair in query.split("&")
                if pair.startswith("scopes=")
                for scope in unquote(pair.removeprefix("scopes=")).split(",")
                if scope
            ]
            try:
                token, expires_in = tokens.token(scopes)
            except BrokerError as error:
                tokens.log(str(error))
                self._answer(503, str(error))
                return
            self._json({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})

        def _json(self, body: dict[str, object]) -> None:
            self._answer(200, json.dumps(body), "application/json")

        def _answer(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Metadata-Flavor", "Google")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: a request line could be logged, a token never is; mints are logged by TokenSource."""

    return MetadataHandler


Interfaces = list[dict[str, Any]]  # as `ip -json addr` prints them


def docker_bridge_networks(interfaces: Interfaces) -> PeerNetworks:
    """Loopback plus the networks of Docker's bridges (docker0, br-*)."""
    networks = list(LOOPBACK)
    for interface in interfaces:
        if str(interface.get("ifname", "")).startswith(("docker", "br-")):
            for address in interface.get("addr_info", []):
                networks.append(ipaddress.ip_interface(f"{address['local']}/{address['prefixlen']}").network)
    return tuple(networks)


def bridge_address(interfaces: Interfaces) -> str:
    """Where containers reach this machine as host.docker.internal (host-gateway): docker0's IPv4
    address on Linux; 127.0.0.1 where there is no docker0 (Docker Desktop forwards to loopback)."""
    for interface in interfaces:
        if interface.get("ifname") == "docker0":
            for address in interface.get("addr_info", []):
                if address.get("family") == "inet":
                    return str(address["local"])
    return "127.0.0.1"


def serve(bind: str, port: int, tokens: TokenSource, project_id: str, peers: PeerNetworks) -> ThreadingHTTPServer:
    """A started-on-demand server; the caller runs serve_forever (or a thread) and shutdown."""
    try:
        return ThreadingHTTPServer((bind, port), handler_class(tokens, project_id, peers))
    except OSError as error:
        raise BrokerError(
            f"token broker: cannot listen on {bind}:{port} ({error.strerror}); free the port or set "
            "ZOOMCAMP_GCP_TOKEN_BROKER_PORT to another one, then deploy local again"
        ) from None


def _interfaces() -> Interfaces:
    """This machine's interfaces from iproute2 (`ip -json addr`); none where `ip` is missing (macOS)."""
    if shutil.which("ip") is None:
        return []
    run = subprocess.run(["ip", "-json", "addr"], capture_output=True, text=True, check=False)
    return json.loads(run.stdout or "[]") if run.returncode == 0 else []


def main(argv: list[str] | None = None) -> int:
    """`python -m ops.token_broker`: serve until Ctrl-C; any problem is one `error:` line and exit 1."""
    parser = CommandLine(prog="python -m ops.token_broker", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", help="address to listen on (default: docker0's, else 127.0.0.1)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.local.gcp_token_broker:
        raise BrokerError(
            "token broker: ZOOMCAMP_GCP_TOKEN_BROKER is not true, so the local Kestra does not ask this "
            "broker; set it to true and deploy local again (docs/google-cloud.md)"
        )
    target = resolve_gcp_target(settings)
    account = gcp_names(settings.local.prefix, target).local_kestra_email
    try:
        source, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
    except exceptions.DefaultCredentialsError:
        raise BrokerError(
            "token broker: no Google login on this machine; run `gcloud auth application-default login`"
        ) from None
    tokens = TokenSource(account=account, source=source)
    tokens.token([])  # refused now, in one line, rather than in the first flow that asks
    interfaces = _interfaces()
    bind = args.bind or bridge_address(interfaces)
    port = settings.local.gcp_token_broker_port
    server = serve(bind, port, tokens, target.project_id, docker_bridge_networks(interfaces))
    print(
        f"token broker: serving tokens of {account} (each valid at most {LIFETIME_SECONDS // 60} min) to the "
        f"local Kestra on {bind}:{port}; Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
