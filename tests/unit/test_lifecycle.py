"""A message's progression on a manual clock: each step when its delay has passed."""

from __future__ import annotations

import asyncio

import pytest

from augnet_mock.lifecycle import Plan
from augnet_mock.models import Message
from augnet_mock.runtime import Runtime
from augnet_mock.settings import Settings

START = 1_700_000_000.0


def stored(rt: Runtime, sid: str) -> Message:
    rt.store.add_message(
        Message(sid, "p", "+447515650839", "+441743581416", None, "hi", "GSM-7", 1, None, START)
    )
    view = rt.store.view(sid)
    assert view is not None
    return view


def timeline(rt: Runtime, sid: str) -> list[str]:
    message = rt.store.message(sid)
    assert message is not None
    return [step["status"] for step in message["timeline"]]


@pytest.mark.parametrize(
    ("final", "steps"),
    [("delivered", ["sent", "delivered"]), ("undelivered", ["sent", "undelivered"])],
)
def test_steps_follow_the_plan_delays(final: str, steps: list[str]) -> None:
    """sent after send_delay, then the final status after delivery_delay, not before."""

    async def scenario() -> None:
        rt = Runtime(Settings(clock="manual"))
        stored(rt, "s")
        plan = Plan("s", "p", "+441743581416", "+447515650839", 1.0, 2.0, final, "30003")
        rt.lifecycle.start(plan)
        await rt.clock.advance(0.5)
        assert timeline(rt, "s") == []
        await rt.clock.advance(0.5)
        assert timeline(rt, "s") == steps[:1]
        await rt.clock.advance(1.9)
        assert timeline(rt, "s") == steps[:1]
        await rt.clock.advance(0.1)
        assert timeline(rt, "s") == steps
        message = rt.store.message("s")
        assert message is not None
        assert message["errorCode"] == (None if final == "delivered" else "30003")

    asyncio.run(scenario())


def test_failed_never_reaches_the_carrier() -> None:
    """A plan whose final status is failed goes straight from queued to failed."""

    async def scenario() -> None:
        rt = Runtime(Settings(clock="manual"))
        stored(rt, "f")
        rt.lifecycle.start(Plan("f", "p", "x", "+447515650839", 1.0, 2.0, "failed", "30008"))
        await rt.clock.advance(10)
        assert timeline(rt, "f") == ["failed"]

    asyncio.run(scenario())


def test_a_cleared_message_stops_its_lifecycle() -> None:
    """Once the message is gone, its pending steps record nothing and raise nothing."""

    async def scenario() -> None:
        rt = Runtime(Settings(clock="manual"))
        stored(rt, "c")
        rt.lifecycle.start(Plan("c", "p", "x", "+447515650839", 1.0, 2.0))
        await rt.clock.advance(1)
        rt.store.clear_messages()
        await rt.clock.advance(10)
        assert rt.store.message("c") is None
        assert rt.errors == []

    asyncio.run(scenario())
