"""The servers the benchmarks start, one per subprocess.

    python bench/_serve.py mock     --port N --options '{"send_delay": 0, ...}'
    python bench/_serve.py bare     --port N
    python bench/_serve.py receiver --port N

`mock` is `create_app(Settings(**options))`; `bare` is a Starlette app that reads
and parses the same JSON and answers {"sid": ...}, the floor the mock is compared
with. Both run under uvicorn with httptools (and uvloop when installed), access
log off. `receiver` is a raw asyncio + httptools webhook receiver that answers
200 at once and remembers (SmsSid, SmsStatus, time.time()) for every callback;
`GET /_stats` returns the count and `GET /_dump` every record.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
import uuid
from typing import Any, cast

import httptools
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

try:
    import uvloop
except ImportError:  # pragma: no cover - uvicorn[standard] brings it
    uvloop = None  # type: ignore[assignment]


def bare_app() -> Starlette:
    async def send(request: Request) -> Response:
        payload = json.loads(await request.body())
        if not isinstance(payload, dict):
            return JSONResponse({"error": "expected an object"}, 400)
        return JSONResponse({"sid": str(uuid.uuid1())})

    return Starlette(routes=[Route("/api/v2/message", send, methods=["POST"])])


def mock_app(options: dict[str, Any]) -> Starlette:
    from augnet_mock.app import create_app
    from augnet_mock.settings import Settings

    return create_app(Settings(**options))


def run_uvicorn(app: Starlette, port: int) -> None:
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop" if uvloop is not None else "asyncio",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


# -- the webhook receiver ---------------------------------------------------------

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n"


class Receipts:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, float]] = []
        self.bad = 0  # callbacks whose body was not the JSON we expect


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, receipts: Receipts) -> None:
        self.receipts = receipts
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        now = time.time()
        assert self.transport is not None
        method = self.parser.get_method()
        if method == b"GET":
            self._control()
            return
        try:
            data = json.loads(b"".join(self.body))
            self.receipts.records.append((data["SmsSid"], data["SmsStatus"], now))
        except (ValueError, KeyError, TypeError):
            self.receipts.bad += 1
        self.transport.write(OK)

    def _control(self) -> None:
        assert self.transport is not None
        r = self.receipts
        if self.url.startswith(b"/_dump"):
            payload: dict[str, Any] = {"records": r.records, "bad": r.bad}
        elif self.url.startswith(b"/_clear"):
            r.records.clear()
            r.bad = 0
            payload = {"cleared": True}
        else:
            payload = {"count": len(r.records), "bad": r.bad}
        body = json.dumps(payload).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
        self.transport.write(head.encode() + b"Content-Type: application/json\r\n\r\n" + body)


async def run_receiver(port: int) -> None:
    loop = asyncio.get_running_loop()
    receipts = Receipts()
    server = await loop.create_server(
        lambda: ReceiverProtocol(receipts), "127.0.0.1", port, backlog=1024
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["mock", "bare", "receiver"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--options", default="{}", help="Settings(**options) for mock, as JSON")
    args = parser.parse_args()
    if args.kind == "receiver":
        if uvloop is not None:
            uvloop.run(run_receiver(args.port))
        else:
            asyncio.run(run_receiver(args.port))
    elif args.kind == "bare":
        run_uvicorn(bare_app(), args.port)
    else:
        from augnet_mock.cli import tune_gc

        app = mock_app(json.loads(args.options))
        tune_gc()  # as `augnet-mock serve` does: measure the server as shipped
        run_uvicorn(app, args.port)


if __name__ == "__main__":
    main()
