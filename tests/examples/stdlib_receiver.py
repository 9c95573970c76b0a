"""A production receiver: it verifies Augnet's callbacks with docs/verify.md's
standard-library verifier (`augnet_verify.py`, the page's block verbatim), never
importing augnet_mock. The README runner checks the page's usage block is in here."""

from __future__ import annotations

import json

from augnet_verify import InvalidCallback, verify_callback
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def production_webhook(signing_key: str, project_id: str) -> Starlette:
    """Receives status callbacks at /sms/status (any query string), keeps genuine ones."""
    SIGNING_KEY, PROJECT_ID = signing_key, project_id  # as the page names them
    statuses: dict[str, list[str]] = {}

    async def receive(request: Request) -> Response:
        raw_body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            verify_callback(
                "POST", target, request.headers, raw_body, SIGNING_KEY, key_id=PROJECT_ID
            )
        except InvalidCallback as exc:
            return PlainTextResponse(str(exc), status_code=401)
        event = json.loads(raw_body)
        statuses.setdefault(event["MessageSid"], []).append(event["MessageStatus"])
        return Response(status_code=204)

    app = Starlette(routes=[Route("/sms/status", receive, methods=["POST"])])
    app.state.statuses = statuses
    return app
