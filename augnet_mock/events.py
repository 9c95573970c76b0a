"""A fan-out of everything that happens, for `GET /_mock/events` (SSE) and waiters.

Events go into one shared ring of the last `backlog` events; each subscriber only
remembers how far it has read. Publishing therefore costs the same with 0 or 200
subscribers, and a subscriber that stops reading costs nothing at all: it is never
touched until it reads again. Each event's SSE frame is rendered once, by the first
reader that needs it, and shared by the rest.

A reader that falls more than `backlog` events behind has lost the oldest of them.
It is told so, never left to guess: its next read starts with an `event: missed`
frame, `{"missed": N}`, N being the events for it (its project's and the global
ones) that it will never get, then goes on with the oldest event still held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

# Events held for readers that are behind: about 300 bytes each once rendered, so
# some 3 MB. At a few thousand events a second that is a second or more of slack
# for a reader before it misses any.
EVENT_BACKLOG = 10_000
# Frames one read hands a stream: a reader far behind catches up in writes of about
# 150 KB instead of one of 3 MB, so no single write holds the event loop for long,
# and together with the streams' write pacing (control.py) this bounds the bytes
# event streams can take from the API.
READ_LIMIT = 500


class Subscription:
    """One reader's place in the stream, and what it listens to."""

    __slots__ = ("matched", "next_id", "project_id")

    def __init__(self, project_id: str | None, next_id: int, matched: int) -> None:
        self.project_id = project_id  # None: every event
        self.next_id = next_id  # the first event id it has not read
        self.matched = matched  # events for it published before next_id


Render = Callable[[], dict[str, Any]]


class _Entry:
    """One published event; its data and frame are built on first read, if ever."""

    __slots__ = ("data", "frame", "id", "kind", "project_id")

    def __init__(
        self, event_id: int, kind: str, project_id: str | None, data: dict[str, Any] | Render
    ) -> None:
        self.id = event_id
        self.kind = kind
        self.project_id = project_id
        self.data = data
        self.frame: bytes | None = None

    def render(self) -> bytes:
        if self.frame is None:
            data = self.data if isinstance(self.data, dict) else self.data()
            self.frame = sse_frame(self.id, self.kind, data)
            self.data = {}  # the frame is all that is needed from now on
        return self.frame


class EventBus:
    def __init__(self, backlog: int = EVENT_BACKLOG) -> None:
        self.backlog = backlog
        self._ring: list[_Entry | None] = [None] * backlog  # event id % backlog
        self._last = 0  # the newest event's id; ids start at 1
        self._global = 0  # events published with no projectId (every reader's)
        # Per watched project: [events published for it, subscriptions filtering on it].
        # Only projects someone filters on are counted, so the dict stays small.
        self._watched: dict[str, list[int]] = {}
        self._subscribers = 0
        self._waker: asyncio.Future[None] | None = None
        self._closed = False
        self._idle: asyncio.Event | None = None  # set when the last subscriber leaves

    @property
    def active(self) -> bool:
        """Whether anyone listens; lets hot paths skip building an event."""
        return self._subscribers > 0

    @property
    def subscribers(self) -> int:
        return self._subscribers

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Add an event for every subscriber (`data["projectId"]` says whose). Must be
        called on the event loop.

        O(1) whatever the number of subscribers: one slot of the ring, two counters,
        and waking the readers that wait (once for all of them).
        """
        self.publish_later(kind, data.get("projectId"), data)

    def publish_later(
        self, kind: str, project_id: str | None, data: dict[str, Any] | Render
    ) -> None:
        """`publish`, with the data built only when a reader first needs it: a
        subscriber that never reads then costs the send path nothing. `data` must
        render the same whenever it is called (build it from an immutable snapshot)."""
        if not self._subscribers or self._closed:
            return
        self._last += 1
        self._ring[self._last % self.backlog] = _Entry(self._last, kind, project_id, data)
        if project_id is None:
            self._global += 1
        else:
            watched = self._watched.get(project_id)
            if watched is not None:
                watched[0] += 1
        self._wake()

    def _wake(self) -> None:
        waker, self._waker = self._waker, None
        if waker is not None and not waker.done():
            waker.set_result(None)

    def _published_for(self, project_id: str | None) -> int:
        """Events published so far that a subscriber to `project_id` gets."""
        if project_id is None:
            return self._last
        return self._global + self._watched[project_id][0]

    @contextlib.contextmanager
    def subscribe(self, project_id: str | None = None) -> Iterator[Subscription]:
        """A place at the end of the stream; events from now on are for it."""
        if project_id is not None:
            self._watched.setdefault(project_id, [0, 0])[1] += 1
        self._subscribers += 1
        try:
            yield Subscription(project_id, self._last + 1, self._published_for(project_id))
        finally:
            self._subscribers -= 1
            if not self._subscribers and self._idle is not None:
                self._idle.set()
            if project_id is not None:
                watched = self._watched[project_id]
                watched[1] -= 1
                if watched[1] == 0:
                    del self._watched[project_id]

    def read(self, sub: Subscription, limit: int = READ_LIMIT) -> bytes:
        """The frames for `sub` since its last read, up to `limit`, in one chunk (b"" if
        none): a `missed` frame first when it fell so far behind that the ring moved on."""
        last = self._last
        if sub.next_id > last:
            return b""
        frames: list[bytes] = []
        oldest = max(1, last - self.backlog + 1)
        if sub.next_id < oldest:  # events it never read were overwritten
            held = (
                last - oldest + 1  # every held event is for an unfiltered reader
                if sub.project_id is None
                else sum(1 for _ in self._entries_for(sub, oldest, last))
            )
            missed = self._published_for(sub.project_id) - sub.matched - held
            frames.append(missed_frame(missed))
            sub.matched += missed
            sub.next_id = oldest
        for entry in self._entries_for(sub, sub.next_id, last):
            if len(frames) >= limit:
                break
            frames.append(entry.render())
            sub.matched += 1
            sub.next_id = entry.id + 1
        else:
            sub.next_id = last + 1  # everything up to `last` was read or was not for it
        return b"".join(frames)

    def _entries_for(self, sub: Subscription, first: int, last: int) -> Iterator[_Entry]:
        """The held events with ids first..last that `sub` listens to."""
        ring, backlog, project_id = self._ring, self.backlog, sub.project_id
        for event_id in range(first, last + 1):
            entry = ring[event_id % backlog]
            assert entry is not None  # ids run on without gaps: the slot holds event_id
            if project_id is None or entry.project_id in (None, project_id):
                yield entry

    async def wait(self, seconds: float) -> bool:
        """Until anything is published or the bus closes (True), or `seconds` (False)."""
        if self._closed:
            return True
        if self._waker is None:
            self._waker = asyncio.get_running_loop().create_future()
        # asyncio.wait leaves the shared future alone on timeout (wait_for would cancel
        # it, and with it every other reader's wait).
        done, _ = await asyncio.wait((self._waker,), timeout=seconds)
        return bool(done)

    async def drained(self, seconds: float) -> bool:
        """After close(): until every stream has ended (True), or `seconds` (False)."""
        if self._subscribers:
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._idle.wait()
        return not self._subscribers

    def close(self) -> None:
        """End every open stream (server shutdown): readers see `closed` and stop."""
        self._closed = True
        self._wake()


def sse_frame(event_id: int, kind: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Events frame (WHATWG HTML §9.2)."""
    payload = json.dumps(data, separators=(",", ":"))
    return f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n".encode()


def missed_frame(count: int) -> bytes:
    """The frame that owns up to a gap: no id, so a client's Last-Event-ID stays put."""
    return f'event: missed\ndata: {{"missed":{count}}}\n\n'.encode()
