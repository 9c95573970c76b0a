"""Webhook callbacks stay fair, bounded and deadline-bound (hardening, defects 2, 3, 4, 12).

Every test runs the real server against real receivers: `tests/receiver.py` for a
healthy one, and `RawReceiver` below for the misbehaving ones (one that accepts and
never answers, one that drips its answer, one whose answer never ends), written at
the socket level so that they can misbehave exactly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
import pytest
from receiver import Receiver

from augnet_mock.config import ConfigError, load_settings
from augnet_mock.server import LiveServer

T = TypeVar("T")

TO = "+447515650839"
STATUSES = ["queued", "sent", "delivered"]
WAIT = 10.0  # upper bound for any condition wait; tests normally finish far sooner
HUGE_ANSWER = 100 * 1024 * 1024  # the Content-Length the endless receiver announces
# What may cross loopback before the mock hangs up on an endless answer: the 64 KiB it
# reads plus the kernel's socket buffers on both ends (a few MiB each at most).
HUGE_READ_BOUND = 32 * 1024 * 1024


class RawReceiver:
    """A webhook receiver at the socket level, on its own event loop in a thread.

    `mode` is what it does once it has read a request: "hang" (never answer),
    "drip" (answer one byte every `drip_every` seconds) or "endless" (announce
    HUGE_ANSWER bytes and write until the client hangs up).
    """

    def __init__(self, mode: str, *, drip_every: float = 0.05) -> None:
        self.mode = mode
        self.drip_every = drip_every
        self.requests = 0
        self.open = 0
        self.most_open = 0  # the most connections open at once
        self.closed = 0
        self.written = 0  # answer bytes handed to the kernel
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()  # handlers end by themselves once it is set
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> RawReceiver:
        self._thread.start()
        assert self._started.wait(5), "raw receiver did not start"
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            self.requests += 1
            if self.mode == "hang":
                await self._stopping.wait()
            elif self.mode == "drip":
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
                for i in range(len(answer)):
                    if self._stopping.is_set():
                        break
                    writer.write(answer[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(self.drip_every)
            else:
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE_ANSWER}\r\n\r\n".encode())
                chunk = b"x" * 65536
                while self.written < HUGE_ANSWER and not self._stopping.is_set():
                    writer.write(chunk)
                    await writer.drain()
                    self.written += len(chunk)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client hung up: what the endless mode waits for
        finally:
            self.open -= 1
            self.closed += 1
            writer.close()
            self._tasks.discard(task)

    async def _shutdown(self) -> None:
        # Handlers are left to end rather than cancelled: asyncio logs a cancelled one.
        self._stopping.set()
        self._server.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def raw_receiver() -> Any:
    """Start RawReceivers by mode; all are stopped after the test."""
    started: list[RawReceiver] = []

    def make(mode: str, **kwargs: Any) -> RawReceiver:
        rec = RawReceiver(mode, **kwargs).start()
        started.append(rec)
        return rec

    yield make
    for rec in started:
        rec.stop()


def wait_until(probe: Callable[[], T | None], timeout: float = WAIT) -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def http_client(live: LiveServer) -> httpx2.Client:
    return httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False)


def new_project(http: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = http.post("/_mock/projects", json=fields)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def send(http: httpx2.Client, project: dict[str, Any], **fields: Any) -> str:
    response = http.post(
        "/api/v2/message",
        auth=(project["projectId"], project["apiKey"]),
        json={"to": TO, "body": "hello"} | fields,
    )
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


def journal(http: httpx2.Client, **params: str) -> list[dict[str, Any]]:
    response = http.get("/_mock/callbacks", params=params)
    assert response.status_code == 200, response.text
    callbacks: list[dict[str, Any]] = response.json()["callbacks"]
    return callbacks


def stats(http: httpx2.Client) -> dict[str, int]:
    response = http.get("/_mock/health")
    assert response.status_code == 200, response.text
    counters: dict[str, int] = response.json()["callbacks"]
    return counters


# -- defect 2: one receiver cannot starve the others ------------------------------------


def test_hanging_receiver_does_not_starve_another_projects_callbacks(
    make_server: Callable[..., LiveServer], receiver: Receiver, raw_receiver: Any
) -> None:
    """defect 2: 150 messages to a receiver that never answers do not hold up another
    project's healthy receiver; its callbacks arrive while the hanging ones still hang."""
    hang = raw_receiver("hang")
    live = make_server(callback_timeout=30.0, callback_attempts=1)
    with http_client(live) as http:
        stuck = new_project(http, webhookUrl=hang.url)
        for _ in range(150):
            send(http, stuck)
        wait_until(lambda: hang.requests >= 1)
        healthy = new_project(http, webhookUrl=receiver.url())
        sid = send(http, healthy)
        got = receiver.wait_for(3)
        assert [(r.json()["SmsSid"], r.json()["SmsStatus"]) for r in got] == [
            (sid, s) for s in STATUSES
        ]
        # Not one hanging attempt has ended (30 s deadline): nothing waited for them.
        assert journal(http, projectId=stuck["projectId"]) == []


def test_hanging_receiver_does_not_hold_the_api_first_lane(
    make_server: Callable[..., LiveServer], receiver: Receiver, raw_receiver: Any
) -> None:
    """defect 2: while sends pour in (the lane narrowed to one callback on the wire), an
    attempt hanging on its receiver gives its place back, so another receiver's callbacks
    still go, long before the lane's hold would let them."""
    hang = raw_receiver("hang")
    live = make_server(callback_timeout=30.0, callback_attempts=1)
    lane = live.runtime.dispatcher.lane
    lane.max_hold = 60.0  # only the lease can let the healthy callbacks by in time
    assert live.loop is not None

    async def pour_sends() -> None:
        # As under a saturating load, and more: sends counted at every turn of the loop,
        # so every look of the lane sees more than BUSY_SENDS and it stays narrow.
        while True:
            for _ in range(10):
                lane.api_request()
            await asyncio.sleep(0)

    pouring = asyncio.run_coroutine_threadsafe(pour_sends(), live.loop)
    try:
        with http_client(live) as http:
            stuck = new_project(http, webhookUrl=hang.url)
            send(http, stuck)
            wait_until(lambda: hang.requests >= 1)
            assert lane.busy
            healthy = new_project(http, webhookUrl=receiver.url())
            sid = send(http, healthy)
            got = receiver.wait_for(3)
            assert [r.json()["SmsSid"] for r in got] == [sid] * 3
            assert hang.requests == 1  # still hanging, not retried or ended
    finally:
        pouring.cancel()


def test_per_receiver_cap_bounds_attempts_in_flight(
    make_server: Callable[..., LiveServer], receiver: Receiver, raw_receiver: Any
) -> None:
    """defect 2: at most `callback_concurrency_per_receiver` attempts are on the wire to one
    receiver, while another receiver's callbacks still go at once."""
    hang = raw_receiver("hang")
    live = make_server(
        callback_timeout=30.0, callback_attempts=1, callback_concurrency_per_receiver=3
    )
    with http_client(live) as http:
        stuck = new_project(http, webhookUrl=hang.url)
        for _ in range(20):
            send(http, stuck)
        wait_until(lambda: hang.requests >= 3)
        send(http, new_project(http, webhookUrl=receiver.url()))
        receiver.wait_for(3)
        counters = wait_until(lambda: (c := stats(http))["delivered"] == 3 and c)
        assert counters["inFlight"] == 3  # the hanging receiver's, still on the wire
        assert (hang.requests, hang.most_open) == (3, 3)


# -- defect 3: pending callbacks are bounded and follow their messages ------------------


def test_pending_callbacks_over_the_bound_are_dropped_oldest_first_and_journalled(
    make_server: Callable[..., LiveServer], raw_receiver: Any
) -> None:
    """defect 3: past `max_pending_callbacks` the oldest pending callbacks are dropped, each
    journalled as dropped and counted; the one on the wire and the newest are kept."""
    hang = raw_receiver("hang")
    live = make_server(
        callback_timeout=30.0,
        callback_concurrency_per_receiver=1,
        max_pending_callbacks=4,
        send_delay=60,
    )
    with http_client(live) as http:
        project = new_project(http, webhookUrl=hang.url)
        first = send(http, project)
        wait_until(lambda: hang.requests == 1)  # on the wire: never dropped
        sids = [send(http, project) for _ in range(9)]
        for sid in sids[:6]:
            (attempt,) = journal(http, sid=sid)
            assert attempt["error"] == "dropped: over max_pending_callbacks"
            assert (attempt["status"], attempt["responseStatus"]) == ("queued", None)
            assert attempt["ok"] is False
        for sid in [first, *sids[6:]]:
            assert journal(http, sid=sid) == []
        counters = stats(http)
        assert (counters["pending"], counters["inFlight"], counters["dropped"]) == (4, 1, 6)


def test_evicted_and_cleared_messages_take_their_pending_callbacks_with_them(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """defect 3: a message evicted past `max_messages`, or cleared, has its pending callbacks
    removed from the dispatcher (never sent, counted as discarded)."""
    receiver.release.clear()  # one at a time (cap 1), held, so the rest wait while messages go
    live = make_server(
        max_messages=3, callback_concurrency_per_receiver=1, send_delay=60, callback_attempts=1
    )
    with http_client(live) as http:
        project = new_project(http, webhookUrl=receiver.url())
        sids = [send(http, project) for _ in range(6)]  # evicts the first three
        receiver.release.set()
        wait_until(lambda: stats(http)["pending"] == 0)
        got = [r.json()["SmsSid"] for r in receiver.requests]
        # The first was on the wire before its message went; the next two never went out.
        assert sorted(got) == sorted([sids[0], *sids[3:]])
        counters = stats(http)
        assert counters["discarded"] == 3
        assert counters["delivered"] == 3

        receiver.release.clear()
        more = [send(http, project) for _ in range(3)]  # the first goes on the wire
        wait_until(lambda: len(receiver.requests) == 5)
        assert http.delete("/_mock/messages").status_code == 200
        receiver.release.set()
        wait_until(lambda: stats(http)["pending"] == 0)
        assert stats(http)["discarded"] == 3 + 3
        assert [r.json()["SmsSid"] for r in receiver.requests][4:] == [more[0]]


def test_evicted_message_posts_no_callback_on_a_manual_clock(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """defect 3: a queued callback still scheduled when its message is evicted never goes."""
    live = make_server(clock="manual", max_messages=3)
    with http_client(live) as http:
        project = new_project(http, webhookUrl=receiver.url())
        sids = [send(http, project) for _ in range(8)]
        http.post("/_mock/clock/advance", json={"seconds": 60}).raise_for_status()
        got = [(r.json()["SmsSid"], r.json()["SmsStatus"]) for r in receiver.requests]
        assert sorted(got) == sorted((sid, s) for sid in sids[5:] for s in STATUSES)


# -- defect 4: a total deadline per attempt, and a capped answer ------------------------


@pytest.mark.parametrize("raw", ["0", "-1", "0.0"])
def test_callback_timeout_must_be_positive(raw: str) -> None:
    """defect 4: `--callback-timeout 0` (or below) is refused with the key and the range."""
    for source, key in (
        ({"cli": {"callback_timeout": raw}}, "--callback-timeout"),
        ({"env": {"AUGNET_MOCK_CALLBACK_TIMEOUT": raw}}, "AUGNET_MOCK_CALLBACK_TIMEOUT"),
    ):
        with pytest.raises(ConfigError) as info:
            load_settings(**source)
        message = str(info.value)
        assert message.startswith(f"{key}: ")
        assert "greater than 0" in message
        assert "\n" not in message


def test_dripping_receiver_ends_at_the_deadline(
    make_server: Callable[..., LiveServer], raw_receiver: Any
) -> None:
    """defect 4: an answer dripped a byte at a time ends at the total deadline, ReadTimeout."""
    drip = raw_receiver("drip", drip_every=0.05)  # the whole answer would take ~7 s
    live = make_server(callback_timeout=0.5, callback_attempts=1, send_delay=60)
    with http_client(live) as http:
        sid = send(http, new_project(http, webhookUrl=drip.url))
        (attempt,) = wait_until(lambda: journal(http, sid=sid), timeout=5.0)
    assert attempt["error"] == "ReadTimeout"
    assert attempt["responseStatus"] is None
    assert attempt["durationMs"] >= 450


def test_huge_answer_is_read_only_up_to_the_cap(
    make_server: Callable[..., LiveServer], raw_receiver: Any
) -> None:
    """defect 4: an answer announcing 100 MiB is read up to 64 KiB, then the mock hangs up;
    the attempt counts by its status."""
    endless = raw_receiver("endless")
    live = make_server(callback_attempts=1, send_delay=60)
    with http_client(live) as http:
        sid = send(http, new_project(http, webhookUrl=endless.url))
        (attempt,) = wait_until(lambda: journal(http, sid=sid))
        wait_until(lambda: endless.closed == 1)
    assert (attempt["responseStatus"], attempt["ok"]) == (200, True)
    assert endless.written < HUGE_READ_BOUND, f"{endless.written} bytes were taken"


# -- defect 12: shutdown journals what it abandons -------------------------------------


def test_shutdown_journals_pending_callbacks_as_abandoned(
    make_server: Callable[..., LiveServer],
    raw_receiver: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """defect 12: at shutdown every pending callback (on the wire or waiting) is journalled
    as abandoned, one WARNING line gives the count, and the server still stops promptly."""
    hang = raw_receiver("hang")
    live = make_server(callback_timeout=30.0, delivery_delay=60)
    with http_client(live) as http:
        project = new_project(http, webhookUrl=hang.url)
        sids = [send(http, project) for _ in range(3)]
        wait_until(lambda: hang.requests == 3)
        # Each message has its queued callback pending and its sent one behind it.
        wait_until(lambda: stats(http)["pending"] == 6)
    caplog.set_level(logging.WARNING, logger="augnet_mock")
    thread = live._thread
    assert thread is not None
    live.stop()
    assert not thread.is_alive()
    attempts = live.runtime.store.attempts(project_id=project["projectId"])
    assert sorted((a["sid"], a["status"]) for a in attempts) == sorted(
        (sid, s) for sid in sids for s in ("queued", "sent")
    )
    for a in attempts:
        assert a["error"] == "abandoned: server shutting down"
        assert a["responseStatus"] is None
    lines = [r for r in caplog.records if "abandoned" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in lines] == [
        (logging.WARNING, "6 pending callbacks abandoned at shutdown")
    ]
    assert live.runtime.dispatcher.stats.abandoned == 6
