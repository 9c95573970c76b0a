"""How to test async code: the handle's async client, and awaited waits that let a
webhook receiver on the test's own event loop answer. Run by pytest-asyncio and by
anyio's pytest plugin alike."""

import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from augnet_mock import AugnetMock

RIDER = "+447700900123"


@contextlib.asynccontextmanager
async def webhook_on_this_loop(augnet: AugnetMock) -> AsyncIterator[list[str]]:
    """A webhook served on the test's own loop, receiving this project's callbacks.
    (A context manager, not a fixture: pytest-asyncio and anyio each want their own
    kind of async fixture.)"""
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(json.loads(await request.read())["MessageStatus"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/augnet/status", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    augnet.webhook_url = f"http://{host}:{port}/augnet/status"
    try:
        yield received
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_with_pytest_asyncio(augnet: AugnetMock) -> None:
    """Awaiting the wait lets the loop's receiver answer every callback."""
    async with webhook_on_this_loop(augnet) as statuses:
        sms = {"to": RIDER, "body": "Your taxi ABC123 is here"}
        sid = (await augnet.async_client.post("/api/v2/message", json=sms)).json()["sid"]
        await augnet.aio.wait_for_callback(sid=sid, status="delivered")
        assert statuses == ["queued", "sent", "delivered"]


@pytest.mark.anyio
async def test_with_anyio(augnet: AugnetMock) -> None:
    """The same under anyio (its asyncio backend)."""
    async with webhook_on_this_loop(augnet) as statuses:
        sms = {"to": RIDER, "body": "Your code is 482913"}
        await augnet.async_client.post("/api/v2/message", json=sms)
        message = await augnet.aio.wait_for_message(to=RIDER, status="delivered")
        assert await augnet.aio.extract_code(to=RIDER) == "482913"
        await augnet.aio.wait_for_callback(sid=message.sid, status="delivered")
        assert statuses == ["queued", "sent", "delivered"]
