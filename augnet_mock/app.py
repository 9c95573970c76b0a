"""The app factory: one `Runtime` per app, every route wired to it.

`create_app(settings)` is all an embedder needs (the CLI, the pytest plugin,
in-process clients, tests). Errors of every kind render in the one shape.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from . import api, control, ui
from .clock import ClockError
from .errors import ApiError
from .guard import Guard
from .httpio import error_response
from .openapi import openapi_routes
from .runtime import Runtime
from .settings import Settings
from .store import Conflict
from .validation import FieldError

log = logging.getLogger("augnet_mock")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request, exc)


async def _field_error(request: Request, exc: Exception) -> Response:
    return error_response(request, ApiError(400, str(exc)))  # "<field>: <why>"


async def _conflict(request: Request, exc: Exception) -> Response:
    return error_response(request, ApiError(409, str(exc)))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    return error_response(request, ApiError(exc.status_code, str(exc.detail), headers=headers))


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug, not bad input: keep it for the pytest plugin to raise in the test.
    runtime: Runtime = request.app.state.runtime
    runtime.record_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, ApiError(500, f"internal error: {type(exc).__name__}"))


def create_app(settings: Settings | None = None, *, smpp_port: int | None = None) -> Starlette:
    """The app; its lifespan also runs the SMPP server on the same loop.

    SMPP listens on `settings.smpp_port` (0 there turns it off). An embedder that
    needs a free port passes `smpp_port=0`, which overrides the settings.
    """
    runtime = Runtime(settings or Settings())
    smpp_wanted = smpp_port is not None or runtime.settings.smpp_port != 0
    smpp_listen = runtime.settings.smpp_port if smpp_port is None else smpp_port

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        if smpp_wanted:
            await runtime.smpp.start(runtime.settings.host, smpp_listen)
        try:
            yield {"runtime": runtime}
        finally:
            await runtime.smpp.aclose()  # bound peers get their unbind first
            await runtime.aclose()

    app = Starlette(
        routes=[*api.routes, *control.routes, *openapi_routes(), *ui.routes],
        exception_handlers={
            ApiError: _api_error,
            FieldError: _field_error,  # bad input anywhere below a route
            Conflict: _conflict,  # the record already exists
            ClockError: _conflict,  # e.g. advancing a real clock
            HTTPException: _http_error,
            Exception: _server_error,
        },
        middleware=[Middleware(Guard, settings=runtime.settings)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
