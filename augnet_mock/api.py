"""The Augnet surface: `POST /api/v2/message` with HTTP Basic auth.

The route authenticates, reads and validates the body, hands the send to
`Runtime.send` (which decides and records what happens), and renders the outcome:
the sid, an error in the one error shape, or a dropped connection. A request
refused before it is a send (credentials, content type, size, bad fields) is
written to the rejected-requests log here.
"""

from __future__ import annotations

import asyncio
import base64
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import ApiError
from .httpio import (
    CompactJSONResponse,
    error_payload,
    parse_json,
    read_body,
    require_json,
    runtime,
    sid_response,
)
from .models import Project
from .sending import Accepted, Dropped, parse_send
from .store import Store
from .strictness import Unknown, refusal, unknown_fields
from .validation import FieldError

__all__ = ["basic_credentials", "parse_send", "routes"]

SEND_FIELDS = ("to", "body", "from", "statusCallback")
WARNING_HEADER = "Augnet-Mock-Warning"  # one per warning, on an accepted send
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="augnet"'}


class DropConnection(Exception):
    """A scenario asked for the socket to close with no answer at all."""


@lru_cache(maxsize=256)
def basic_credentials(header: str) -> tuple[str, str]:
    """(project_id, api_key) from an Authorization header, or ApiError 401.

    Cached: a client sends the same header with every request, and decoding it
    each time is a measurable share of the send route. Failures are not cached.
    """
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise ApiError(401, "malformed credentials: expected HTTP Basic", headers=BASIC_CHALLENGE)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError as exc:
        # binascii.Error and UnicodeDecodeError, and the plain ValueError b64decode raises
        # for a non-ASCII str: Starlette decodes header bytes as latin-1, so any byte
        # (é sent raw as \xc3\xa9, say) reaches here as a character.
        raise ApiError(
            401,
            "malformed credentials: Basic value is not base64 of project_id:api_key",
            headers=BASIC_CHALLENGE,
        ) from exc
    project_id, sep, api_key = decoded.partition(":")
    if not sep or not project_id:
        raise ApiError(
            401, "malformed credentials: expected project_id:api_key", headers=BASIC_CHALLENGE
        )
    return project_id, api_key


def authenticate(request: Request, store: Store) -> Project:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(
            401, "missing credentials: use HTTP Basic project_id:api_key", headers=BASIC_CHALLENGE
        )
    project = store.authenticate(*basic_credentials(header))
    if project is None:
        # One message for both cases, so the API does not reveal which projects exist.
        raise ApiError(401, "unknown project or wrong API key", headers=BASIC_CHALLENGE)
    return project


def check_fields(payload: Any) -> Unknown | None:
    """The body's unknown fields, or None when there are none (the common case, cheaply)."""
    if not isinstance(payload, dict) or all(key in SEND_FIELDS for key in payload):
        return None
    return unknown_fields(payload, SEND_FIELDS)


def drop_connection(request: Request) -> None:
    """Close the client's socket with no response (uvicorn only).

    ASGI has no way to say "no response", so reach the server's transport
    through the bound `receive`; elsewhere (in-process clients) raise instead,
    which such clients surface as a transport error too.
    """
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise DropConnection("scenario: connection dropped")
    cycle.disconnected = True  # type: ignore[union-attr]  # tells uvicorn not to answer 500
    transport.abort()


async def send_message(request: Request) -> Response:
    rt = runtime(request)
    rt.dispatcher.lane.api_request()  # callbacks give way while sends keep coming
    raw = b""
    project: Project | None = None
    warnings: tuple[str, ...] = ()
    try:
        project = authenticate(request, rt.store)
        require_json(request)
        raw = await read_body(request, rt.settings.max_body_bytes)
        payload = parse_json(raw)
        unknown = check_fields(payload)
        if unknown:
            warnings = tuple(unknown.warnings())
            if rt.settings.strict_for(project):
                raise ApiError(400, refusal(unknown))
        try:
            send = parse_send(payload, max_segments=rt.settings.max_segments, warnings=warnings)
        except FieldError as exc:
            # "to: is required" next to a "To" that was ignored: say what was meant.
            hint = "; ".join(warnings)
            raise ApiError(400, f"{exc} ({hint})" if hint else str(exc)) from exc
    except ApiError as err:
        error = error_payload(request, err)
        rt.reject(
            method=request.method,
            path=request.url.path,
            status=err.status,
            error=error,
            project_id=project.project_id if project else None,
            rule=None,
            body=raw,
            warnings=warnings,
        )
        return CompactJSONResponse(error, err.status, headers=err.headers)
    outcome = rt.send(
        project, send, source="rest", raw_body=raw, method=request.method, path=request.url.path
    )
    if outcome.latency:
        # Latency is how long the HTTP answer takes: wall time, not mock time.
        await asyncio.sleep(outcome.latency)
    if isinstance(outcome, Accepted):
        response = sid_response(outcome.message.sid)
        for warning in warnings:  # also in the requests log, with the sid (sending.py)
            response.headers.append(WARNING_HEADER, warning)
        return response
    if isinstance(outcome, Dropped):
        drop_connection(request)
        return Response(status_code=204)  # never sent: the socket is gone
    retry = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after is not None else {}
    return CompactJSONResponse(outcome.error, outcome.status, headers=retry)


routes = [Route("/api/v2/message", send_message, methods=["POST"])]
