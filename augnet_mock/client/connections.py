"""What every handle on one server shares for a session: the control API clients and
the transports behind the handle's ready-made clients.

Building an HTTP client is not free: a default `httpx2.Client` loads the CA bundle,
about 23 ms here, ten times what a test's handle costs. So clients are built on a
transport made once per server: in-process (`AugnetTransport`) for an in-thread
server, plain HTTP with one connection pool for a URL, and no TLS context when the
URL is plain http (nothing to verify on loopback). The pytest plugin keeps one
`Connections` per server; `AugnetMock.create` makes its own when given none.
"""

from __future__ import annotations

import importlib
from typing import Any

import httpx2

from ..server import LiveServer
from ..transport import (
    AsyncAugnetTransport,
    AsyncNetworkTransport,
    AsyncTransport,
    AugnetTransport,
    NetworkTransport,
    SyncTransport,
)
from .control import CONTROL_TIMEOUT

# Async clients to a URL keep no idle connections: a connection pool belongs to one
# event loop, and each async test may run on a loop of its own; a kept connection
# would outlive its loop and be reported unclosed.
NO_KEEPALIVE = httpx2.Limits(max_keepalive_connections=0)
LIBRARIES = ("httpx2", "httpx")  # the client libraries the transports serve


class Connections:
    """The shared clients and transports for one server (`target`: a URL or a LiveServer)."""

    def __init__(
        self,
        target: str | LiveServer,
        *,
        token: str | None = None,
        control: httpx2.Client | None = None,
    ) -> None:
        self.server = target if isinstance(target, LiveServer) else None
        self.base_url = (target.url if isinstance(target, LiveServer) else target).rstrip("/")
        if token is None and self.server is not None:
            token = self.server.runtime.settings.admin_token
        self.token = token
        self._headers = {"Authorization": f"Bearer {token}"} if token else None
        self._transport: SyncTransport | None = None
        self._async_transport: AsyncTransport | None = None
        self._async_control: httpx2.AsyncClient | None = None
        self._owns_control = control is None
        self.control = control if control is not None else self._client(httpx2, is_async=False)

    @property
    def _verify(self) -> bool:
        return self.base_url.startswith("https:")  # plain http needs no CA bundle

    def _client(self, module: Any, *, is_async: bool) -> Any:
        """A control client of `module` (httpx2), carrying the admin token. Over HTTP it
        has a pool of its own, so closing a ready client cannot touch it."""
        cls = module.AsyncClient if is_async else module.Client
        if is_async:
            transport: Any = self.async_transport()
        elif self.server is not None:
            transport = self.transport()
        else:
            transport = NetworkTransport(verify=self._verify)
        return cls(
            transport=transport, timeout=CONTROL_TIMEOUT, headers=self._headers, trust_env=False
        )

    def transport(self) -> SyncTransport:
        """The shared sync transport: in-process, or one pool of plain HTTP connections."""
        if self._transport is None:
            if self.server is not None:
                self._transport = AugnetTransport(self.server.app, self.server.loop)
            else:
                self._transport = NetworkTransport(verify=self._verify)
        return self._transport

    def async_transport(self) -> AsyncTransport:
        """An async transport: the shared in-process one, or a new one that keeps no
        idle connection (a pool cannot move between event loops)."""
        if self.server is None:
            return AsyncNetworkTransport(verify=self._verify, limits=NO_KEEPALIVE)
        if self._async_transport is None:
            self._async_transport = AsyncAugnetTransport(self.server.app, self.server.loop)
        return self._async_transport

    def async_control(self) -> httpx2.AsyncClient:
        """An async control client: shared in-process, new for each caller over HTTP."""
        if self.server is None:
            client: httpx2.AsyncClient = self._client(httpx2, is_async=True)
            return client
        if self._async_control is None:
            self._async_control = self._client(httpx2, is_async=True)
        return self._async_control

    def ready_client(self, library: str, *, is_async: bool, auth: tuple[str, str]) -> Any:
        """A `library` (httpx2 or httpx) Client or AsyncClient on the send API: the
        server's base URL and the project's Basic credentials, on a shared transport."""
        if library not in LIBRARIES:
            raise ValueError(f"library must be one of {', '.join(LIBRARIES)}, got {library!r}")
        module = importlib.import_module(library)
        cls = module.AsyncClient if is_async else module.Client
        transport = self.async_transport() if is_async else self.transport()
        # trust_env=False: no proxy from the environment may take loopback traffic.
        return cls(base_url=self.base_url, auth=auth, transport=transport, trust_env=False)

    def close(self) -> None:
        """Close the control client (if made here) and the shared connection pool."""
        if self._owns_control:
            self.control.close()
        if isinstance(self._transport, NetworkTransport):
            self._transport.close()
