"""augnet_mock.client.clock: reading and advancing the server's clock, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

from augnet_mock import AugnetError, AugnetMock

BODY = {"to": "+447700900123", "body": "hi"}


def test_manual_clock_advances_and_runs_jobs(make_server: Any) -> None:
    """On a manual clock nothing moves until advanced; advance runs what fell due."""
    with AugnetMock.create(make_server(clock="manual")) as augnet:
        assert augnet.clock.mode == "manual"
        before = augnet.clock.now()
        sid = augnet.client.post("/api/v2/message", json=BODY).json()["sid"]
        assert augnet.clock.pending >= 1
        assert augnet.message(sid).status == "queued"
        assert augnet.clock.advance(1) >= 1
        assert augnet.clock.now() == pytest.approx(before + 1)
        assert augnet.message(sid).status == "delivered"


@pytest.mark.asyncio
async def test_async_advance(make_server: Any) -> None:
    """The awaitable advance does the same without blocking the caller's loop."""
    with AugnetMock.create(make_server(clock="manual")) as augnet:
        before = await augnet.aio.clock.now()
        sent = await augnet.async_client.post("/api/v2/message", json=BODY)
        assert await augnet.aio.clock.advance(1) >= 1
        assert await augnet.aio.clock.now() == pytest.approx(before + 1)
        assert (await augnet.aio.message(sent.json()["sid"])).status == "delivered"


@pytest.mark.asyncio
async def test_advancing_a_real_clock_says_how_to_get_a_manual_one(make_server: Any) -> None:
    """Advancing a real clock is refused with the marker that gives a manual one."""
    with AugnetMock.create(make_server()) as augnet:
        with pytest.raises(AugnetError, match=r"(?s)clock is real.*clock='manual'"):
            augnet.clock.advance(1)
        with pytest.raises(AugnetError, match=r"(?s)clock is real.*clock='manual'"):
            await augnet.aio.clock.advance(1)
