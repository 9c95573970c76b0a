"""events.py: the shared ring, filtered reads and the missed-frame count."""

from __future__ import annotations

import asyncio

from augnet_mock.events import EventBus


def frames(chunk: bytes) -> list[str]:
    """The `event:` names in a chunk, in order."""
    return [line[7:] for line in chunk.decode().split("\n") if line.startswith("event: ")]


def test_nothing_is_kept_without_subscribers() -> None:
    """With no one listening, publishing does nothing at all."""
    bus = EventBus(backlog=4)
    bus.publish("message", {})
    assert not bus.active
    with bus.subscribe() as sub:
        assert bus.read(sub) == b""


def test_a_reader_gets_everything_in_one_chunk() -> None:
    """Events since the last read come back together, in order, each framed once."""
    bus = EventBus(backlog=8)
    with bus.subscribe() as a, bus.subscribe() as b:
        bus.publish("message", {"n": 1})
        bus.publish("status", {"n": 2})
        chunk = bus.read(a)
        assert frames(chunk) == ["message", "status"]
        assert bus.read(b) == chunk  # the same rendered frames
        assert bus.read(a) == b""


def test_a_reader_far_behind_is_told_what_it_missed() -> None:
    """Past the backlog, the next read opens with the exact number of events lost."""
    bus = EventBus(backlog=4)
    with bus.subscribe() as sub:
        for n in range(10):
            bus.publish("message", {"n": n})
        chunk = bus.read(sub)
        assert frames(chunk) == ["missed"] + ["message"] * 4
        assert b'data: {"missed":6}' in chunk
        assert b'"n":6' in chunk
        bus.publish("message", {"n": 10})
        assert frames(bus.read(sub)) == ["message"]  # caught up: no gap now


def test_a_project_reader_counts_only_its_own_losses() -> None:
    """A filtered reader gets its project's and global events, and counts only those."""
    bus = EventBus(backlog=4)
    with bus.subscribe("p") as sub:
        for n in range(6):
            bus.publish("message", {"projectId": "p" if n % 2 else "q", "n": n})
        bus.publish("reset", {})
        # The ring holds n=3, 4, 5 and the reset: p's n=3, n=5 and the reset reach it.
        chunk = bus.read(sub)
        assert frames(chunk) == ["missed", "message", "message", "reset"]
        assert b'{"missed":1}' in chunk  # p's n=1
        assert b'"projectId":"q"' not in chunk


def test_close_wakes_waiting_readers() -> None:
    """close() ends every wait at once, so streams stop at shutdown."""

    async def scenario() -> tuple[bool, bool]:
        bus = EventBus()
        with bus.subscribe():
            waiting = asyncio.ensure_future(bus.wait(30.0))
            await asyncio.sleep(0)
            bus.close()
            woke = await asyncio.wait_for(waiting, 5.0)
        return woke, bus.closed

    assert asyncio.run(scenario()) == (True, True)


def test_wait_times_out_quietly() -> None:
    """With nothing published, wait() returns False after its time (a keepalive is due)."""

    async def scenario() -> bool:
        bus = EventBus()
        with bus.subscribe():
            return await bus.wait(0.01)

    assert asyncio.run(scenario()) is False


def test_a_reader_behind_catches_up_in_bounded_chunks() -> None:
    """A read hands over at most `limit` frames; the next read goes on from there."""
    bus = EventBus(backlog=100)
    with bus.subscribe() as sub:
        for n in range(10):
            bus.publish("message", {"n": n})
        chunks = [bus.read(sub, limit=4) for _ in range(4)]
    assert [len(frames(c)) for c in chunks] == [4, 4, 2, 0]
    assert b'"n":4' in chunks[1]
