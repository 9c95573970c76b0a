"""The example app under test: it texts riders through Augnet and takes Augnet's
signed status callbacks. Nothing here knows about augnet-mock."""

from __future__ import annotations

import json

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from augnet_mock import SignatureError, verify


class TaxiNotifier:
    """Sends rider SMS with a client made for Augnet (base URL and Basic auth)."""

    def __init__(self, client: httpx2.Client, sender: str = "ABCTAXI") -> None:
        self.client = client
        self.sender = sender

    def send(self, to: str, body: str) -> str:
        message = {"to": to, "from": self.sender, "body": body}
        response = self.client.post("/api/v2/message", json=message)
        response.raise_for_status()
        sid: str = response.json()["sid"]
        return sid

    def taxi_arriving(self, to: str, *, minutes: int, registration: str) -> str:
        return self.send(
            to, f"Your Taxi will arrive in {minutes} minutes registration {registration}"
        )

    def login_code(self, to: str, code: str) -> str:
        return self.send(to, f"Your ABC Taxi code is {code}. It expires in 10 minutes.")


def status_webhook(signing_key: str) -> Starlette:
    """Receives status callbacks, rejects any that fail verification, keeps the rest."""
    statuses: dict[str, list[str]] = {}

    async def receive(request: Request) -> Response:
        body = await request.body()
        # The request target as received: the signature covers the query string too.
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            verify(method="POST", path=target, headers=request.headers, body=body, key=signing_key)
        except SignatureError as exc:  # says which check failed: digest, date, keyId, signature
            return Response(str(exc), status_code=401)
        event = json.loads(body)
        statuses.setdefault(event["MessageSid"], []).append(event["MessageStatus"])
        return Response(status_code=204)

    app = Starlette(routes=[Route("/augnet/status", receive, methods=["POST"])])
    app.state.statuses = statuses
    return app
