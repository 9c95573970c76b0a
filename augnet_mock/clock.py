"""The mock's only source of time, and the scheduler for everything that waits.

`RealClock` runs jobs on the event loop when they fall due. `ManualClock` holds
them until `advance()` is called, then runs each due job in due order; after each
it awaits `settle` (the dispatcher's: the callbacks that job queued have been
attempted), so a test that advances the clock knows the work of that window is done.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

# A job is a plain function and its arguments: passing arguments, rather than a
# closure over them, keeps each pending job down to one heap tuple, and under load
# thousands are pending. Jobs do quick bookkeeping; anything that waits (a webhook
# POST) is handed to its owner (the dispatcher), which `settle` waits for.
Job = Callable[..., None]
# (due, seq, job number, *args, *record fields): flat, and the job by number, because
# the garbage collector untracks a tuple of plain values at its first young collection,
# while a callable or a nested tuple inside keeps it tracked (and scanned) while pending.
# That layout is this module's alone: a job scheduled with a `record` (a NamedTuple)
# gets the record back whole, rebuilt here from its spread-out fields.
Entry = tuple[Any, ...]
Record = tuple[Any, ...]  # a NamedTuple instance: its class has `_make`
# How to call job number n: the job, how many plain arguments lead, and the record's
# `_make` (None: no record).
JobCall = tuple[Job, int, Callable[[Any], Record] | None]
Settle = Callable[[], Awaitable[None]]
ErrorHook = Callable[[BaseException], None]
ClockMode = Literal["real", "manual"]

log = logging.getLogger("augnet_mock.clock")

# A job may schedule follow-ups inside the same window; this bounds one advance so
# a job that reschedules itself at zero delay cannot spin forever.
MAX_JOBS_PER_ADVANCE = 100_000

# The real clock wakes at most once per this many seconds: under load every message
# has its own due times, and one loop timer per job costs more than the job itself.
# Jobs therefore run up to a millisecond late, which is immaterial beside the
# lifecycle's delays (200 ms and 500 ms by default).
REAL_CLOCK_GRANULARITY = 0.001


def iso(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds, the timestamp format of every record."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class ClockError(RuntimeError):
    """The clock cannot do that in its mode."""


class Clock:
    """What every clock offers. Subclasses decide when jobs run."""

    mode: ClockMode

    def __init__(self, on_error: ErrorHook | None = None) -> None:
        self._on_error = on_error
        # What `ManualClock.advance` awaits after each job; the runtime wires it.
        self.settle: Settle | None = None
        self._seq = itertools.count()
        # Jobs are a handful of bound methods (the lifecycle's, the dispatcher's),
        # numbered on first use with each call shape (argument count, record type).
        self._jobs: list[JobCall] = []
        self._job_numbers: dict[tuple[Job, int, type | None], int] = {}

    def now(self) -> float:
        raise NotImplementedError

    def now_iso(self) -> str:
        return iso(self.now())

    def schedule(self, delay: float, job: Job, *args: Any, record: Record | None = None) -> None:
        """Run `job(*args)`, or `job(*args, record)`, once `delay` seconds of this clock
        have passed. A `record` (a NamedTuple) waits spread out in the flat entry and is
        rebuilt before the call, so the caller never sees the layout."""
        raise NotImplementedError

    @property
    def pending(self) -> int:
        raise NotImplementedError

    async def advance(self, seconds: float) -> int:
        raise ClockError("the clock is real; only a manual clock can be advanced")

    async def aclose(self) -> None:
        """Drop whatever is still scheduled."""

    def _entry(self, due: float, job: Job, args: tuple[Any, ...], record: Record | None) -> Entry:
        kind = None if record is None else type(record)
        key = (job, len(args), kind)
        number = self._job_numbers.get(key)
        if number is None:
            number = self._job_numbers[key] = len(self._jobs)
            make = None if kind is None else kind._make  # type: ignore[attr-defined]  # NamedTuple
            self._jobs.append((job, len(args), make))
        if record is None:
            return (due, next(self._seq), number, *args)
        return (due, next(self._seq), number, *args, *record)

    def _run(self, entry: Entry) -> None:
        try:
            job, lead, make = self._jobs[entry[2]]
            if make is None:
                job(*entry[3:])
            else:
                job(*entry[3 : 3 + lead], make(entry[3 + lead :]))
        except Exception as exc:  # a failed job must not stop the others
            log.error("scheduled job failed", exc_info=exc)
            if self._on_error:
                self._on_error(exc)


class RealClock(Clock):
    mode: ClockMode = "real"

    def __init__(self, on_error: ErrorHook | None = None) -> None:
        super().__init__(on_error)
        # One loop timer for the earliest job; the rest wait in a heap (loop time).
        self._queue: list[Entry] = []
        # uvloop hands back a plain Handle for a due-now call_at, so keep the time here.
        self._timer: asyncio.Handle | None = None
        self._timer_due = 0.0

    def now(self) -> float:
        return time.time()

    def schedule(self, delay: float, job: Job, *args: Any, record: Record | None = None) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + max(0.0, delay)
        heapq.heappush(self._queue, self._entry(due, job, args, record))
        if self._timer is None or due + REAL_CLOCK_GRANULARITY < self._timer_due:
            self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._queue:
            due = self._queue[0][0] + REAL_CLOCK_GRANULARITY
            self._timer = loop.call_at(due, self._fire, loop, due)
            self._timer_due = due
        else:
            self._timer = None

    def _fire(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self._timer = None
        # A loop may fire a timer up to its clock resolution early; the job is due.
        now = max(loop.time(), due)
        while self._queue and self._queue[0][0] <= now:
            self._run(heapq.heappop(self._queue))  # in due order
        self._arm(loop)

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()


class ManualClock(Clock):
    mode: ClockMode = "manual"

    def __init__(self, start: float | None = None, on_error: ErrorHook | None = None) -> None:
        super().__init__(on_error)
        self._now = time.time() if start is None else start
        self._queue: list[Entry] = []
        self._advancing = asyncio.Lock()

    def now(self) -> float:
        return self._now

    def schedule(self, delay: float, job: Job, *args: Any, record: Record | None = None) -> None:
        due = self._now + max(0.0, delay)
        heapq.heappush(self._queue, self._entry(due, job, args, record))

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def advance(self, seconds: float) -> int:
        """Move time forward, running every job that falls due, in due order."""
        if seconds < 0:
            raise ClockError("the clock cannot go backwards")
        async with self._advancing:
            target = self._now + seconds
            ran = 0
            while self._queue and self._queue[0][0] <= target and ran < MAX_JOBS_PER_ADVANCE:
                entry = heapq.heappop(self._queue)
                self._now = max(self._now, entry[0])
                self._run(entry)
                if self.settle is not None:
                    await self.settle()
                ran += 1
            self._now = max(self._now, target)
            return ran

    async def aclose(self) -> None:
        self._queue.clear()


def make_clock(mode: ClockMode, on_error: ErrorHook | None = None) -> Clock:
    return ManualClock(on_error=on_error) if mode == "manual" else RealClock(on_error)
