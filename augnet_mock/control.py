"""The mock surface under `/_mock`: set up, inspect and break the mock (SPEC §2.1).

Routes only parse, call the runtime's store or clock, and render JSON. Lists come
wrapped in an object (`{"messages": [...]}`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ._version import __version__
from .clock import iso
from .errors import ApiError
from .events import sse_frame
from .httpio import read_json, runtime
from .models import STATUSES
from .scenarios import MAGIC_NUMBERS, MAGIC_RANGE, parse_rule
from .settings import PROJECT_KEYS, parse_project
from .store import MessageFilter
from .validation import number, type_name

SSE_KEEPALIVE = 15.0  # seconds between comment lines, so proxies keep the stream open
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
        }
    )


async def reset(request: Request) -> Response:
    await runtime(request).reset()
    return JSONResponse({"reset": True})


# -- projects ---------------------------------------------------------------------


async def list_projects(request: Request) -> Response:
    return JSONResponse({"projects": runtime(request).store.projects()})


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
    return JSONResponse({"messages": runtime(request).store.messages(flt)})


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
    attempts = runtime(request).store.attempts(
        project_id=q.get("projectId"),
        sid=q.get("sid"),
        status=_query_status(request),
        ok=_query_bool(request, "ok"),
    )
    return JSONResponse({"callbacks": attempts})


async def redeliver(request: Request) -> Response:
    attempt_id = request.path_params["id"]
    attempt = await runtime(request).dispatcher.redeliver(attempt_id)
    if attempt is None:
        raise ApiError(404, f"no callback attempt {attempt_id!r}")
    return JSONResponse(attempt.to_json())


async def list_requests(request: Request) -> Response:
    rejected = runtime(request).store.rejected(request.query_params.get("projectId"))
    return JSONResponse({"requests": rejected})


# -- scenarios --------------------------------------------------------------------


async def list_scenarios(request: Request) -> Response:
    return JSONResponse({"scenarios": runtime(request).store.rules_json()})


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


# -- events -----------------------------------------------------------------------


async def events(request: Request) -> Response:
    bus = runtime(request).events
    project_id = request.query_params.get("projectId")

    async def stream() -> AsyncIterator[bytes]:
        async with bus.subscribe() as queue:
            yield b": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if event is None:
                    return
                if project_id and event["data"].get("projectId") not in (None, project_id):
                    continue
                yield sse_frame(event)

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
    Route("/_mock/events", events, methods=["GET"]),
]
