"""GET /_mock/events on the real server: a Server-Sent Events stream of what happens.

Each stream is read by a thread with bounded timeouts: it stops as soon as the test
has what it waits for, on a read timeout, or at a deadline, so no test can hang.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from receiver import Receiver

from augnet_mock.server import LiveServer

TO = "+447515650839"
READ_TIMEOUT = 5.0  # the server's keepalive is 15 s, so silence this long means trouble
DEADLINE = 10.0

Event = dict[str, Any]
Until = Callable[[list[Event]], bool]


class EventStream:
    """Reads one SSE stream in a thread into `events` until `until(events)` holds."""

    def __init__(
        self, base_url: str, *, until: Until, params: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url
        self.params = params or {}
        self.until = until
        self.events: list[Event] = []
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.error: BaseException | None = None
        self.connected = threading.Event()
        self.done = threading.Event()
        self._stop = threading.Event()
        self._frames: queue.Queue[Event] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sse-reader", daemon=True)

    def __enter__(self) -> EventStream:
        self._thread.start()
        assert self.connected.wait(DEADLINE), "the event stream did not open"
        assert self.error is None, self.error
        assert self.status == 200
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(READ_TIMEOUT + 1)
        assert not self._thread.is_alive(), "the SSE reader thread did not stop"

    def wait(self) -> list[Event]:
        """Block until the reader has what it waits for (bounded), then return the events."""
        assert self.done.wait(DEADLINE + READ_TIMEOUT), "reader did not finish"
        assert self.error is None, f"stream failed: {self.error!r}; got {self.events}"
        assert self.until(self.events), f"stream ended early; got {self.events}"
        return self.events

    def _run(self) -> None:
        deadline = time.monotonic() + DEADLINE
        timeout = httpx2.Timeout(5.0, read=READ_TIMEOUT)
        try:
            with (
                httpx2.Client(base_url=self.base_url, timeout=timeout, trust_env=False) as http,
                http.stream("GET", "/_mock/events", params=self.params) as response,
            ):
                self.status = response.status_code
                self.headers = {k.lower(): v for k, v in response.headers.items()}
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):  # a comment: ": connected" or a keepalive
                        self.connected.set()
                    elif line:
                        name, _, value = line.partition(":")
                        frame[name] = value.removeprefix(" ")
                    elif frame:  # a blank line ends the frame
                        self.events.append(
                            {
                                "id": int(frame["id"]),
                                "type": frame["event"],
                                "data": json.loads(frame["data"]),
                            }
                        )
                        frame = {}
                        if self.until(self.events):
                            return
                    if self._stop.is_set() or time.monotonic() > deadline:
                        return
        except (httpx2.HTTPError, ValueError, KeyError) as exc:
            self.error = exc
        finally:
            self.connected.set()  # never leave the opener waiting
            self.done.set()


def send(http: httpx2.Client, project: dict[str, Any], **fields: Any) -> str:
    response = http.post(
        "/api/v2/message",
        auth=(project["projectId"], project["apiKey"]),
        json={"to": TO, "body": "hello"} | fields,
    )
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


def delivered_callback(sid: str) -> Until:
    """True once the stream has carried the delivered callback of `sid`."""
    return lambda events: any(
        e["type"] == "callback" and e["data"]["sid"] == sid and e["data"]["status"] == "delivered"
        for e in events
    )


def of(events: list[Event], sid: str, kind: str) -> list[Event]:
    return [e for e in events if e["type"] == kind and e["data"].get("sid") == sid]


@pytest.fixture
def live(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A dedicated server, so no other test's events interleave."""
    return make_server()


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as c:
        yield c


def test_stream_reports_message_status_and_callback_events(
    live: LiveServer, http: httpx2.Client, receiver: Receiver
) -> None:
    """One send yields a message event, status events and a callback event per attempt."""
    project = http.post("/_mock/projects", json={}).json()
    box: dict[str, str] = {}
    with EventStream(
        live.url, until=lambda ev: bool(box) and delivered_callback(box["sid"])(ev)
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        box["sid"] = sid = send(http, project, statusCallback=receiver.url())
        events = stream.wait()

    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)

    (created,) = of(events, sid, "message")
    assert created["data"]["projectId"] == project["projectId"]
    assert created["data"]["to"] == TO
    assert created["data"]["status"] == "queued"

    status_events = of(events, sid, "status")
    assert [e["data"]["status"] for e in status_events] == ["sent", "delivered"]
    assert [s["status"] for s in status_events[-1]["data"]["timeline"]] == [
        "queued",
        "sent",
        "delivered",
    ]

    callbacks = of(events, sid, "callback")
    assert [e["data"]["status"] for e in callbacks] == ["queued", "sent", "delivered"]
    for e in callbacks:
        assert e["data"]["ok"] is True
        assert e["data"]["url"] == receiver.url()
        assert e["data"]["projectId"] == project["projectId"]
    # The journal holds the same attempts the stream announced.
    journal = http.get("/_mock/callbacks", params={"sid": sid}).json()["callbacks"]
    assert [a["id"] for a in journal] == [e["data"]["id"] for e in callbacks]
    # Order of events: the message first, each status before its callback.
    order = [(e["type"], e["data"]["status"]) for e in events if e["data"].get("sid") == sid]
    assert order.index(("status", "sent")) < order.index(("callback", "sent"))
    assert order[0] == ("message", "queued")


def test_project_filter_keeps_other_projects_out(
    live: LiveServer, http: httpx2.Client, receiver: Receiver
) -> None:
    """?projectId= streams only that project's events; an unfiltered stream sees both."""
    mine = http.post("/_mock/projects", json={}).json()
    other = http.post("/_mock/projects", json={}).json()
    sids: dict[str, str] = {}

    def both_delivered(events: list[Event]) -> bool:
        return len(sids) == 2 and all(delivered_callback(s)(events) for s in sids.values())

    def mine_delivered(events: list[Event]) -> bool:
        return "mine" in sids and delivered_callback(sids["mine"])(events)

    with (
        EventStream(live.url, until=both_delivered) as everything,
        EventStream(
            live.url, until=mine_delivered, params={"projectId": mine["projectId"]}
        ) as filtered,
    ):
        # The other project's message goes first, so if the filter leaked it would show.
        sids["other"] = send(http, other, statusCallback=receiver.url("/other"))
        receiver.wait_for(3)
        sids["mine"] = send(http, mine, statusCallback=receiver.url("/mine"))
        seen_all = everything.wait()
        seen_mine = filtered.wait()

    assert {e["data"]["projectId"] for e in seen_mine} == {mine["projectId"]}
    assert {e["type"] for e in seen_mine} == {"message", "status", "callback"}
    assert of(seen_mine, sids["other"], "callback") == []
    for sid in sids.values():
        assert len(of(seen_all, sid, "callback")) == 3
        assert len(of(seen_all, sid, "message")) == 1


def test_a_reader_that_keeps_up_gets_every_event_and_no_missed_frame(
    live: LiveServer, http: httpx2.Client
) -> None:
    """A stream read while 50 sends go through carries all 50 message events, no gap."""
    project = http.post("/_mock/projects", json={}).json()

    def fifty(events: list[Event]) -> bool:
        return sum(e["type"] == "message" for e in events) == 50

    with EventStream(live.url, until=fifty, params={"projectId": project["projectId"]}) as s:
        for i in range(50):
            send(http, project, body=f"number {i}")
        events = s.wait()
    assert not [e for e in events if e["type"] == "missed"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
