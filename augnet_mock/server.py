"""Serving the app: `Server` (uvicorn, with a shutdown that does not wait on event
streams), and `LiveServer`, which runs one on 127.0.0.1, a free port, in a
background thread.

`LiveServer` is used by the pytest plugin, by this project's own tests and by
benchmarks. The thread runs its own event loop; everything else talks to it over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Generator
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .events import EventBus
from .runtime import Runtime
from .settings import Settings

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
EVENTS_PATH = "/_mock/events"
# After the event bus closes, how long a stream may take to finish its last write
# before its connection is cut: a reader that stopped reading never drains it.
STREAM_DRAIN = 0.1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
    """uvicorn's server, with two changes to how it stops.

    - Event streams end at once. uvicorn lets in-flight responses finish before it
      runs the lifespan shutdown, but an SSE stream never finishes by itself: left
      alone it held shutdown for the whole graceful timeout and was then cancelled
      with a traceback. So the bus is closed first (streams end cleanly), and a
      stream stuck writing to a client that stopped reading has its connection cut.
    - SIGTERM and SIGINT are the normal way to stop it (`docker stop`, Ctrl+C), so
      after a clean shutdown the process exits 0; uvicorn re-raises the signal, which
      makes the exit status 143 or 130.
    """

    def __init__(self, config: uvicorn.Config, events: EventBus | None = None) -> None:
        super().__init__(config)
        self.events = events  # None: an app that is not the mock (a test's receiver)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.events is not None:
            self.events.close()
            await self.events.drained(STREAM_DRAIN)
        for connection in list(self.server_state.connections):
            # uvicorn's protocols (httptools and h11 alike) keep the request's scope and
            # transport; only event streams are cut, other requests are answered.
            scope = getattr(connection, "scope", None)
            cycle = getattr(connection, "cycle", None)
            streaming = cycle is not None and not getattr(cycle, "response_complete", True)
            if streaming and isinstance(scope, dict) and scope.get("path") == EVENTS_PATH:
                connection.transport.abort()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """uvicorn's signal capture, without raising the signal again on the way out."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only (LiveServer runs in another)
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class LiveServer:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        app: Starlette | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = app or create_app(settings)
        self._config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        runtime: Runtime | None = getattr(self.app.state, "runtime", None)
        self._server = Server(self._config, runtime.events if runtime else None)
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = port
        # The loop that serves the app; in-process transports hand requests to it.
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def start(self) -> LiveServer:
        self._thread = threading.Thread(target=self._server.run, name="augnet-mock", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("augnet-mock server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self.loop = self._server.servers[0].get_loop()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
