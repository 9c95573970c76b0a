"""Deadlines for reading request bodies: one timer serves every read in flight.

`asyncio.timeout()` arms and cancels a timer for each request, a few microseconds a
time: a measurable share of the send route. Every body gets the same allowance, so
deadlines fall due in the order the reads began; one timer, set for the oldest read
still in flight, serves them all, and a read costs a dict entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

Task = asyncio.Task[Any]


class BodyDeadlines:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._reads: dict[Task, float] = {}  # insertion order is deadline order
        self._expired: set[Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> tuple[Task, int]:
        """Start the current task's allowance; returns what `stop` and `timed_out` take."""
        task = asyncio.current_task()
        assert task is not None, "a body is read inside a task"
        loop = task.get_loop()
        if loop is not self._loop:  # a new loop (an app served again): the old timer is moot
            self._loop, self._timer = loop, None
            self._reads.clear()
            self._expired.clear()
        deadline = loop.time() + self.timeout
        self._reads[task] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        return task, task.cancelling()

    def stop(self, task: Task) -> None:
        """The read ended (done or failed): its deadline no longer applies."""
        self._reads.pop(task, None)

    def timed_out(self, task: Task, cancelling: int) -> bool:
        """Whether a CancelledError in `task` is this deadline's, and only its; if so, the
        cancellation is withdrawn so the task can answer 408 (as asyncio.timeout does)."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() <= cancelling

    def _expire(self) -> None:
        assert self._loop is not None
        self._timer = None
        now = self._loop.time()
        for task, deadline in list(self._reads.items()):
            if deadline > now:
                self._timer = self._loop.call_at(deadline, self._expire)
                return
            del self._reads[task]
            self._expired.add(task)
            task.cancel()
