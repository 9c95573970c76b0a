"""The live web inbox at `GET /`: static HTML, CSS and vanilla JS, no CDN, no build.

The page is a client of the JSON control API and the SSE stream; the only route it
adds is `POST /_mock/demo`, which makes realistic traffic with faker for demos.
Demo sends take the API's own path: `parse_send`, then `Runtime.send` (scenarios,
recording), as source "demo". They are never held back by a latency effect.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .errors import ApiError
from .httpio import read_json, runtime
from .models import DEFAULT_PROJECT_ID, Project
from .sending import Accepted, parse_send
from .validation import integer

WEB_DIR = Path(__file__).parent / "web"
DEMO_MAX = 100  # per click: enough for a busy inbox, small enough to stay instant
DEMO_DEFAULT = 10

# Everything the page loads comes from this server; inline scripts and handlers never
# run, so even a rendering bug could not execute a message body.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# Numbers from the magic table whose outcome shows on the page (a final status),
# used now and then so demo traffic is not all "delivered".
DEMO_MAGIC_TO = ("+447700900001", "+447700900002", "+447700900003")
DEMO_SENDERS = (None, None, "ABCTAXI", "SHOP", "Bank", "+441632960961")


async def index(request: Request) -> Response:
    return FileResponse(WEB_DIR / "index.html", headers=PAGE_HEADERS)


def _demo_project(request: Request, payload: dict[str, Any]) -> Project:
    store = runtime(request).store
    project_id = payload.get("projectId")
    if project_id is not None:
        if not isinstance(project_id, str):
            raise ApiError(400, "projectId: must be a string")
        project = store.project(project_id)
        if project is None:
            raise ApiError(404, f"no project {project_id!r}")
        return project
    project = store.project(DEFAULT_PROJECT_ID)
    if project is None:
        projects = store.projects()
        if not projects:
            raise ApiError(409, "there is no project to send from; create one first")
        project = store.project(projects[0]["projectId"])
        assert project is not None
    return project


def _otp(fake: Any, rng: random.Random) -> str:
    company = _company(fake)
    return (
        f"Your {company} verification code is {rng.randint(0, 999_999):06d}. "
        "It expires in 10 minutes. Never share it with anyone."
    )


def _appointment(fake: Any, rng: random.Random) -> str:
    minute = rng.choice(("00", "15", "30", "45"))
    return (
        f"Hi {fake.first_name()}, your appointment at {_company(fake)} is confirmed for "
        f"{fake.day_of_week()} at {rng.randint(8, 17)}:{minute}. Reply STOP to opt out."
    )


def _parcel(fake: Any, rng: random.Random) -> str:
    return (
        f"Your parcel {fake.bothify('??#########GB').upper()} is out for delivery today "
        f"between {rng.randint(8, 11)}am and {rng.randint(1, 6)}pm."
    )


def _bill(fake: Any, rng: random.Random) -> str:
    # The euro sign is in the GSM extension table: it costs two septets.
    due = fake.date_between("+1d", "+30d").strftime("%d/%m")
    return (
        f"{_company(fake)}: your bill of €{rng.randint(5, 250)}.{rng.randint(0, 99):02d} "
        f"is due on {due}. Pay at any time in the app."
    )


def _table_ready(fake: Any, rng: random.Random) -> str:
    # The emoji is outside the GSM alphabet, so the whole message goes as UCS-2.
    return f"Hi {fake.first_name()}! Your table for {rng.randint(2, 8)} is ready 🍽️ See you soon."


def _reminder(fake: Any, rng: random.Random) -> str:
    # Long enough for two or three GSM-7 parts.
    address = ", ".join(fake.address().splitlines())
    return (
        f"Dear {fake.name()}, this is a reminder of your appointment with Dr {fake.last_name()} "
        f"at {address} on {fake.date_between('+1d', '+20d').strftime('%A %d %B')} at "
        f"{rng.randint(9, 16)}:{rng.choice(('00', '20', '40'))}. Please arrive 10 minutes early "
        "and bring photo ID and a list of your current medication. To cancel or rebook, call "
        f"{fake.phone_number()} or reply CANCEL. Reply STOP to opt out."
    )


def _greeting(fake: Any, rng: random.Random) -> str:
    # A long UCS-2 body: two parts of at most 67 UTF-16 units.
    return (
        f"Happy birthday {fake.first_name()}! 🎂 Everyone at {_company(fake)} wishes you a "
        "wonderful day. Here is 20% off your next order ✨"
    )


def _company(fake: Any) -> str:
    return str(fake.company()).split(",")[0][:24]


# One generator per kind of message; a demo walks all kinds in a shuffled order, so
# even ten sends show single and multi-part, GSM-7 (with an extension char) and UCS-2.
DEMO_KINDS = (_otp, _appointment, _parcel, _bill, _table_ready, _reminder, _greeting)


def _demo_to(fake: Any, rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(DEMO_MAGIC_TO)
    while True:  # a UK mobile outside the drama range, which the magic table owns
        number = str(fake.numerify("+447#########"))
        if not number.startswith("+447700900"):
            return number


async def demo(request: Request) -> Response:
    """Send `count` realistic messages (default 10, at most 100) as if through the API."""
    rt = runtime(request)
    payload = await read_json(request, rt.settings.max_body_bytes, optional=True)
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise ApiError(400, 'request body: must be a JSON object such as {"count": 10}')
    count = integer("count", payload.get("count", DEMO_DEFAULT), minimum=1, maximum=DEMO_MAX)
    project = _demo_project(request, payload)
    from faker import Faker  # imported on first demo: it takes ~0.3 s and most runs never demo

    rng = random.Random()
    fake = Faker("en_GB")
    fake.seed_instance(rng.getrandbits(32))
    kinds: list[Any] = []
    sent: list[str] = []
    rejected = 0
    for _ in range(count):
        if not kinds:
            kinds = list(DEMO_KINDS)
            rng.shuffle(kinds)
        body = kinds.pop()(fake, rng)
        send = {"to": _demo_to(fake, rng), "body": body, "from": rng.choice(DEMO_SENDERS)}
        req = parse_send(send, max_segments=rt.settings.max_segments)
        # A refusal or a dropped connection is logged as the API would log it; the
        # demo answers at once whatever latency a rule asks for.
        outcome = rt.send(
            project,
            req,
            source="demo",
            raw_body=json.dumps(send).encode(),
            path=request.url.path,
        )
        if isinstance(outcome, Accepted):
            sent.append(outcome.message.sid)
        else:
            rejected += 1
    return JSONResponse({"projectId": project.project_id, "sent": sent, "rejected": rejected})


routes: list[BaseRoute] = [
    Route("/", index, methods=["GET"], include_in_schema=False),
    Route("/_mock/demo", demo, methods=["POST"]),
    Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
]
