"""A live server: uvicorn on 127.0.0.1, a free port, in a background thread.

Used by the pytest plugin, by this project's own tests and by benchmarks. The
thread runs its own event loop; everything else talks to it over HTTP.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .runtime import Runtime
from .settings import Settings

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class LiveServer:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        app: Starlette | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        smpp_port: int | None = 0,
    ) -> None:
        """`smpp_port`: where SMPP listens (0: a free port; None: no SMPP server)."""
        if app is None:
            base = replace(settings or Settings(), host=host)
            if smpp_port is None:
                app = create_app(replace(base, smpp_port=0))
            else:
                app = create_app(base, smpp_port=smpp_port)
        self.app = app
        self._config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = port
        # The loop that serves the app; in-process transports hand requests to it.
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def smpp_port(self) -> int | None:
        """The SMPP server's port once started, or None when it has none."""
        return self.runtime.smpp.port

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
