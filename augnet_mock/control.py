"""The mock surface under `/_mock`: set up, inspect and break the mock (SPEC §2.1).

Routes only parse, call the runtime's store or clock, and render JSON. Lists come
wrapped in an object (`{"messages": [...]}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ._version import __version__
from .clock import iso
from .errors import ApiError
from .httpio import read_json, runtime, server_transport
from .models import PROJECT_KEYS, STATUSES, parse_project
from .paging import DEFAULT_LIMIT, MAX_LIMIT, Page, Paging, decode_cursor, encode_cursor
from .scenarios import MAGIC_NUMBERS, MAGIC_RANGE, parse_rule
from .store import MessageFilter
from .validation import number, type_name

SSE_KEEPALIVE = 15.0  # seconds between comment lines, so proxies keep the stream open
# Stream writes a second, all open streams together. After a write a stream waits
# its share of that (1 ms with one stream, 200 ms with 200) and sends what came
# meanwhile in one write: a write costs about the same whatever it carries, so this
# bounds what streams take from the API however many there are (bench/events.py;
# one write per event per stream cut sends by 80% with 200 streams). An event after
# a quiet spell still goes out at once.
SSE_WRITES_PER_SECOND = 1_000
SSE_MAX_PAUSE = 1.0  # seconds: the longest a busy stream waits between writes
# Bytes a stream's connection may hold unsent, in the kernel and in the transport. A
# client that stops reading then blocks its stream after ~100 KB instead of taking
# megabytes of writes (Linux grows a loopback send buffer to 4 MB) while the API waits.
SSE_SEND_BUFFER = 32 * 1024
SSE_WRITE_BUFFER = 32 * 1024
LATEST_EPOCH = 253_402_300_799.0  # 9999-12-31T23:59:59Z, the last second datetime can show


def _query_status(request: Request) -> str | None:
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status: must be one of {', '.join(STATUSES)} (got {status!r})")
    return status


def _query_since(request: Request, name: str = "since") -> float | None:
    since = request.query_params.get(name)
    if since is None:
        return None
    try:
        parsed = datetime.fromisoformat(since)
    except ValueError as exc:
        raise ApiError(400, f"{name}: must be an ISO-8601 timestamp (got {since!r})") from exc
    if parsed.tzinfo is None:
        raise ApiError(400, f"{name}: must carry a time zone, e.g. 2026-01-01T00:00:00Z")
    return parsed.timestamp()


def _query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"{name}: must be true or false (got {raw!r})")


ORDERS = ("oldest", "newest")


def _query_paging(request: Request, kind: str) -> Paging:
    """`limit`, `cursor` and `order` of a list route (SPEC §2.4.1)."""
    q = request.query_params
    limit = DEFAULT_LIMIT
    raw = q.get("limit")
    if raw is not None:
        digits = raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_LIMIT))
        if not digits or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, f"limit: must be a whole number, 1 to {MAX_LIMIT} (got {raw!r})")
        limit = int(raw)
    after = None
    cursor = q.get("cursor")
    if cursor:  # an empty cursor is the first page, as a client that echoes null sends it
        try:
            after = decode_cursor(kind, cursor)
        except ValueError as exc:
            raise ApiError(400, f"cursor: {exc} (got {cursor!r})") from None
    order = q.get("order", "oldest")
    if order not in ORDERS:
        raise ApiError(400, f"order: must be oldest or newest (got {order!r})")
    return Paging(limit=limit, after=after, newest_first=order == "newest")


def _page_response(key: str, kind: str, page: Page) -> Response:
    cursor = None if page.next is None else encode_cursor(kind, page.next)
    return JSONResponse({key: page.items, "nextCursor": cursor})


# -- health, reset ----------------------------------------------------------------


async def health(request: Request) -> Response:
    rt = runtime(request)
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "clock": rt.clock.mode,
            "messages": rt.store.message_count(),
            "callbacks": rt.dispatcher.stats_json(),
            "smppPort": rt.smpp.port,
        }
    )


async def reset(request: Request) -> Response:
    await runtime(request).reset()
    return JSONResponse({"reset": True})


# -- projects ---------------------------------------------------------------------


async def list_projects(request: Request) -> Response:
    paging = _query_paging(request, "projects")
    return _page_response("projects", "projects", runtime(request).store.projects_page(paging))


async def create_project(request: Request) -> Response:
    rt = runtime(request)
    payload = await read_json(request, rt.settings.max_body_bytes, optional=True)
    project = parse_project({} if payload is None else payload, created_at=rt.clock.now_iso())
    created = rt.store.add_project(project)
    rt.events.publish("project", created)
    return JSONResponse(created, status_code=201)


async def get_project(request: Request) -> Response:
    project_id = request.path_params["projectId"]
    project = runtime(request).store.project(project_id)
    if project is None:
        raise ApiError(404, f"no project {project_id!r}")
    return JSONResponse(project.to_json())


async def update_project(request: Request) -> Response:
    """Change some of a project's fields; the rest keep their values (the pytest
    handle's `webhook_url` and `signing_key` setters use this)."""
    rt = runtime(request)
    project_id = request.path_params["projectId"]
    current = rt.store.project(project_id)
    if current is None:
        raise ApiError(404, f"no project {project_id!r}")
    payload = await read_json(request, rt.settings.max_body_bytes)
    if not isinstance(payload, dict):
        raise ApiError(400, f"request body: must be a JSON object, got {type_name(payload)}")
    if payload.get("projectId", project_id) != project_id:
        raise ApiError(400, "projectId: cannot be changed")
    # Validate the merged whole with the same parser as creation, so errors read alike.
    merged = {k: v for k, v in current.to_json().items() if k in PROJECT_KEYS} | payload
    updated = rt.store.replace_project(parse_project(merged, created_at=current.created_at))
    if updated is None:
        raise ApiError(404, f"no project {project_id!r}")
    rt.events.publish("project", updated)
    return JSONResponse(updated)


async def delete_project(request: Request) -> Response:
    project_id = request.path_params["projectId"]
    if not runtime(request).store.delete_project(project_id):
        raise ApiError(404, f"no project {project_id!r}")
    return Response(status_code=204)


# -- messages ---------------------------------------------------------------------


async def list_messages(request: Request) -> Response:
    q = request.query_params
    flt = MessageFilter(
        project_id=q.get("projectId"),
        to=q.get("to"),
        from_=q.get("from"),
        status=_query_status(request),
        batch_id=q.get("batchId"),
        since=_query_since(request),
    )
    paging = _query_paging(request, "messages")
    return _page_response("messages", "messages", runtime(request).store.messages_page(flt, paging))


async def get_message(request: Request) -> Response:
    sid = request.path_params["sid"]
    message = runtime(request).store.message(sid)
    if message is None:
        raise ApiError(404, f"no message {sid!r}")
    return JSONResponse(message)


async def clear_messages(request: Request) -> Response:
    rt = runtime(request)
    deleted = rt.store.clear_messages(request.query_params.get("projectId"))
    rt.events.publish("cleared", {"projectId": request.query_params.get("projectId")})
    return JSONResponse({"deleted": deleted})


async def usage(request: Request) -> Response:
    """Parts and cost per project, over the kept messages created in [since, until)."""
    since, until = _query_since(request), _query_since(request, "until")
    totals = runtime(request).store.usage(
        project_id=request.query_params.get("projectId"), since=since, until=until
    )
    q = request.query_params
    return JSONResponse({"since": q.get("since"), "until": q.get("until")} | totals)


# -- callbacks, rejected requests -------------------------------------------------


async def list_callbacks(request: Request) -> Response:
    q = request.query_params
    page = runtime(request).store.attempts_page(
        project_id=q.get("projectId"),
        sid=q.get("sid"),
        status=_query_status(request),
        ok=_query_bool(request, "ok"),
        paging=_query_paging(request, "callbacks"),
    )
    return _page_response("callbacks", "callbacks", page)


async def redeliver(request: Request) -> Response:
    attempt_id = request.path_params["id"]
    attempt = await runtime(request).dispatcher.redeliver(attempt_id)
    if attempt is None:
        raise ApiError(404, f"no callback attempt {attempt_id!r}")
    return JSONResponse(attempt.to_json())


async def list_requests(request: Request) -> Response:
    paging = _query_paging(request, "requests")
    page = runtime(request).store.rejected_page(request.query_params.get("projectId"), paging)
    return _page_response("requests", "requests", page)


# -- scenarios --------------------------------------------------------------------


async def list_scenarios(request: Request) -> Response:
    paging = _query_paging(request, "scenarios")
    return _page_response("scenarios", "scenarios", runtime(request).store.rules_page(paging))


async def add_scenario(request: Request) -> Response:
    rt = runtime(request)
    payload = await read_json(request, rt.settings.max_body_bytes)
    created = rt.store.add_rule(parse_rule(payload))
    rt.events.publish("scenario", created)
    return JSONResponse(created, status_code=201)


async def clear_scenarios(request: Request) -> Response:
    rt = runtime(request)
    deleted = rt.store.clear_rules()
    rt.events.publish("scenario", {})
    return JSONResponse({"deleted": deleted})


async def delete_scenario(request: Request) -> Response:
    rt = runtime(request)
    rule_id = request.path_params["id"]
    if not rt.store.delete_rule(rule_id):
        raise ApiError(404, f"no scenario {rule_id!r}")
    rt.events.publish("scenario", {})
    return Response(status_code=204)


async def builtin_scenarios(request: Request) -> Response:
    return JSONResponse(
        {
            "range": MAGIC_RANGE,
            "numbers": [
                {"number": m.number, "outcome": m.outcome, "effect": m.effect}
                for m in MAGIC_NUMBERS
            ],
        }
    )


# -- clock ------------------------------------------------------------------------


def _clock_json(request: Request) -> dict[str, Any]:
    clock = runtime(request).clock
    now = clock.now()  # read once, so `now` and `epoch` name the same instant
    return {
        "mode": clock.mode,
        "now": iso(now),
        "epoch": now,
        "pending": clock.pending,
    }


async def get_clock(request: Request) -> Response:
    return JSONResponse(_clock_json(request))


async def advance_clock(request: Request) -> Response:
    rt = runtime(request)
    payload = await read_json(request, rt.settings.max_body_bytes)
    if not isinstance(payload, dict) or "seconds" not in payload:
        raise ApiError(400, 'seconds: is required, as in {"seconds": 5}')
    # At most the whole span a timestamp can show, which any clock reading plus it passes.
    seconds = number("seconds", payload["seconds"], maximum=LATEST_EPOCH)
    # The clock stops at the last instant a timestamp can show: past it every answer would
    # fail. So a huge advance ("run everything") runs all that is due and stops there.
    seconds = min(seconds, max(0.0, LATEST_EPOCH - rt.clock.now()))
    ran = await rt.clock.advance(seconds)
    return JSONResponse(_clock_json(request) | {"ran": ran})


# -- SMPP -------------------------------------------------------------------------


async def smpp_sessions(request: Request) -> Response:
    paging = _query_paging(request, "sessions")
    page = runtime(request).smpp.sessions_page(paging, request.query_params.get("projectId"))
    return _page_response("sessions", "sessions", page)


# -- events -----------------------------------------------------------------------


def _keep_unsent_small(request: Request) -> None:
    transport = server_transport(request)
    if transport is None:
        return
    transport.set_write_buffer_limits(high=SSE_WRITE_BUFFER)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SSE_SEND_BUFFER)


async def events(request: Request) -> Response:
    """Everything that happens, as Server-Sent Events (events.py says how a reader
    that falls behind is told what it missed)."""
    bus = runtime(request).events
    project_id = request.query_params.get("projectId") or None
    _keep_unsent_small(request)

    async def stream() -> AsyncIterator[bytes]:
        with bus.subscribe(project_id) as sub:
            yield b": connected\n\n"
            while not bus.closed:  # closed at shutdown: the stream ends at once
                chunk = bus.read(sub)  # all that piled up, in one write
                if chunk:
                    yield chunk
                    pause = bus.subscribers / SSE_WRITES_PER_SECOND
                    await asyncio.sleep(min(pause, SSE_MAX_PAUSE))
                elif not await bus.wait(SSE_KEEPALIVE):
                    yield b": keepalive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


routes = [
    Route("/_mock/health", health, methods=["GET"]),
    Route("/_mock/reset", reset, methods=["POST"]),
    Route("/_mock/projects", list_projects, methods=["GET"]),
    Route("/_mock/projects", create_project, methods=["POST"]),
    Route("/_mock/projects/{projectId}", get_project, methods=["GET"]),
    Route("/_mock/projects/{projectId}", update_project, methods=["PATCH"]),
    Route("/_mock/projects/{projectId}", delete_project, methods=["DELETE"]),
    Route("/_mock/messages", list_messages, methods=["GET"]),
    Route("/_mock/messages", clear_messages, methods=["DELETE"]),
    Route("/_mock/messages/{sid}", get_message, methods=["GET"]),
    Route("/_mock/usage", usage, methods=["GET"]),
    Route("/_mock/callbacks", list_callbacks, methods=["GET"]),
    Route("/_mock/callbacks/{id}/redeliver", redeliver, methods=["POST"]),
    Route("/_mock/requests", list_requests, methods=["GET"]),
    Route("/_mock/scenarios", list_scenarios, methods=["GET"]),
    Route("/_mock/scenarios", add_scenario, methods=["POST"]),
    Route("/_mock/scenarios", clear_scenarios, methods=["DELETE"]),
    Route("/_mock/scenarios/builtin", builtin_scenarios, methods=["GET"]),
    Route("/_mock/scenarios/{id}", delete_scenario, methods=["DELETE"]),
    Route("/_mock/clock", get_clock, methods=["GET"]),
    Route("/_mock/clock/advance", advance_clock, methods=["POST"]),
    Route("/_mock/smpp/sessions", smpp_sessions, methods=["GET"]),
    Route("/_mock/events", events, methods=["GET"]),
]
