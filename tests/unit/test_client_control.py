"""augnet_mock.client.control: the control API client, sync and async, against a real
server: errors quoted, the admin token's hint, paging through nextCursor, and waits
woken by the event stream."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx2
import pytest

from augnet_mock import LiveServer
from augnet_mock.client import control
from augnet_mock.client.control import (
    MESSAGE_EVENTS,
    AsyncControlClient,
    AugnetError,
    ControlClient,
    EventKinds,
)


def test_event_kinds_name_each_event_as_it_ends() -> None:
    """An event's kind is known at the blank line that ends it; comments are no events."""
    parser = EventKinds()
    lines = [": connected", "event: message", "data: {}", "", ": keepalive", "", "event: status"]
    assert [parser.feed(line) for line in lines] == [None, None, None, "message", None, None, None]
    assert parser.feed("") == "status"


def test_refusals_quote_the_server_and_hint_at_the_token(make_server: Any) -> None:
    """A refused call quotes the server's message; a 401 says how to pass the token."""
    live = make_server(admin_token="s3cret")
    with httpx2.Client(trust_env=False) as http:
        plain = ControlClient(live.url, http)
        with pytest.raises(AugnetError, match=r"GET /_mock/projects -> 401: .*--augnet-token"):
            plain.call("GET", "/_mock/projects")
    with httpx2.Client(trust_env=False, headers={"Authorization": "Bearer s3cret"}) as http:
        authorised = ControlClient(live.url, http)
        with pytest.raises(AugnetError, match=r"GET /_mock/messages/nope -> 404: "):
            authorised.call("GET", "/_mock/messages/nope")


def test_unreachable_server_is_an_augnet_error() -> None:
    """A server that does not answer is named in the error, not a bare transport error."""
    with httpx2.Client(trust_env=False) as http:
        dead = ControlClient("http://127.0.0.1:9", http)
        with pytest.raises(AugnetError, match=r"augnet-mock at http://127.0.0.1:9 is unreachable"):
            dead.call("GET", "/_mock/health")


def test_list_all_follows_next_cursor(
    server: LiveServer, project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With pages of two, five messages come back whole and in order, sync and async."""
    monkeypatch.setattr(control, "PAGE_LIMIT", 2)
    auth = (project["projectId"], project["apiKey"])
    with httpx2.Client(base_url=server.url, auth=auth, trust_env=False) as http:
        for n in range(5):
            body = {"to": "+447700900123", "body": f"n{n}"}
            assert http.post("/api/v2/message", json=body).status_code == 200
    params = {"projectId": project["projectId"]}
    with httpx2.Client(trust_env=False) as http:
        found = ControlClient(server.url, http).list_all("/_mock/messages", "messages", params)
    assert [m["body"] for m in found] == [f"n{n}" for n in range(5)]

    async def read() -> list[Any]:
        async with httpx2.AsyncClient(trust_env=False) as http:
            return await AsyncControlClient(server.url, http).list_all(
                "/_mock/messages", "messages", params
            )

    assert [m["body"] for m in asyncio.run(read())] == [f"n{n}" for n in range(5)]


def test_wait_is_woken_by_an_event(server: LiveServer, project: dict[str, Any]) -> None:
    """A wait looks again when its project's event comes, and gives None at the deadline."""
    auth = (project["projectId"], project["apiKey"])
    looks: list[int] = []

    def check() -> str | None:
        looks.append(1)
        return "seen" if len(looks) > 1 else None

    def send_later() -> None:
        with httpx2.Client(base_url=server.url, auth=auth, trust_env=False) as http:
            http.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})

    with httpx2.Client(trust_env=False) as http:
        waiter = ControlClient(server.url, http)
        timer = threading.Timer(0.2, send_later)
        timer.start()
        try:
            assert waiter.wait(project["projectId"], check, MESSAGE_EVENTS, 10.0) == "seen"
        finally:
            timer.join()
        assert waiter.wait(project["projectId"], lambda: None, MESSAGE_EVENTS, 0.2) is None


@pytest.mark.asyncio
async def test_async_wait_lets_the_loop_run(server: LiveServer, project: dict[str, Any]) -> None:
    """While an async wait is pending, other tasks on the same loop run (and can make
    the event it waits for)."""
    auth = (project["projectId"], project["apiKey"])
    sent = asyncio.Event()

    async def check() -> bool | None:
        return True if sent.is_set() else None

    async def send() -> None:
        await asyncio.sleep(0.1)
        async with httpx2.AsyncClient(base_url=server.url, auth=auth, trust_env=False) as http:
            await http.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})
        sent.set()

    async with httpx2.AsyncClient(trust_env=False) as http:
        waiter = AsyncControlClient(server.url, http)
        sender = asyncio.create_task(send())
        assert await waiter.wait(project["projectId"], check, MESSAGE_EVENTS, 10.0) is True
        await sender

        async def never() -> None:
            return None

        assert await waiter.wait(project["projectId"], never, MESSAGE_EVENTS, 0.2) is None
