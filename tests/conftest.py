"""Shared fixtures: a real server on a free port, a real webhook receiver, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx2
import pytest
from receiver import Receiver

from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from augnet_mock.server import LiveServer
from augnet_mock.settings import Settings

# Fast lifecycles keep the suite quick; tests that care about timing set their own.
FAST = Settings(send_delay=0.01, delivery_delay=0.01, callback_backoff=0.05, callback_timeout=2.0)
DEFAULT_AUTH = (DEFAULT_PROJECT_ID, DEFAULT_API_KEY)


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    """One shared real server; tests isolate themselves with their own project."""
    with LiveServer(FAST) as live:
        yield live


@pytest.fixture
def make_server() -> Iterator[Callable[..., LiveServer]]:
    """Start a dedicated server with settings overrides; stopped after the test."""
    started: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        live = LiveServer(replace(FAST, **overrides)).start()
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url, timeout=10.0, trust_env=False) as c:
        yield c


@pytest.fixture
def project(client: httpx2.Client) -> dict[str, Any]:
    """A fresh project on the shared server (generated credentials)."""
    response = client.post("/_mock/projects", json={})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()
