"""The token broker under test, and a stand-in for IAM Credentials' generateAccessToken.

Google Cloud is out of reach here, so this answers the one call google-auth's impersonated
credentials make (POST .../serviceAccounts/ACCOUNT:generateAccessToken) in the documented shape
({"accessToken", "expireTime"}), and records each request, so the tests can check which account,
lifetime and scopes the broker asked for and which credential it showed. It mints nothing real:
each token is "minted-N", and a test can make it refuse (status 403) or shorten the lifetime.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.auth import iam

from ops.token_broker import LOOPBACK, PeerNetworks, TokenSource, serve
from tests.support.fakes import served


@dataclass
class IamStandIn:
    root: str = ""
    requests: list[dict[str, object]] = field(default_factory=list)
    refuse_with: int | None = None  # an HTTP status to answer instead of a token
    lifetime: dt.timedelta = dt.timedelta(hours=1)

    def endpoint(self, account: str) -> str:
        """google-auth's own generateAccessToken URL for `account`, on this stand-in."""
        return iam._IAM_ENDPOINT.replace("https://iamcredentials.googleapis.com", self.root).format(account)


@contextmanager
def iam_stand_in() -> Iterator[IamStandIn]:
    state = IamStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), **body})
            if state.refuse_with is not None:
                answer = {
                    "error": {
                        "code": state.refuse_with,
                        "status": "PERMISSION_DENIED",
                        "message": "Permission 'iam.serviceAccounts.getAccessToken' denied",
                    }
                }
                status = state.refuse_with
            else:
                expiry = dt.datetime.now(dt.UTC) + state.lifetime
                answer = {"accessToken": f"minted-{len(state.requests)}", "expireTime": f"{expiry:%Y-%m-%dT%H:%M:%SZ}"}
                status = 200
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.root = f"http://127.0.0.1:{server.server_address[1]}"
    with served(server):
        yield state


ACCOUNT = "zoomcamp-local@learner-project.iam.gserviceaccount.com"
PROJECT = "learner-project"
SOURCE_TOKEN = "learner-own-login-token"


@dataclass
class RunningBroker:
    address: str  # host:port, as GCE_METADATA_HOST names it
    iam: IamStandIn
    log: list[str]


@contextmanager
def running_broker(peers: PeerNetworks | None = None) -> Iterator[RunningBroker]:
    """ops/token_broker.py on 127.0.0.1 (a free port), minting through the IAM stand-in with a
    source credential of google-auth's own user-credentials class."""
    from google.oauth2.credentials import Credentials as UserCredentials

    with iam_stand_in() as iam_:
        log: list[str] = []
        tokens = TokenSource(
            account=ACCOUNT,
            source=UserCredentials(token=SOURCE_TOKEN),
            iam_endpoint=iam_.endpoint(ACCOUNT),
            log=log.append,
        )
        server = serve("127.0.0.1", 0, tokens, PROJECT, peers if peers is not None else LOOPBACK)
        with served(server):
            yield RunningBroker(address=f"127.0.0.1:{server.server_address[1]}", iam=iam_, log=log)
