"""Unit tests for augnet_mock.pacing: the API-first lane that status callbacks go through."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from augnet_mock.pacing import BUSY_SENDS, LOOK_EVERY, ApiFirstLane

T = TypeVar("T")


def always_waiting() -> bool:
    return True  # a callback is always waiting


async def _with_sends(lane: ApiFirstLane, body: Callable[[], Awaitable[T]]) -> T:
    """Run `body` once the lane has seen sends arriving at 10 a millisecond, as under a
    saturating load, and while they keep arriving."""

    async def sends() -> None:
        while True:
            for _ in range(BUSY_SENDS * 2):  # a loop timer may fire only once a millisecond
                lane.api_request()
            await asyncio.sleep(0.0005)

    task = asyncio.get_running_loop().create_task(sends())
    try:
        await asyncio.sleep(LOOK_EVERY * 5)  # a look has seen them
        assert lane.busy
        return await body()
    finally:
        task.cancel()


async def _callback(lane: ApiFirstLane, name: str, log: list[str], ready_at: float) -> None:
    await lane.enter(ready_at)
    log.append(name)


def test_idle_lane_lets_every_callback_straight_on() -> None:
    """With no sends arriving, callbacks go on the wire at once, as many as there are."""

    async def scenario() -> int:
        lane = ApiFirstLane(always_waiting, narrow=1)
        lane.watch()
        now = asyncio.get_running_loop().time()
        for _ in range(20):
            await asyncio.wait_for(lane.enter(now), 1)
        lane.stop()
        return lane.on_wire

    assert asyncio.run(scenario()) == 20


def test_sends_narrow_the_lane_and_waiting_callbacks_go_in_order() -> None:
    """While sends pour in only `narrow` are on the wire; each leave lets in the next."""

    async def scenario() -> list[tuple[int, list[str]]]:
        lane = ApiFirstLane(always_waiting, narrow=2, max_hold=60)
        lane.watch()
        log: list[str] = []

        async def body() -> list[tuple[int, list[str]]]:
            now = asyncio.get_running_loop().time()
            tasks = [asyncio.create_task(_callback(lane, f"cb{i}", log, now)) for i in range(5)]
            seen = []
            for _ in range(3):
                await asyncio.sleep(LOOK_EVERY * 3)
                seen.append((lane.on_wire, list(log)))
                lane.leave()
            lane.stop()
            await asyncio.gather(*tasks)
            return seen

        return await _with_sends(lane, body)

    assert asyncio.run(scenario()) == [
        (2, ["cb0", "cb1"]),
        (2, ["cb0", "cb1", "cb2"]),
        (2, ["cb0", "cb1", "cb2", "cb3"]),
    ]


def test_a_light_load_keeps_the_lane_wide() -> None:
    """One send a millisecond is below BUSY_SENDS: callbacks keep going straight on."""

    async def scenario() -> tuple[bool, int]:
        lane = ApiFirstLane(always_waiting, narrow=1, max_hold=60)
        lane.watch()
        loop = asyncio.get_running_loop()
        for _ in range(10):
            lane.api_request()
            await asyncio.sleep(LOOK_EVERY)
        for _ in range(5):
            await asyncio.wait_for(lane.enter(loop.time()), 0.1)
        busy = lane.busy
        lane.stop()
        return busy, lane.on_wire

    assert asyncio.run(scenario()) == (False, 5)


def test_lane_widens_once_sends_stop() -> None:
    """At the first look with fewer than BUSY_SENDS new sends, every waiting callback goes."""

    async def scenario() -> tuple[int, int]:
        lane = ApiFirstLane(always_waiting, narrow=1, max_hold=60)
        lane.watch()
        log: list[str] = []
        now = asyncio.get_running_loop().time()

        async def body() -> list[asyncio.Task[None]]:
            tasks = [asyncio.create_task(_callback(lane, f"cb{i}", log, now)) for i in range(6)]
            await asyncio.sleep(LOOK_EVERY * 3)
            return tasks

        tasks = await _with_sends(lane, body)
        held = len(log)
        await asyncio.wait_for(asyncio.gather(*tasks), 1)
        lane.stop()
        return held, len(log)

    assert asyncio.run(scenario()) == (1, 6)


def test_a_callback_waits_at_most_max_hold() -> None:
    """Sends that never stop hold a callback back for `max_hold` seconds, then it goes."""

    async def scenario() -> float:
        lane = ApiFirstLane(always_waiting, narrow=1, max_hold=0.05)
        lane.watch()
        loop = asyncio.get_running_loop()

        async def body() -> float:
            await lane.enter(loop.time())  # takes the one place
            ready_at = loop.time()
            await asyncio.wait_for(lane.enter(ready_at), 1)
            return loop.time() - ready_at

        waited = await _with_sends(lane, body)
        lane.stop()
        return waited

    waited = asyncio.run(scenario())
    assert 0.05 <= waited < 0.5


def test_an_overdue_callback_goes_even_when_the_lane_is_full() -> None:
    """A callback ready for longer than `max_hold` does not queue behind the narrow lane."""

    async def scenario() -> int:
        lane = ApiFirstLane(always_waiting, narrow=1, max_hold=0.5)
        lane.watch()
        loop = asyncio.get_running_loop()

        async def body() -> int:
            await lane.enter(loop.time())  # takes the one place
            await asyncio.wait_for(lane.enter(loop.time() - 0.6), 0.1)
            return lane.on_wire

        on_wire = await _with_sends(lane, body)
        lane.stop()
        return on_wire

    assert asyncio.run(scenario()) == 2


def test_looking_stops_when_no_callback_waits() -> None:
    """The lane looks at the send rate only while the dispatcher has callbacks to send."""

    async def scenario() -> tuple[bool, bool]:
        pending = [True]
        lane = ApiFirstLane(lambda: pending[0])
        lane.watch()
        for _ in range(BUSY_SENDS):
            lane.api_request()
        await asyncio.sleep(LOOK_EVERY * 3)
        looking = lane.looking
        pending[0] = False
        await asyncio.sleep(LOOK_EVERY * 3)
        return looking, not lane.looking and not lane.busy

    assert asyncio.run(scenario()) == (True, True)


def test_stop_lets_every_waiting_callback_go() -> None:
    """A reset or shutdown never leaves a callback stuck in the lane."""

    async def scenario() -> int:
        lane = ApiFirstLane(always_waiting, narrow=1, max_hold=60)
        lane.watch()
        log: list[str] = []
        now = asyncio.get_running_loop().time()

        async def body() -> list[asyncio.Task[None]]:
            tasks = [asyncio.create_task(_callback(lane, f"cb{i}", log, now)) for i in range(4)]
            await asyncio.sleep(0)
            lane.stop()
            return tasks

        tasks = await _with_sends(lane, body)
        await asyncio.wait_for(asyncio.gather(*tasks), 1)
        return len(log)

    assert asyncio.run(scenario()) == 4
