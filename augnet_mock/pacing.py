"""API first: while sends pour in, status callbacks go one at a time.

One event loop on one core serves the send API and posts the webhooks, and a
callback costs more CPU than the send that caused it (bench/callbacks.py prints
both). With every ready callback on the wire at once, sends would get about a
quarter of the loop whenever callbacks flow. So while sends arrive faster than a
light load's rate (`BUSY_SENDS` a millisecond), callbacks go through a narrow
lane (`NARROW` on the wire at once) and the API keeps most of the loop; at the
first look below that rate the lane is wide again. A callback whose status
changed `max_hold` seconds ago goes regardless: a saturating load that lasts
longer than that shares the loop with its callbacks again, so the API slows down
and the callbacks fall behind no faster than an even share makes them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

LOOK_EVERY = 0.001  # seconds between looks at the send rate while callbacks wait
# Sends per look that narrow the lane: 3 a millisecond is more than a light load,
# and a saturated loop here serves 5 to 9 (bench/send_throughput.py).
BUSY_SENDS = 3
NARROW = 1  # callbacks on the wire at once while sends keep arriving
MAX_HOLD = 2.0  # seconds a callback may wait for the narrow lane, at most


class ApiFirstLane:
    """Counts sends; lets callbacks onto the wire, `narrow` at a time while sends pour in.

    `active` says whether any callback is waiting or on the wire: the lane looks at
    the send rate only then, so an idle server has no timer running.
    """

    def __init__(
        self, active: Callable[[], bool], *, narrow: int = NARROW, max_hold: float = MAX_HOLD
    ) -> None:
        self._active = active
        self.narrow = narrow
        self.max_hold = max_hold
        self.requests = 0  # sends seen so far; the send route counts them
        self.busy = False  # BUSY_SENDS or more sends arrived between the last two looks
        self.on_wire = 0
        self._seen = 0  # `requests` at the last look
        # Callbacks waiting for the lane, in arrival order: (loop time of the status change,
        # future); that time is what `max_hold` counts from.
        self._waiting: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def api_request(self) -> None:
        self.requests += 1

    @property
    def looking(self) -> bool:
        return self._timer is not None

    def watch(self) -> None:
        """Look at the send rate every LOOK_EVERY until `active()` is false."""
        if self._timer is None:
            self._seen = self.requests
            self._timer = asyncio.get_running_loop().call_later(LOOK_EVERY, self._look)

    async def enter(self, ready_at: float) -> None:
        """Wait for a place on the wire for a callback whose status changed at `ready_at`
        (loop time): its age counts from then, not from when its turn came."""
        loop = asyncio.get_running_loop()
        room = not self._waiting and (not self.busy or self.on_wire < self.narrow)
        if room or ready_at <= loop.time() - self.max_hold:  # overdue: goes regardless
            self.on_wire += 1
            return
        future = loop.create_future()
        self._waiting.append((ready_at, future))
        await future  # `_let_in` counted it on the wire

    def leave(self) -> None:
        self.on_wire -= 1
        if self._waiting and (not self.busy or self.on_wire < self.narrow):
            self._let_in()

    def _let_in(self) -> None:
        _, future = self._waiting.popleft()
        if not future.done():  # a cancelled worker's place goes to nobody
            self.on_wire += 1
            future.set_result(None)

    def _look(self) -> None:
        loop = asyncio.get_running_loop()
        self.busy, self._seen = self.requests - self._seen >= BUSY_SENDS, self.requests
        overdue = loop.time() - self.max_hold
        while self._waiting and (not self.busy or self._waiting[0][0] <= overdue):
            self._let_in()
        if self._active():
            self._timer = loop.call_later(LOOK_EVERY, self._look)
        else:
            self._timer = None
            self.busy = False

    def stop(self) -> None:
        """Stop looking and let every waiting callback go (reset, shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.busy = False
        while self._waiting:
            self._let_in()
