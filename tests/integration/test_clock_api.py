"""The clock on the real server (SPEC §2.3): a manual clock holds every delay and retry
until `POST /_mock/clock/advance`, and when that returns the window's callbacks have
already reached the receiver. No test here sleeps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx2
import pytest
from receiver import Receiver

from augnet_mock.server import LiveServer
from augnet_mock.settings import Settings

TO = "+447515650839"
ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}


class Mock:
    """A dedicated manual-clock server and a client for it."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.http = httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False)
        response = self.http.post("/_mock/projects", json={})
        assert response.status_code == 201, response.text
        self.project: dict[str, Any] = response.json()

    def send(self, **fields: Any) -> str:
        response = self.http.post(
            "/api/v2/message",
            auth=(self.project["projectId"], self.project["apiKey"]),
            json={"to": TO, "body": "hello"} | fields,
        )
        assert response.status_code == 200, response.text
        sid: str = response.json()["sid"]
        return sid

    def advance(self, seconds: float) -> dict[str, Any]:
        response = self.http.post("/_mock/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def clock(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get("/_mock/clock").json()
        return data

    def message(self, sid: str) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"/_mock/messages/{sid}").json()
        return data

    def journal(self, sid: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.http.get("/_mock/callbacks", params={"sid": sid}).json()[
            "callbacks"
        ]
        return data


@pytest.fixture
def manual(make_server: Callable[..., LiveServer]) -> Iterator[Callable[..., Mock]]:
    """Start a manual-clock server with settings overrides."""
    mocks: list[Mock] = []

    def start(**overrides: Any) -> Mock:
        mock = Mock(make_server(clock="manual", **overrides))
        mocks.append(mock)
        return mock

    yield start
    for mock in mocks:
        mock.http.close()


@pytest.fixture(scope="module")
def shared_manual() -> Iterator[Mock]:
    """One manual-clock server for tests that only read it or are refused."""
    with LiveServer(Settings(clock="manual")) as live:
        mock = Mock(live)
        yield mock
        mock.http.close()


def statuses(received: Receiver) -> list[str]:
    return [r.json()["SmsStatus"] for r in received.requests]


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_manual_clock_steps_the_lifecycle(manual: Callable[..., Mock], receiver: Receiver) -> None:
    """Nothing moves until advanced; each advance fires exactly its window's step and callback."""
    mock = manual(send_delay=1.0, delivery_delay=2.0)
    start = mock.clock()
    assert start["mode"] == "manual"
    sid = mock.send(statusCallback=receiver.url())

    assert receiver.requests == []
    assert [s["status"] for s in mock.message(sid)["timeline"]] == ["queued"]
    assert mock.message(sid)["timeline"][0]["at"] == start["now"]
    assert mock.clock()["pending"] == 2  # the queued callback and the send

    ran = mock.advance(0)
    assert ran["ran"] == 1
    assert ran["now"] == start["now"]
    assert statuses(receiver) == ["queued"]  # already there: no waiting

    assert mock.advance(0.999)["ran"] == 0
    assert statuses(receiver) == ["queued"]
    assert mock.message(sid)["status"] == "queued"

    after_send = mock.advance(0.001)
    assert statuses(receiver) == ["queued", "sent"]
    timeline = mock.message(sid)["timeline"]
    assert timeline[1] == {"status": "sent", "at": after_send["now"]}
    assert after_send["epoch"] == pytest.approx(start["epoch"] + 1.0)

    assert mock.advance(1.5)["ran"] == 0
    assert statuses(receiver) == ["queued", "sent"]
    delivered = mock.advance(0.5)
    assert statuses(receiver) == ["queued", "sent", "delivered"]
    view = mock.message(sid)
    assert view["status"] == "delivered"
    assert view["timeline"][2] == {"status": "delivered", "at": delivered["now"]}
    assert epoch(delivered["now"]) == pytest.approx(epoch(start["now"]) + 3.0, abs=0.002)
    assert [a["at"] for a in view["callbacks"]] == [s["at"] for s in view["timeline"]]
    assert mock.clock()["pending"] == 0


def test_one_big_advance_runs_the_whole_lifecycle(
    manual: Callable[..., Mock], receiver: Receiver
) -> None:
    """Advancing past every delay at once runs each step at its own due time, in order."""
    mock = manual(send_delay=1.0, delivery_delay=2.0)
    start = epoch(mock.clock()["now"])
    sid = mock.send(statusCallback=receiver.url())
    assert mock.advance(3600)["ran"] == 3
    assert statuses(receiver) == ["queued", "sent", "delivered"]
    offsets = [round(epoch(s["at"]) - start, 3) for s in mock.message(sid)["timeline"]]
    assert offsets == [0.0, 1.0, 3.0]


def test_retries_wait_for_the_clock_and_double(
    manual: Callable[..., Mock], receiver: Receiver
) -> None:
    """In manual mode a retry fires only when advanced to it, with backoff 1 s then 2 s."""
    mock = manual(send_delay=100, callback_backoff=1.0, callback_attempts=3)
    receiver.answers.extend([500, 500])
    sid = mock.send(statusCallback=receiver.url())

    mock.advance(0)
    assert len(receiver.requests) == 1
    assert mock.advance(0.999)["ran"] == 0
    assert len(receiver.requests) == 1
    mock.advance(0.001)
    assert len(receiver.requests) == 2
    assert mock.advance(1.999)["ran"] == 0
    assert len(receiver.requests) == 2
    mock.advance(0.001)
    assert len(receiver.requests) == 3

    attempts = mock.journal(sid)
    assert [(a["attempt"], a["responseStatus"]) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    times = [epoch(a["at"]) for a in attempts]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [1.0, 2.0]
    assert statuses(receiver) == ["queued"] * 3


def test_gives_up_after_the_last_attempt(manual: Callable[..., Mock], receiver: Receiver) -> None:
    """After callback_attempts failures the status is given up and the next one goes out."""
    mock = manual(send_delay=10, callback_backoff=1.0, callback_attempts=2)
    receiver.answers.extend([500, 500])
    sid = mock.send(statusCallback=receiver.url())
    mock.advance(0)
    mock.advance(1)
    assert len(receiver.requests) == 2
    assert mock.advance(5)["ran"] == 0  # no third attempt is ever scheduled
    mock.advance(4)
    assert statuses(receiver) == ["queued", "queued", "sent"]
    assert [(a["status"], a["attempt"]) for a in mock.journal(sid)] == [
        ("queued", 1),
        ("queued", 2),
        ("sent", 1),
    ]


def test_later_status_waits_behind_a_retry(manual: Callable[..., Mock], receiver: Receiver) -> None:
    """A status that falls due while an earlier one is retrying goes out right after it."""
    mock = manual(send_delay=0.5, delivery_delay=100, callback_backoff=1.0)
    receiver.answers.append(500)
    sid = mock.send(statusCallback=receiver.url())
    mock.advance(0)
    mock.advance(0.5)  # sent is recorded now, but its callback waits
    assert mock.message(sid)["status"] == "sent"
    assert statuses(receiver) == ["queued"]
    mock.advance(0.5)  # the retry succeeds and the outbox drains in order
    assert statuses(receiver) == ["queued", "queued", "sent"]


def test_messages_without_callbacks_still_progress(manual: Callable[..., Mock]) -> None:
    """Advancing moves statuses on even when no callback URL exists."""
    mock = manual(send_delay=1.0, delivery_delay=1.0)
    sid = mock.send()
    mock.advance(2)
    assert [s["status"] for s in mock.message(sid)["timeline"]] == ["queued", "sent", "delivered"]


def test_advance_on_a_real_clock_is_409(client: httpx2.Client) -> None:
    """Only a manual clock can be advanced; the real one answers 409 in the error shape."""
    assert client.get("/_mock/clock").json()["mode"] == "real"
    response = client.post("/_mock/clock/advance", json={"seconds": 1})
    assert response.status_code == 409
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == 409
    assert "manual" in body["message"]


@pytest.mark.parametrize(
    "payload",
    [{"seconds": -1}, {"seconds": "5"}, {"seconds": True}, {"seconds": None}, {}, [5], {"s": 1}],
)
def test_advance_rejects_bad_seconds(shared_manual: Mock, payload: Any) -> None:
    """Negative, non-number or missing seconds get 400 naming the field; time does not move."""
    mock = shared_manual
    before = mock.clock()["epoch"]
    response = mock.http.post("/_mock/clock/advance", json=payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["message"].startswith("seconds:")
    assert mock.clock()["epoch"] == before


def test_clock_reads_on_the_real_server(client: httpx2.Client) -> None:
    """GET /_mock/clock reports mode, ISO time, epoch and pending jobs."""
    data = client.get("/_mock/clock").json()
    assert set(data) == {"mode", "now", "epoch", "pending"}
    assert data["now"].endswith("Z")
    assert epoch(data["now"]) == pytest.approx(data["epoch"], abs=0.001)
    assert isinstance(data["pending"], int)
