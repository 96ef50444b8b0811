"""ops/token_broker.py: what it serves, what it asks IAM for, and what it refuses.

Google's clients asking it are in tests/integration/test_token_broker_clients.py; here plain HTTP
requests check the protocol and the refusals, against the IAM stand-in of
tests/support/token_broker_fixtures.py.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import urllib.error
import urllib.request

import pytest

from ops import token_broker
from tests.support.token_broker_fixtures import ACCOUNT, PROJECT, SOURCE_TOKEN, running_broker

FLAVOR = {"Metadata-Flavor": "Google"}
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"


def get(address: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(f"http://{address}{path}", headers=FLAVOR if headers is None else headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_a_token_request_gets_a_minted_token_of_the_account_never_the_learners_login() -> None:
    with running_broker() as broker:
        status, body, headers = get(broker.address, TOKEN_PATH)
    assert status == 200, body
    assert headers["Metadata-Flavor"] == "Google"
    answer = json.loads(body)
    assert answer["access_token"] == "minted-1" and answer["token_type"] == "Bearer"
    assert 3300 < answer["expires_in"] <= 3600
    (asked,) = broker.iam.requests
    assert asked["path"] == f"/v1/projects/-/serviceAccounts/{ACCOUNT}:generateAccessToken"
    assert asked["lifetime"] == "3600s"  # at most an hour
    assert asked["scope"] == [token_broker.CLOUD_PLATFORM]
    assert asked["authorization"] == f"Bearer {SOURCE_TOKEN}"  # the learner's login goes to IAM only
    assert SOURCE_TOKEN not in body


def test_the_token_is_reused_until_minutes_before_it_expires() -> None:
    with running_broker() as broker:
        get(broker.address, TOKEN_PATH)
        get(broker.address, TOKEN_PATH.replace("default", ACCOUNT))
        assert len(broker.iam.requests) == 1
        broker.iam.lifetime = dt.timedelta(minutes=4)  # under RENEW_BEFORE
        get(broker.address, TOKEN_PATH + "?scopes=https://www.googleapis.com/auth/bigquery")
        _, body, _ = get(broker.address, TOKEN_PATH + "?scopes=https://www.googleapis.com/auth/bigquery")
    assert [request["scope"] for request in broker.iam.requests] == [
        [token_broker.CLOUD_PLATFORM],
        ["https://www.googleapis.com/auth/bigquery"],
        ["https://www.googleapis.com/auth/bigquery"],
    ]
    assert json.loads(body)["access_token"] == "minted-3"


def test_it_serves_the_account_project_and_universe_the_clients_read() -> None:
    account = "/computeMetadata/v1/instance/service-accounts/default"
    with running_broker() as broker:
        assert get(broker.address, "/")[0] == 200
        assert get(broker.address, f"{account}/email")[1] == ACCOUNT
        assert json.loads(get(broker.address, f"{account}/?recursive=true")[1])["email"] == ACCOUNT
        every_account = json.loads(get(broker.address, f"{account.removesuffix('default')}?recursive=true")[1])
        assert every_account["default"]["email"] == ACCOUNT  # Java's client reads the default one's email here
        assert get(broker.address, "/computeMetadata/v1/project/project-id")[1] == PROJECT
        assert get(broker.address, "/computeMetadata/v1/universe/universe-domain")[1] == "googleapis.com"
    assert broker.iam.requests == []  # none of these mints


@pytest.mark.parametrize(
    ("path", "headers", "status", "words"),
    [
        (TOKEN_PATH, {}, 403, "missing header Metadata-Flavor: Google"),
        (TOKEN_PATH, {**FLAVOR, "X-Forwarded-For": "203.0.113.9"}, 403, "forwarded requests are refused"),
        (
            "/computeMetadata/v1/instance/service-accounts/default/identity?audience=x",
            FLAVOR,
            404,
            "is not served",
        ),
        ("/computeMetadata/v1/instance/attributes/ssh-keys", FLAVOR, 404, "is not served"),
        (TOKEN_PATH.replace("default", "other@p.iam.gserviceaccount.com"), FLAVOR, 404, "is not served"),
    ],
    ids=["no-flavor-header", "forwarded", "identity-token", "other-metadata", "other-account"],
)
def test_what_it_refuses(path: str, headers: dict[str, str], status: int, words: str) -> None:
    with running_broker() as broker:
        answer = get(broker.address, path, headers)
    assert answer[0] == status and words in answer[1], answer[1]
    assert broker.iam.requests == []


def test_a_peer_that_is_neither_this_machine_nor_a_container_is_refused() -> None:
    with running_broker(peers=(ipaddress.ip_network("172.18.0.0/16"),)) as broker:
        status, body, _ = get(broker.address, TOKEN_PATH)
    assert status == 403 and "127.0.0.1 is neither this machine nor a Docker container" in body
    assert broker.iam.requests == []


def test_an_iam_refusal_reaches_the_kestra_task_as_one_line_naming_the_fix() -> None:
    with running_broker() as broker:
        broker.iam.refuse_with = 403
        status, body, _ = get(broker.address, TOKEN_PATH)
    assert status == 503
    assert body.startswith(f"token broker: Google refused a token of {ACCOUNT} for your login (")
    assert "GCP_LOCAL_KESTRA_MEMBERS=user:" in body and "\n" not in body
    assert broker.log == [body]


def test_its_log_names_each_mint_and_never_a_token() -> None:
    with running_broker() as broker:
        get(broker.address, TOKEN_PATH)
    (line,) = broker.log
    assert line.startswith(f"token broker: minted a token of {ACCOUNT}, valid until ")
    assert "minted-1" not in line and SOURCE_TOKEN not in line


IP_ADDR = [
    {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
    {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.168.1.20", "prefixlen": 24}]},
    {"ifname": "docker0", "addr_info": [{"family": "inet", "local": "172.17.0.1", "prefixlen": 16}]},
    {"ifname": "br-5e1f0a", "addr_info": [{"family": "inet", "local": "172.18.0.1", "prefixlen": 16}]},
]


def test_containers_on_docker_bridges_and_this_machine_are_the_only_peers() -> None:
    peers = token_broker.docker_bridge_networks(IP_ADDR)
    allowed = {str(network) for network in peers}
    assert allowed == {"127.0.0.0/8", "::1/128", "172.17.0.0/16", "172.18.0.0/16"}  # not the LAN's 192.168.1.0/24
    assert token_broker.bridge_address(IP_ADDR) == "172.17.0.1"  # where host-gateway points on Linux
    assert token_broker.bridge_address([]) == "127.0.0.1"  # Docker Desktop: its host alias reaches loopback


def test_without_the_switch_the_broker_refuses_to_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZOOMCAMP_GCP_TOKEN_BROKER", raising=False)
    assert token_broker.run_cli(lambda: token_broker.main([])) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: token broker: ZOOMCAMP_GCP_TOKEN_BROKER is not true")
