"""Unit tests for augnet_mock.clock: ManualClock ordering, bounds and settle; RealClock; aclose."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from augnet_mock.clock import ClockError, ManualClock, RealClock, iso, make_clock

START = 1_700_000_000.0


def test_iso_is_utc_with_milliseconds() -> None:
    """Timestamps render as ISO-8601 UTC with milliseconds and a Z."""
    assert iso(START + 0.25) == "2023-11-14T22:13:20.250Z"
    assert datetime.fromisoformat(iso(START)) == datetime.fromtimestamp(START, UTC)


def test_make_clock_picks_the_mode() -> None:
    """make_clock returns the clock class matching the mode."""
    assert isinstance(make_clock("manual"), ManualClock)
    assert isinstance(make_clock("real"), RealClock)


def test_manual_runs_due_jobs_in_due_order() -> None:
    """Jobs run in due order (ties in scheduling order), each at its due time."""

    async def scenario() -> list[tuple[str, float]]:
        clock = ManualClock(start=START)
        ran: list[tuple[str, float]] = []

        def job(name: str) -> None:
            ran.append((name, clock.now()))

        clock.schedule(3, job, "c")
        clock.schedule(1, job, "a")
        clock.schedule(2, job, "b1")
        clock.schedule(2, job, "b2")
        clock.schedule(10, job, "late")
        assert await clock.advance(5) == 4
        assert clock.now() == START + 5
        return ran

    assert asyncio.run(scenario()) == [
        ("a", START + 1),
        ("b1", START + 2),
        ("b2", START + 2),
        ("c", START + 3),
    ]


def test_manual_holds_jobs_until_advanced() -> None:
    """Nothing runs before advance; advance(0) runs zero-delay jobs; pending counts what waits."""

    async def scenario() -> None:
        clock = ManualClock(start=START)
        ran: list[str] = []

        def job() -> None:
            ran.append("x")

        clock.schedule(0, job)
        clock.schedule(1, job)
        await asyncio.sleep(0)
        assert ran == []
        assert clock.pending == 2
        assert await clock.advance(0) == 1
        assert ran == ["x"]
        assert clock.pending == 1
        assert clock.now() == START
        assert await clock.advance(0.999) == 0
        assert clock.pending == 1
        assert await clock.advance(0.001) == 1
        assert clock.pending == 0
        assert ran == ["x", "x"]

    asyncio.run(scenario())


def test_manual_job_scheduled_inside_window_runs_if_due() -> None:
    """A job scheduled by a running job runs in the same advance when due within the window."""

    async def scenario() -> list[tuple[str, float]]:
        clock = ManualClock(start=START)
        ran: list[tuple[str, float]] = []

        def third() -> None:
            ran.append(("third", clock.now()))

        def second() -> None:
            ran.append(("second", clock.now()))
            clock.schedule(4, third)  # due at +6: beyond a 5 s window

        def first() -> None:
            ran.append(("first", clock.now()))
            clock.schedule(1, second)  # due at +2: inside the window

        clock.schedule(1, first)
        assert await clock.advance(5) == 2
        assert clock.pending == 1
        assert await clock.advance(1) == 1
        return ran

    assert asyncio.run(scenario()) == [
        ("first", START + 1),
        ("second", START + 2),
        ("third", START + 6),
    ]


def test_manual_advance_awaits_settle_after_each_job() -> None:
    """advance awaits `settle` after every job, before the next one runs."""

    async def scenario() -> list[str]:
        clock = ManualClock(start=START)
        log: list[str] = []
        queued: list[str] = []  # work a job hands off, as the lifecycle does to the dispatcher

        async def settle() -> None:
            for _ in range(3):
                await asyncio.sleep(0)
            log.extend(f"settled {name}" for name in queued)
            queued.clear()

        def job(name: str) -> None:
            log.append(f"ran {name}")
            queued.append(name)

        clock.settle = settle
        clock.schedule(1, job, "a")
        clock.schedule(2, job, "b")
        assert await clock.advance(2) == 2
        return log

    assert asyncio.run(scenario()) == ["ran a", "settled a", "ran b", "settled b"]


def test_manual_negative_advance_is_an_error() -> None:
    """The clock cannot go backwards; time and the queue are unchanged."""

    async def scenario() -> None:
        clock = ManualClock(start=START)

        clock.schedule(0, print)
        with pytest.raises(ClockError):
            await clock.advance(-1)
        assert clock.now() == START
        assert clock.pending == 1

    asyncio.run(scenario())


def test_manual_failing_job_does_not_stop_the_others() -> None:
    """A job that raises is reported to on_error and the later jobs still run."""

    async def scenario() -> tuple[list[BaseException], list[str]]:
        errors: list[BaseException] = []
        clock = ManualClock(start=START, on_error=errors.append)
        ran: list[str] = []

        def boom() -> None:
            raise ValueError("boom")

        def fine() -> None:
            ran.append("fine")

        clock.schedule(1, boom)
        clock.schedule(2, fine)
        assert await clock.advance(2) == 2
        return errors, ran

    errors, ran = asyncio.run(scenario())
    assert [str(e) for e in errors] == ["boom"]
    assert ran == ["fine"]


def test_manual_aclose_drops_pending_jobs() -> None:
    """aclose empties the queue, so a later advance runs nothing."""

    async def scenario() -> None:
        clock = ManualClock(start=START)

        def job() -> None:
            raise AssertionError("should not run")

        clock.schedule(1, job)
        await clock.aclose()
        assert clock.pending == 0
        assert await clock.advance(5) == 0

    asyncio.run(scenario())


def test_real_clock_runs_a_job() -> None:
    """A scheduled job runs on the event loop when due, with its arguments, in due order."""

    async def scenario() -> None:
        clock = RealClock()
        fired = asyncio.Event()
        ran: list[str] = []

        def job(name: str) -> None:
            ran.append(name)
            if len(ran) == 2:
                fired.set()

        clock.schedule(0.02, job, "second")
        clock.schedule(0.01, job, "first")
        assert clock.pending == 2
        await asyncio.wait_for(fired.wait(), 2.0)
        assert ran == ["first", "second"]
        assert clock.pending == 0
        await clock.aclose()

    asyncio.run(scenario())


def test_real_clock_cannot_be_advanced() -> None:
    """advance on a real clock raises ClockError."""

    async def scenario() -> None:
        with pytest.raises(ClockError):
            await RealClock().advance(1)

    asyncio.run(scenario())


def test_real_clock_aclose_cancels_what_has_not_fired() -> None:
    """aclose drops the jobs still waiting; they never run."""

    async def scenario() -> None:
        clock = RealClock()
        ran: list[str] = []
        clock.schedule(0.05, ran.append, "later")
        await clock.aclose()
        assert clock.pending == 0
        await asyncio.sleep(0.1)
        assert ran == []

    asyncio.run(scenario())


class Step(NamedTuple):
    sid: str
    delay: float
    faults: tuple[str, ...] = ()


def test_manual_hands_a_record_back_whole_and_keeps_it_flat_while_pending() -> None:
    """A job scheduled with a record gets it back as the same NamedTuple; it waits flat."""

    async def scenario() -> None:
        clock = ManualClock(start=START)
        got: list[tuple[str, Step]] = []
        plain: list[tuple[str, ...]] = []

        def job(status: str, step: Step) -> None:
            got.append((status, step))

        clock.schedule(1, job, "sent", record=Step("s1", 0.5))
        clock.schedule(2, job, "delivered", record=Step("s2", 1.5, ("drop",)))
        clock.schedule(3, plain.append, ("x",))  # the same clock also runs plain jobs
        pending = list(clock._queue)  # the layout is the clock's own business: check it
        assert not any(isinstance(field, Step) for entry in pending for field in entry)
        gc.collect()
        assert not gc.is_tracked(min(pending))  # plain values only: the collector skips it
        await clock.advance(5)
        assert got == [("sent", Step("s1", 0.5)), ("delivered", Step("s2", 1.5, ("drop",)))]
        assert all(type(step) is Step for _, step in got)
        assert plain == [("x",)]

    asyncio.run(scenario())
