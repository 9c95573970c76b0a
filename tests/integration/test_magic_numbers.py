"""The built-in magic numbers on the real server: each number gives its documented outcome.

The numbers sit in Ofcom's drama range +447700900000-999, which no real phone
has. Sends go out from fresh projects, so the shared server stays clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from receiver import Receiver

from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, FINAL_STATUSES
from augnet_mock.scenarios import MAGIC_NUMBERS
from augnet_mock.server import LiveServer

DEFAULT_AUTH = (DEFAULT_PROJECT_ID, DEFAULT_API_KEY)
WAIT = 5.0  # seconds any condition may take on the fast shared server

Project = dict[str, Any]


def auth(project: Project) -> tuple[str, str]:
    return (project["projectId"], project["apiKey"])


def send(client: httpx2.Client, project: Project, to: str, **fields: Any) -> httpx2.Response:
    return client.post(
        "/api/v2/message", auth=auth(project), json={"to": to, "body": "hi"} | fields
    )


def wait_final(client: httpx2.Client, sid: str, timeout: float = WAIT) -> dict[str, Any]:
    """The message once it reached a final status (bounded polling of the control API)."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = client.get(f"/_mock/messages/{sid}").json()
        if message["status"] in FINAL_STATUSES:
            return message
        if time.monotonic() > deadline:
            raise AssertionError(f"message {sid} still {message['status']} after {timeout} s")
        time.sleep(0.01)


@pytest.fixture
def dedicated(make_server: Callable[..., LiveServer]) -> Iterator[Callable[..., httpx2.Client]]:
    """A client on a server of its own (closed with the test)."""
    clients: list[httpx2.Client] = []

    def start(**overrides: Any) -> httpx2.Client:
        c = httpx2.Client(base_url=make_server(**overrides).url, timeout=10.0, trust_env=False)
        clients.append(c)
        return c

    yield start
    for c in clients:
        c.close()


def test_builtin_table_is_served(client: httpx2.Client) -> None:
    """GET /_mock/scenarios/builtin lists every magic number with its outcome and effect."""
    table = client.get("/_mock/scenarios/builtin").json()
    assert table["range"] == "+447700900000..+447700900999"
    assert table["numbers"] == [
        {"number": m.number, "outcome": m.outcome, "effect": m.effect} for m in MAGIC_NUMBERS
    ]
    by_number = {n["number"]: n["effect"] for n in table["numbers"]}
    assert by_number["+447700900901"] == {"latency": 2.0}
    assert by_number["+447700900902"] == {"deliveryDelay": 30.0}
    # Built-ins are not user rules: the user list does not show them.
    listed = client.get("/_mock/scenarios").json()["scenarios"]
    assert not [r for r in listed if r["source"] == "builtin"]


@pytest.mark.parametrize(
    ("number", "status", "message", "retry_after"),
    [
        ("+447700900400", 400, "to: not a valid mobile number", None),
        ("+447700900429", 429, "rate limit exceeded", "1"),
        ("+447700900500", 500, "simulated server error", None),
        ("+447700900503", 503, "service temporarily unavailable", "5"),
    ],
)
def test_api_error_numbers(
    client: httpx2.Client,
    project: Project,
    number: str,
    status: int,
    message: str,
    retry_after: str | None,
) -> None:
    """400/429/500/503 numbers answer that status in the error shape, Retry-After as documented."""
    response = send(client, project, number)
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    body = response.json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert body["status"] == status
    assert body["message"] == message
    [logged] = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()[
        "requests"
    ]
    assert logged["status"] == status
    assert logged["scenario"] == f"builtin:{number}"
    messages = client.get("/_mock/messages", params={"projectId": project["projectId"]}).json()
    assert messages == {"messages": [], "nextCursor": None}


@pytest.mark.parametrize(
    ("number", "final", "code", "timeline"),
    [
        ("+447700900001", "undelivered", "30003", ["queued", "sent", "undelivered"]),
        ("+447700900002", "undelivered", "30005", ["queued", "sent", "undelivered"]),
        ("+447700900003", "failed", "30008", ["queued", "failed"]),
    ],
)
def test_final_status_numbers(
    client: httpx2.Client,
    project: Project,
    receiver: Receiver,
    number: str,
    final: str,
    code: str,
    timeline: list[str],
) -> None:
    """These numbers are accepted, then end undelivered/failed with their error code."""
    response = send(client, project, number, statusCallback=receiver.url())
    assert response.status_code == 200
    message = wait_final(client, response.json()["sid"])
    assert message["status"] == final
    assert message["errorCode"] == code
    assert [s["status"] for s in message["timeline"]] == timeline
    assert message["scenario"] == f"builtin:{number}"
    got = receiver.wait_for(len(timeline))
    assert [r.json()["MessageStatus"] for r in got] == timeline


def test_slow_api_number_takes_two_seconds(client: httpx2.Client, project: Project) -> None:
    """+447700900901 is answered (200) only after about 2 s. (The suite's one slow test.)"""
    started = time.perf_counter()
    response = send(client, project, "+447700900901")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert 1.9 <= elapsed < 4.0, elapsed
    sid = response.json()["sid"]
    assert client.get(f"/_mock/messages/{sid}").json()["scenario"] == "builtin:+447700900901"


def test_slow_delivery_number_delivers_thirty_seconds_after_sent(
    dedicated: Callable[..., httpx2.Client],
) -> None:
    """+447700900902 stays sent for 30 s of (manual) clock time, then is delivered."""
    c = dedicated(clock="manual", send_delay=1.0)
    body = {"to": "+447700900902", "body": "x"}
    sid = c.post("/api/v2/message", auth=DEFAULT_AUTH, json=body).json()["sid"]

    def after(seconds: float) -> str:
        assert c.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200
        status: str = c.get(f"/_mock/messages/{sid}").json()["status"]
        return status

    assert [after(s) for s in (1.0, 29.9, 0.1)] == ["sent", "sent", "delivered"]


def test_dropped_connection_number(client: httpx2.Client, project: Project) -> None:
    """+447700900903 closes the socket unanswered: httpx2 raises a transport error."""
    with pytest.raises(httpx2.TransportError) as caught:
        send(client, project, "+447700900903")
    assert isinstance(caught.value, httpx2.RemoteProtocolError)
    [logged] = client.get("/_mock/requests", params={"projectId": project["projectId"]}).json()[
        "requests"
    ]
    assert logged["status"] is None
    assert logged["scenario"] == "builtin:+447700900903"


def test_never_acknowledged_number_retries_every_callback(
    dedicated: Callable[..., httpx2.Client], receiver: Receiver
) -> None:
    """+447700900904: the receiver answers 200 yet each status is tried callback_attempts times."""
    c = dedicated(clock="manual", callback_attempts=4, callback_backoff=0.25)
    body = {"to": "+447700900904", "body": "x", "statusCallback": receiver.url()}
    sid = c.post("/api/v2/message", auth=DEFAULT_AUTH, json=body).json()["sid"]
    assert c.post("/_mock/clock/advance", json={"seconds": 60}).json()["pending"] == 0
    got = [r.json()["MessageStatus"] for r in receiver.requests]
    assert got == ["queued"] * 4 + ["sent"] * 4 + ["delivered"] * 4
    journal = c.get("/_mock/callbacks", params={"sid": sid}).json()["callbacks"]
    assert [a["attempt"] for a in journal] == [1, 2, 3, 4] * 3
    assert {a["responseStatus"] for a in journal} == {200}


def test_a_user_rule_overrides_a_magic_number(client: httpx2.Client, project: Project) -> None:
    """User rules are checked first, so one matching a magic number wins over the built-in."""
    rule = client.post(
        "/_mock/scenarios",
        json={
            "match": {"project": project["projectId"], "to": "+447700900500"},
            "effect": {"apiError": {"status": 418, "message": "mine"}},
        },
    ).json()
    try:
        response = send(client, project, "+447700900500")
        assert response.status_code == 418
        assert response.json()["message"] == "mine"
    finally:
        client.delete(f"/_mock/scenarios/{rule['id']}")


@pytest.mark.parametrize("number", ["+447700900000", "+447700900004", "+447700900999"])
def test_other_drama_numbers_are_ordinary(
    client: httpx2.Client, project: Project, number: str
) -> None:
    """Numbers in the range that are not in the table are delivered normally."""
    response = send(client, project, number)
    assert response.status_code == 200
    message = wait_final(client, response.json()["sid"])
    assert message["status"] == "delivered"
    assert message["scenario"] is None
