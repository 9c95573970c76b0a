"""augnet_mock.client.connections and the handle's ready clients: bound to the base URL
and the project's credentials, for httpx2 and httpx, sync and async, on one shared
transport, and with no CA bundle loaded for plain http."""

from __future__ import annotations

import ssl
from typing import Any

import httpcore2
import httpx
import httpx2
import pytest

from augnet_mock import AugnetMock, LiveServer
from augnet_mock.client import Connections
from augnet_mock.transport import AugnetTransport, NetworkTransport

BODY = {"to": "+447700900123", "body": "Your code is 2468"}


@pytest.fixture(params=["in-process", "http"])
def connections(request: pytest.FixtureRequest, server: LiveServer) -> Any:
    """The shared pieces for the session server, in-process or over plain HTTP."""
    shared = Connections(server if request.param == "in-process" else server.url)
    yield shared
    shared.close()


def test_ready_clients_send_as_the_project(connections: Connections) -> None:
    """Both libraries' sync clients post to the send API as the handle's project."""
    with AugnetMock.create(connections.base_url, connections=connections) as augnet:
        assert isinstance(augnet.client, httpx2.Client)
        assert isinstance(augnet.httpx_client, httpx.Client)
        assert augnet.client.post("/api/v2/message", json=BODY).status_code == 200
        assert augnet.httpx_client.post("/api/v2/message", json=BODY).status_code == 200
        assert augnet.client is augnet.client  # made once per handle
        augnet.assert_sent(body=BODY["body"], count=2)


@pytest.mark.asyncio
async def test_ready_async_clients_send_as_the_project(connections: Connections) -> None:
    """Both libraries' async clients post to the send API as the handle's project."""
    with AugnetMock.create(connections.base_url, connections=connections) as augnet:
        assert isinstance(augnet.async_client, httpx2.AsyncClient)
        assert isinstance(augnet.httpx_async_client, httpx.AsyncClient)
        sent = await augnet.async_client.post("/api/v2/message", json=BODY)
        assert sent.status_code == 200
        sent = await augnet.httpx_async_client.post("/api/v2/message", json=BODY)
        assert sent.status_code == 200
        await augnet.aio.assert_sent(body=BODY["body"], count=2)


def test_handles_share_one_transport(server: LiveServer) -> None:
    """Every handle's ready client runs on the session's one transport: in-process for a
    LiveServer, one plain-HTTP pool for a URL."""
    for target, kind in ((server, AugnetTransport), (server.url, NetworkTransport)):
        shared = Connections(target)
        try:
            with (
                AugnetMock.create(target, connections=shared) as first,
                AugnetMock.create(target, connections=shared) as second,
            ):
                assert isinstance(first.client._transport, kind)
                assert first.client._transport is second.client._transport
                assert first.client.auth != second.client.auth
        finally:
            shared.close()


def test_plain_http_loads_no_ca_bundle(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Against an http:// URL neither control nor ready clients build a verifying TLS
    context (the CA bundle is what makes a default client cost ~23 ms)."""

    def refuse(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("a CA bundle was loaded")

    monkeypatch.setattr(httpcore2, "default_ssl_context", refuse)
    monkeypatch.setattr(ssl, "create_default_context", refuse)
    shared = Connections(server.url)
    try:
        with AugnetMock.create(server.url, connections=shared) as augnet:
            assert augnet.client.post("/api/v2/message", json=BODY).status_code == 200
            assert augnet.httpx_client.post("/api/v2/message", json=BODY).status_code == 200
            augnet.assert_sent(count=2)
    finally:
        shared.close()


def test_a_closed_ready_client_is_made_anew(server: LiveServer) -> None:
    """Closing the ready client (`with augnet.client:`) does not break the next use."""
    with AugnetMock.create(server.url) as augnet:
        with augnet.client as client:
            assert client.post("/api/v2/message", json=BODY).status_code == 200
        assert augnet.client is not client
        assert augnet.client.post("/api/v2/message", json=BODY).status_code == 200
        augnet.assert_sent(count=2)


def test_unknown_library_is_refused(server: LiveServer) -> None:
    """Only httpx2 and httpx are served."""
    shared = Connections(server)
    with pytest.raises(ValueError, match="library must be one of httpx2, httpx"):
        shared.ready_client("requests", is_async=False, auth=("a", "b"))
