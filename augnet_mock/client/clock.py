"""Clock control through the control API (SPEC §2.3): read the mock's clock and, in
manual mode, move it on. `AsyncClockControl` is the same for async tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .control import AsyncControlClient, AugnetError, ControlClient

REAL_CLOCK_HINT = (
    "The server's clock is real. Start it with clock='manual' "
    "(in pytest: @pytest.mark.augnet(clock='manual'))."
)


def _explained(exc: AugnetError) -> AugnetError:
    """A refused advance, with how to get a manual clock when the clock is real."""
    if "real" in str(exc):
        return AugnetError(f"{exc}\n{REAL_CLOCK_HINT}")
    return exc


class ClockControl:
    """The server's clock: read it, and in manual mode move it on."""

    def __init__(self, control: ControlClient, after_advance: Callable[[], None]) -> None:
        self._control = control
        self._after_advance = after_advance  # raises what failed in the jobs that ran

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = self._control.call("GET", "/_mock/clock")
        return data

    @property
    def mode(self) -> str:
        """ "real" or "manual"."""
        mode: str = self._read()["mode"]
        return mode

    def now(self) -> float:
        """The mock's time, epoch seconds."""
        return float(self._read()["epoch"])

    @property
    def pending(self) -> int:
        """Jobs waiting on the clock (sends, deliveries, callback retries)."""
        return int(self._read()["pending"])

    def advance(self, seconds: float) -> int:
        """Move a manual clock on, running every job that falls due; returns how many ran.

        When it returns, that work is done: statuses are recorded, callbacks posted.
        Callbacks to a receiver on this thread's event loop cannot be answered while
        this blocks: an async test awaits `augnet.aio.clock.advance()` instead.
        """
        __tracebackhide__ = True
        try:
            data = self._control.call("POST", "/_mock/clock/advance", json={"seconds": seconds})
        except AugnetError as exc:
            raise _explained(exc) from None
        self._after_advance()
        return int(data["ran"])


class AsyncClockControl:
    """The awaitable twin of `ClockControl`."""

    def __init__(self, control: AsyncControlClient, after_advance: Callable[[], None]) -> None:
        self._control = control
        self._after_advance = after_advance

    async def read(self) -> dict[str, Any]:
        """The clock's JSON: `mode`, `epoch`, `pending`..."""
        data: dict[str, Any] = await self._control.call("GET", "/_mock/clock")
        return data

    async def now(self) -> float:
        """The mock's time, epoch seconds."""
        return float((await self.read())["epoch"])

    async def advance(self, seconds: float) -> int:
        """Move a manual clock on, running every job that falls due; returns how many ran."""
        __tracebackhide__ = True
        try:
            data = await self._control.call(
                "POST", "/_mock/clock/advance", json={"seconds": seconds}
            )
        except AugnetError as exc:
            raise _explained(exc) from None
        self._after_advance()
        return int(data["ran"])
