"""A fan-out of everything that happens, for `GET /_mock/events` (SSE) and waiters.

Each subscriber gets its own bounded queue; a subscriber that stops reading loses
its oldest events rather than growing memory or slowing the publisher down.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

SUBSCRIBER_BACKLOG = 1_000


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._ids = itertools.count(1)

    @property
    def active(self) -> bool:
        """Whether anyone listens; lets hot paths skip building an event."""
        return bool(self._subscribers)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Queue an event for every subscriber. Must be called on the event loop."""
        if not self._subscribers:
            return
        event = {"id": next(self._ids), "type": kind, "data": data}
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        """End every open stream (server shutdown)."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)


def sse_frame(event: dict[str, Any]) -> bytes:
    """One Server-Sent Events frame (WHATWG HTML §9.2)."""
    payload = json.dumps(event["data"], separators=(",", ":"))
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {payload}\n\n".encode()
