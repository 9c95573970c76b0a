"""Request reading and error rendering shared by every route.

Reading a JSON body checks, in order: the content type (415), the size (413,
before and while reading, so a chunked upload cannot get around the limit), the
time it takes (408, `body_timeout`) and the JSON itself (400). Errors all render
through `error_response`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .errors import ApiError, error_body, printable
from .runtime import Runtime

# The rest of a late body may still be on its way: answer, then close rather than
# read the leftovers as the next request (RFC 9110 §15.5.9 allows the close).
CLOSE = {"Connection": "close"}


def runtime(request: Request) -> Runtime:
    # Kept on app.state rather than only in lifespan state so that in-process
    # ASGI clients, which may not run the lifespan, reach the same runtime.
    rt: Runtime = request.app.state.runtime
    return rt


def server_transport(request: Request) -> asyncio.Transport | None:
    """The connection's transport under uvicorn, reached through the bound `receive`
    (ASGI has no such thing); None elsewhere, e.g. with in-process clients. uvloop's
    transports have asyncio's methods without subclassing it, hence the duck typing."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "set_write_buffer_limits"):
        return None
    return cast(asyncio.Transport, transport)


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, within the size limit and the runtime's `body_timeout`.

    Every route that reads a body reads it here, so a client that sends the headers
    and then stalls (or trickles) cannot hold the connection: it gets 408 and the
    connection is closed.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        # isdigit alone would let int() take "1_000" or surrounding spaces.
        if not (declared.isascii() and declared.isdigit()):
            raise ApiError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(413, f"request body is over the {limit}-byte limit")
    deadlines = runtime(request).body_deadlines
    chunks: list[bytes] = []
    size = 0
    task, cancelling = deadlines.start()
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body is over the {limit}-byte limit")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise ApiError(400, "the client went away before sending the whole body") from exc
    except asyncio.CancelledError:
        if not deadlines.timed_out(task, cancelling):
            raise
        raise ApiError(
            408,
            f"the request body did not arrive within {deadlines.timeout:g} s (body_timeout)",
            headers=CLOSE,
        ) from None
    finally:
        deadlines.stop(task)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads and json.dumps with options build a new decoder or encoder
# per call, a measurable share of the send route at thousands of requests a second.
_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class CompactJSONResponse(JSONResponse):
    """Starlette's JSONResponse, byte for byte, rendered by one shared encoder."""

    def render(self, content: Any) -> bytes:
        return _encode(content).encode("utf-8")


def sid_response(sid: str) -> Response:
    """`{"sid": ...}`, the bytes CompactJSONResponse would render, without the encoder:
    a sid is a UUID, which needs no escaping, and every accepted send answers this."""
    return Response(b'{"sid":"%s"}' % sid.encode("ascii"), media_type="application/json")


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "request body is empty; expected a JSON object")
    try:
        # What json.loads does with bytes (UTF-8, -16 or -32), minus the new decoder.
        return _decoder.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed JSON: the body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed JSON: nested too deeply") from exc


def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if not is_json(content_type):
        raise ApiError(415, f"Content-Type must be application/json (got {content_type or 'none'})")


async def read_json(request: Request, limit: int, *, optional: bool = False) -> Any:
    """The decoded JSON body; with `optional`, an empty body reads as None."""
    raw = await read_body(request, limit)
    if optional and not raw.strip():
        return None
    require_json(request)
    return parse_json(raw)


def error_payload(request: Request, err: ApiError) -> dict[str, Any]:
    now = runtime(request).clock.now_iso()
    return error_body(err.status, printable(err.message), printable(request.url.path), now)


def error_response(request: Request, err: ApiError) -> JSONResponse:
    return JSONResponse(error_payload(request, err), err.status, headers=err.headers)
