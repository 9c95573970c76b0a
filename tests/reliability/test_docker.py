"""Issue 17: callbacks that reach the tests from a mock in a container (--loopback-alias).

A containerised mock cannot reach a receiver on the test machine's 127.0.0.1; with
`loopback_alias` it sends those callbacks to the alias instead. Proven on loopback
alone: the receiver listens on 127.0.0.2 only, the project registers
`http://127.0.0.1:PORT/...`, and the server is told that loopback means 127.0.0.2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from httpsig.verify import HeaderVerifier
from receiver import Received, Receiver

from augnet_mock import verify
from augnet_mock.server import LiveServer

ALIAS = "127.0.0.2"  # a second loopback address: Linux routes all of 127.0.0.0/8 to lo
TO = "+447515650839"
SIGNED = ["(request-target)", "date", "digest", "host"]
STATUSES = ["queued", "sent", "delivered"]
WAIT = 10.0  # seconds, at most, for the journal to catch up with the receiver


@pytest.fixture
def aliased_receiver() -> Iterator[Receiver]:
    """A webhook receiver bound to 127.0.0.2 only: nothing answers on 127.0.0.1:PORT."""
    rec = Receiver(host=ALIAS).start()
    yield rec
    rec.stop()


def loopback_url(rec: Receiver, path: str) -> str:
    """The URL a test suite would register: its receiver's port on 127.0.0.1."""
    return f"http://127.0.0.1:{rec.port}{path}"


def make_project(http: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = http.post("/_mock/projects", json=fields)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


def send(http: httpx2.Client, project: dict[str, Any], **extra: Any) -> str:
    response = http.post(
        "/api/v2/message",
        auth=(project["projectId"], project["apiKey"]),
        json={"to": TO, "body": "hello from a container", **extra},
    )
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


def assert_signed_for_alias(got: Received, rec: Receiver, key: str) -> None:
    """Signed over the Host the receiver saw (the alias), per httpsig and our verify."""
    assert got.headers["Host"] == f"{ALIAS}:{rec.port}"
    verifier = HeaderVerifier(
        headers=got.headers, secret=key, required_headers=SIGNED, method="POST", path=got.path
    )
    assert verifier.verify(), "httpsig rejected the signature"
    verify(method="POST", path=got.path, headers=got.headers, body=got.body, key=key)


def journal(http: httpx2.Client, sid: str, count: int) -> list[dict[str, Any]]:
    """The message's journal once it holds `count` attempts (journalled after the answer)."""
    deadline = time.monotonic() + WAIT
    while True:
        answer = http.get("/_mock/callbacks", params={"sid": sid}).json()
        attempts: list[dict[str, Any]] = answer["callbacks"]
        if len(attempts) >= count or time.monotonic() > deadline:
            assert len(attempts) == count
            return attempts
        time.sleep(0.01)


def test_status_callback_on_loopback_reaches_the_alias(
    make_server: Callable[..., LiveServer], aliased_receiver: Receiver
) -> None:
    """Issue 17: a statusCallback on 127.0.0.1 is sent to the alias, signed for its Host."""
    live = make_server(loopback_alias=ALIAS)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        project = make_project(http)
        url = loopback_url(aliased_receiver, "/status?run=1")
        sid = send(http, project, statusCallback=url)
        got = aliased_receiver.wait_for(3)
        assert [r.path for r in got] == ["/status?run=1"] * 3
        assert [r.json()["MessageStatus"] for r in got] == STATUSES
        for request in got:
            assert_signed_for_alias(request, aliased_receiver, project["signingKey"])
        for attempt in journal(http, sid, 3):
            assert attempt["ok"] is True
            assert attempt["url"] == url  # what the user registered stays on record
            assert attempt["sentTo"] == f"http://{ALIAS}:{aliased_receiver.port}/status?run=1"


def test_project_webhook_on_localhost_reaches_the_alias(
    make_server: Callable[..., LiveServer], aliased_receiver: Receiver
) -> None:
    """Issue 17: a project's webhookUrl on localhost goes to the alias too."""
    live = make_server(loopback_alias=ALIAS)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        url = f"http://localhost:{aliased_receiver.port}/project-hook"
        project = make_project(http, webhookUrl=url)
        sid = send(http, project)
        got = aliased_receiver.wait_for(3)
        assert {r.path for r in got} == {"/project-hook"}
        assert_signed_for_alias(got[-1], aliased_receiver, project["signingKey"])
        assert {a["sentTo"] for a in journal(http, sid, 3)} == {
            f"http://{ALIAS}:{aliased_receiver.port}/project-hook"
        }


def test_redelivery_goes_to_the_alias(
    make_server: Callable[..., LiveServer], aliased_receiver: Receiver
) -> None:
    """Issue 17: redelivering a journalled callback also sends it to the alias."""
    live = make_server(loopback_alias=ALIAS)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        project = make_project(http)
        sid = send(http, project, statusCallback=loopback_url(aliased_receiver, "/again"))
        aliased_receiver.wait_for(3)
        first = journal(http, sid, 3)[0]
        again = http.post(f"/_mock/callbacks/{first['id']}/redeliver")
        assert again.status_code == 200, again.text
        assert again.json()["sentTo"] == f"http://{ALIAS}:{aliased_receiver.port}/again"
        got = aliased_receiver.wait_for(4)
        assert_signed_for_alias(got[3], aliased_receiver, project["signingKey"])


def test_without_alias_loopback_is_sent_as_registered(
    server: LiveServer, receiver: Receiver
) -> None:
    """Issue 17: with no alias nothing is rewritten, and sentTo is null on every attempt."""
    with httpx2.Client(base_url=server.url, timeout=10.0, trust_env=False) as http:
        project = make_project(http)
        sid = send(http, project, statusCallback=receiver.url("/plain"))
        got = receiver.wait_for(3)
        assert got[0].headers["Host"] == f"127.0.0.1:{receiver.port}"
        assert [a["sentTo"] for a in journal(http, sid, 3)] == [None, None, None]
