"""Regressions for the fault probe's defects 9, 10 and 12: unpaged reads, event streams
that lost events without a word, and a shutdown that waited on open streams.

Real servers throughout: in-thread `LiveServer`s, and `augnet-mock serve` as a
subprocess for the signal test. Nothing here asserts a duration of its own; where a
read must stay cheap, the test counts the stored rows it looked at instead.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

import augnet_mock.rows
from augnet_mock.events import EVENT_BACKLOG
from augnet_mock.models import Message
from augnet_mock.paging import MAX_LIMIT, SCAN_BUDGET
from augnet_mock.server import LiveServer

REPO = Path(__file__).resolve().parents[2]
STORED = 100_000
READ_TIMEOUT = 10.0
BANNER = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")


def fill(live: LiveServer, count: int, project_id: str = "bulk") -> list[str]:
    """Store `count` messages straight into the server's store (HTTP would take minutes)."""
    sids = [f"sid-{i:06d}" for i in range(count)]
    store = live.runtime.store
    for i, sid in enumerate(sids):
        store.add_message(
            Message(
                sid=sid,
                project_id=project_id,
                to="+447515650839",
                from_="+441743581416",
                requested_from=None,
                body=f"message number {i}",
                encoding="GSM-7",
                segments=1,
                status_callback=None,
                created_epoch=1_700_000_000.0 + i,
                timeline=(("queued", 1_700_000_000.0 + i, None),),
            )
        )
    return sids


@pytest.fixture
def rows_looked_at(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the stored message rows a page examines (the row codec's matcher)."""
    counter = [0]
    real = augnet_mock.rows.message_matches

    def counting(row: tuple[Any, ...], *values: Any) -> bool:
        counter[0] += 1
        return real(row, *values)

    monkeypatch.setattr(augnet_mock.rows, "message_matches", counting)
    return counter


# -- defect 9: paged reads -------------------------------------------------------------


def test_defect_9_a_page_of_100000_messages_is_one_bounded_page(
    make_server: Callable[..., LiveServer], rows_looked_at: list[int]
) -> None:
    """defect 9: GET /_mock/messages over 100,000 messages answers one page, not 55 MB."""
    live = make_server(max_messages=STORED)
    sids = fill(live, STORED)
    with httpx2.Client(base_url=live.url, timeout=30.0, trust_env=False) as http:
        first = http.get("/_mock/messages")
        assert first.status_code == 200, first.text
        page = first.json()
        assert [m["sid"] for m in page["messages"]] == sids[:100]  # oldest first, as before
        assert page["nextCursor"]
        assert len(first.content) < 200_000  # about 600 bytes a message
        assert 0 < rows_looked_at[0] <= 101  # counted at all, and a page's worth

        # The next page goes on where the first ended.
        second = http.get("/_mock/messages", params={"cursor": page["nextCursor"]}).json()
        assert [m["sid"] for m in second["messages"]] == sids[100:200]

        # Newest first, and a cursor deep into the store: seeking looks at a page's worth.
        newest = http.get("/_mock/messages", params={"order": "newest", "limit": 5}).json()
        assert [m["sid"] for m in newest["messages"]] == sids[-1:-6:-1]
        rows_looked_at[0] = 0
        deep = http.get(
            "/_mock/messages",
            params={"order": "newest", "limit": 5, "cursor": newest["nextCursor"]},
        ).json()
        assert [m["sid"] for m in deep["messages"]] == sids[-6:-11:-1]
        assert rows_looked_at[0] <= 6

        # The largest page is bounded too.
        biggest = http.get("/_mock/messages", params={"limit": MAX_LIMIT})
        assert len(biggest.json()["messages"]) == MAX_LIMIT


def test_defect_9_a_filtered_page_scans_a_bounded_number_of_rows(
    make_server: Callable[..., LiveServer], rows_looked_at: list[int]
) -> None:
    """defect 9: a filter matching nothing in 100,000 rows stops at the scan budget and
    answers short with a nextCursor, and a health check made alongside is answered."""
    live = make_server(max_messages=STORED)
    fill(live, STORED)
    health: list[int] = []
    with httpx2.Client(base_url=live.url, timeout=30.0, trust_env=False) as http:

        def check_health() -> None:
            with httpx2.Client(base_url=live.url, timeout=30.0, trust_env=False) as other:
                health.append(other.get("/_mock/health").status_code)

        checker = threading.Thread(target=check_health)
        checker.start()
        page = http.get("/_mock/messages", params={"projectId": "nobody"}).json()
        checker.join(30.0)
        assert health == [200]
        assert page["messages"] == []
        assert page["nextCursor"]  # not done: the budget ran out first
        assert rows_looked_at[0] == SCAN_BUDGET

        # Following the cursors walks the whole store a budget at a time, and ends.
        cursor, pages = page["nextCursor"], 1
        while cursor:
            params = {"projectId": "nobody", "cursor": cursor}
            answer = http.get("/_mock/messages", params=params).json()
            assert answer["messages"] == []
            cursor, pages = answer["nextCursor"], pages + 1
            assert pages <= STORED // SCAN_BUDGET + 1
        assert pages == STORED // SCAN_BUDGET
        assert rows_looked_at[0] == STORED


def test_defect_9_cursors_survive_eviction_and_clearing(
    make_server: Callable[..., LiveServer],
) -> None:
    """defect 9: a cursor at an evicted or deleted message resumes at the oldest newer one."""
    live = make_server(max_messages=10)
    sids = fill(live, 10)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        page = http.get("/_mock/messages", params={"limit": 3}).json()
        assert [m["sid"] for m in page["messages"]] == sids[:3]
        store = live.runtime.store
        for sid in [f"late-{i}" for i in range(5)]:  # evicts sids[0:5]
            store.add_message(store_message(sid))
        resumed = http.get("/_mock/messages", params={"limit": 3, "cursor": page["nextCursor"]})
        assert [m["sid"] for m in resumed.json()["messages"]] == sids[5:8]
        assert store.clear_messages() == 10
        store.add_message(store_message("after-clear"))
        after = http.get("/_mock/messages", params={"cursor": resumed.json()["nextCursor"]})
        assert [m["sid"] for m in after.json()["messages"]] == ["after-clear"]


def store_message(sid: str) -> Message:
    return Message(
        sid=sid,
        project_id="bulk",
        to="+447515650839",
        from_="+441743581416",
        requested_from=None,
        body="late",
        encoding="GSM-7",
        segments=1,
        status_callback=None,
        created_epoch=1_800_000_000.0,
    )


@pytest.mark.parametrize(
    ("path", "params", "wanted"),
    [
        ("/_mock/messages", {"limit": "0"}, "limit: must be a whole number, 1 to 1000"),
        ("/_mock/messages", {"limit": "1001"}, "limit: must be a whole number, 1 to 1000"),
        ("/_mock/callbacks", {"limit": "ten"}, "limit: must be a whole number, 1 to 1000"),
        ("/_mock/requests", {"limit": "-1"}, "limit: must be a whole number, 1 to 1000"),
        ("/_mock/projects", {"cursor": "%%%"}, "cursor: not a cursor this server made"),
        ("/_mock/scenarios", {"cursor": "bWVzc2FnZXM6MQ"}, "cursor: not a cursor of this list"),
        ("/_mock/messages", {"cursor": "bWVzc2FnZXM6LTE"}, "cursor: not a cursor this server"),
        ("/_mock/messages", {"order": "random"}, "order: must be oldest or newest"),
    ],
)
def test_defect_9_bad_paging_parameters_are_a_precise_400(
    client: httpx2.Client, path: str, params: dict[str, str], wanted: str
) -> None:
    """defect 9: a bad limit, cursor or order is a 400 in the error shape that says which."""
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["message"].startswith(wanted), body["message"]
    assert body["path"] == path


# -- defect 10: event streams ----------------------------------------------------------


class Frames:
    """Reads one SSE stream in a thread: every frame, as (event, data, id or None)."""

    def __init__(self, url: str, params: dict[str, str] | None = None) -> None:
        self.frames: list[tuple[str, Any, int | None]] = []
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self.clean_end = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, params or {}), daemon=True)
        self._thread.start()
        assert self.connected.wait(READ_TIMEOUT), "the stream did not open"

    def _run(self, url: str, params: dict[str, str]) -> None:
        timeout = httpx2.Timeout(READ_TIMEOUT, read=READ_TIMEOUT)
        try:
            with (
                httpx2.Client(timeout=timeout, trust_env=False) as http,
                http.stream("GET", url + "/_mock/events", params=params) as response,
            ):
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.connected.set()
                    elif line:
                        name, _, value = line.partition(":")
                        frame[name] = value.removeprefix(" ")
                    elif frame:
                        event_id = int(frame["id"]) if "id" in frame else None
                        self.frames.append((frame["event"], json.loads(frame["data"]), event_id))
                        frame = {}
                    if self._stop.is_set():
                        return
                self.clean_end = True  # the server ended the stream
        except BaseException as exc:  # anything else fails the test that reads it
            self.error = exc
        finally:
            self.connected.set()
            self.ended.set()

    def wait_for(self, done: Callable[[list[tuple[str, Any, int | None]]], bool]) -> None:
        deadline = time.monotonic() + 30.0
        while not done(self.frames):
            assert not self.ended.is_set(), f"stream ended: {self.error!r}"
            assert time.monotonic() < deadline, f"gave up; {len(self.frames)} frames"
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(READ_TIMEOUT + 1)


def publish_burst(live: LiveServer, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish `events` in one go on the server's loop: no reader can run in between, so
    every subscriber is as far behind as a client that stopped reading."""
    assert live.loop is not None
    done = threading.Event()

    def burst() -> None:
        for kind, data in events:
            live.runtime.events.publish(kind, data)
        done.set()

    live.loop.call_soon_threadsafe(burst)
    assert done.wait(30.0)


def test_defect_10_a_reader_that_falls_behind_is_told_how_many_it_missed(
    make_server: Callable[..., LiveServer],
) -> None:
    """defect 10: a stream that falls behind gets `event: missed` with the exact count,
    then the events still held, instead of a silent gap."""
    live = make_server()
    total = EVENT_BACKLOG + 2_500
    stream = Frames(live.url)
    try:
        publish_burst(live, [("probe", {"n": i}) for i in range(total)] + [("end", {})])
        stream.wait_for(lambda frames: bool(frames) and frames[-1][0] == "end")
        assert stream.frames[0] == ("missed", {"missed": total + 1 - EVENT_BACKLOG}, None)
        kept = stream.frames[1:]
        assert len(kept) == EVENT_BACKLOG
        assert [data["n"] for _, data, _ in kept[:-1]] == list(
            range(total + 1 - EVENT_BACKLOG, total)
        )
        ids = [event_id for _, _, event_id in kept]
        assert ids == list(range(ids[0], ids[0] + EVENT_BACKLOG))  # nothing else is missing
    finally:
        live.stop()  # ends the stream, so the reader thread stops at once
        stream.close()


def test_defect_10_a_project_stream_counts_only_its_own_missed_events(
    make_server: Callable[..., LiveServer],
) -> None:
    """defect 10: a stream filtered to one project reports the missed events that were
    its own (the project's and global ones), not the other projects'."""
    live = make_server()
    stream = Frames(live.url, {"projectId": "mine"})
    try:
        burst = [
            ("probe", {"projectId": "mine" if i % 2 else "theirs", "n": i}) for i in range(15_000)
        ]
        publish_burst(live, [*burst, ("end", {"projectId": "mine"})])
        stream.wait_for(lambda frames: bool(frames) and frames[-1][0] == "end")
        # The ring keeps the last EVENT_BACKLOG events: half of them (and the end) mine.
        mine_published = 7_500 + 1
        mine_kept = [f for f in stream.frames if f[0] != "missed"]
        assert stream.frames[0] == ("missed", {"missed": mine_published - len(mine_kept)}, None)
        assert len(mine_kept) == EVENT_BACKLOG // 2 + 1
        assert all(data["projectId"] == "mine" for _, data, _ in mine_kept)
    finally:
        live.stop()  # ends the stream, so the reader thread stops at once
        stream.close()


# -- defect 12: shutdown ---------------------------------------------------------------


@contextmanager
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`augnet-mock serve --port 0` from the source tree, until its banner is out."""
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGNET_MOCK_")}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    with out.open("wb") as out_fh, err.open("wb") as err_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "augnet_mock", "serve", "--port", "0"],
            stdout=out_fh,
            stderr=err_fh,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 20.0
        while not (match := BANNER.search(out.read_text(errors="replace"))):
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "no banner: " + err.read_text()
            time.sleep(0.02)
        yield proc, match.group(1), err
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10.0)


def test_defect_12_sigterm_with_open_streams_exits_0_at_once_without_tracebacks(
    tmp_path: Path,
) -> None:
    """defect 12: SIGTERM with a reading and a non-reading event stream open ends both,
    runs the lifespan shutdown and exits 0 within 2 s, with no traceback."""
    with serve(tmp_path) as (proc, url, stderr):
        reader = Frames(url)
        host, port = url.removeprefix("http://").split(":")
        stuck = socket.socket()  # asks for the stream, never reads
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect((host, int(port)))
        stuck.sendall(b"GET /_mock/events HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            with httpx2.Client(base_url=url, timeout=10.0, trust_env=False) as http:
                for _ in range(300):  # enough project events to back the stuck stream up
                    assert http.post("/_mock/projects", json={}).status_code == 201
            reader.wait_for(lambda frames: len(frames) >= 300)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(2.0) == 0, stderr.read_text()
        finally:
            stuck.close()
            reader.close()
        errors = stderr.read_text()
        assert "Traceback" not in errors, errors
        assert "timeout graceful shutdown exceeded" not in errors, errors
        assert "Application shutdown complete" in errors, errors
        assert reader.clean_end, f"the stream did not end cleanly: {reader.error!r}"


def test_defect_12_live_server_stops_with_an_open_stream_and_ends_it_cleanly(
    make_server: Callable[..., LiveServer],
) -> None:
    """defect 12: LiveServer.stop() with a stream open ends the stream as a complete
    response, instead of waiting out the graceful timeout and cutting it."""
    live = make_server()
    stream = Frames(live.url)
    live.stop()
    assert stream.ended.wait(READ_TIMEOUT)
    assert stream.clean_end, f"the stream was cut: {stream.error!r}"
    assert not live.runtime.events.active
