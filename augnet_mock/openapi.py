"""The OpenAPI 3.1 document for both surfaces, served at `GET /openapi.json`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import __version__


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "augnet-mock", "version": __version__},
        "paths": {},
    }


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(document())


def openapi_routes() -> list[Route]:
    return [Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)]
