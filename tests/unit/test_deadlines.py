"""BodyDeadlines: one timer for every body read, and cancellations it does not own left alone."""

from __future__ import annotations

import asyncio

import pytest

from augnet_mock.deadlines import BodyDeadlines


async def _read(deadlines: BodyDeadlines, wait: float) -> str:
    """A stand-in for read_body: wait `wait` seconds under the deadline."""
    task, cancelling = deadlines.start()
    try:
        await asyncio.sleep(wait)
    except asyncio.CancelledError:
        if not deadlines.timed_out(task, cancelling):
            raise
        return "timed out"
    finally:
        deadlines.stop(task)
    return "read"


def test_late_reads_time_out_and_prompt_ones_do_not() -> None:
    """Reads slower than the allowance time out; faster ones, started alongside, finish."""

    async def main() -> list[str]:
        deadlines = BodyDeadlines(0.05)
        return list(
            await asyncio.gather(
                _read(deadlines, 0.0), _read(deadlines, 1.0), _read(deadlines, 0.01)
            )
        )

    assert asyncio.run(main()) == ["read", "timed out", "read"]


def test_each_read_gets_its_own_full_allowance() -> None:
    """A read that starts after earlier ones ended is measured from its own start."""

    async def main() -> list[str]:
        deadlines = BodyDeadlines(0.1)
        first = await _read(deadlines, 0.0)
        await asyncio.sleep(0.07)
        # Started 0.07 s after the first: it would be cut short if timed from the first.
        second = await _read(deadlines, 0.06)
        third = await _read(deadlines, 0.3)
        return [first, second, third]

    assert asyncio.run(main()) == ["read", "read", "timed out"]


def test_outside_cancellation_is_not_mistaken_for_a_timeout() -> None:
    """A task cancelled by someone else (shutdown, a disconnect) stays cancelled."""

    async def main() -> None:
        deadlines = BodyDeadlines(10.0)
        task = asyncio.create_task(_read(deadlines, 5.0))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
