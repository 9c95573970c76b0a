"""The servers the benchmarks start, one per subprocess.

    python bench/_serve.py mock     --port N --options '{"send_delay": 0, ...}'
    python bench/_serve.py bare     --port N
    python bench/_serve.py receiver --port N [--more-ports N,N,...]
    python bench/_serve.py hang     --port N
    python bench/_serve.py drip     --port N
    python bench/_serve.py smpp-bare --port N

`mock` is `create_app(Settings(**options))`; `bare` is a Starlette app that reads
and parses the same JSON and answers {"sid": ...}, the floor the mock is compared
with. Both run under uvicorn with httptools (and uvloop when installed), access
log off. `receiver` is a raw asyncio + httptools webhook receiver that answers
200 at once and remembers (SmsSid, SmsStatus, time.time(), port) for every
callback, on one port or several (so that each project of a benchmark can have a
receiver of its own); `GET /_stats` returns the count and `GET /_dump` every record.
`hang` and `drip` are broken receivers: `hang` reads each request and never answers;
`drip` answers 200, but one byte a second (a whole answer takes about 40 s).
`smpp-bare` is the SMPP floor: it reads each PDU's header only and answers a bind
with bind_*_resp and anything else with a fixed submit_sm_resp of the same sequence.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import struct
import time
import uuid
from collections.abc import Callable, Coroutine
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
        self.records: list[tuple[str, str, float, int]] = []
        self.bad = 0  # callbacks whose body was not the JSON we expect


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, receipts: Receipts) -> None:
        self.receipts = receipts
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.transport: asyncio.Transport | None = None
        self.port = 0  # the local port this connection came in on

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.port = transport.get_extra_info("sockname")[1]

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
            self.receipts.records.append((data["SmsSid"], data["SmsStatus"], now, self.port))
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


async def run_receiver(ports: list[int]) -> None:
    receipts = Receipts()
    await serve_until_signal(lambda: ReceiverProtocol(receipts), ports)


# -- broken receivers -----------------------------------------------------------------

DRIP_INTERVAL = 1.0  # seconds between the bytes of a `drip` answer


class HangProtocol(asyncio.Protocol):
    """Accepts, reads and discards; never answers (a receiver that hangs)."""

    def data_received(self, data: bytes) -> None:
        pass


class DripProtocol(asyncio.Protocol):
    """Answers every request with 200, one byte every DRIP_INTERVAL seconds.

    Each byte arrives well within any per-read timeout, so only a deadline on the
    whole answer stops a client waiting about 40 s for it.
    """

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        for task in self.tasks:
            task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        task = asyncio.get_running_loop().create_task(self._drip())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drip(self) -> None:
        for i in range(len(OK)):
            if self.transport is None or self.transport.is_closing():
                return
            self.transport.write(OK[i : i + 1])
            await asyncio.sleep(DRIP_INTERVAL)


# -- the bare SMPP responder ----------------------------------------------------------

SMPP_HEADER = struct.Struct(">IIII")  # SMPP 3.4 §3.2
SMPP_BINDS = (0x01, 0x02, 0x09)  # bind_receiver, bind_transmitter, bind_transceiver
FIXED_MESSAGE_ID = b"00000000-0000-1000-8000-000000000000\x00"  # as long as a sid


class BareSmppProtocol(asyncio.Protocol):
    """Frames by command_length and answers from the header alone: no body is decoded."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        buf = self.buf
        buf += data
        pos, out = 0, []
        while len(buf) - pos >= 16:
            length, command_id, _, sequence = SMPP_HEADER.unpack_from(buf, pos)
            if len(buf) - pos < length:
                break
            pos += length
            body = b"bare\x00" if command_id in SMPP_BINDS else FIXED_MESSAGE_ID
            resp_id = command_id | 0x80000000 if command_id in SMPP_BINDS else 0x80000004
            out.append(SMPP_HEADER.pack(16 + len(body), resp_id, 0, sequence) + body)
        del buf[:pos]
        if out:
            self.transport.write(b"".join(out))


async def serve_until_signal(factory: Callable[[], asyncio.Protocol], ports: list[int]) -> None:
    """Listen on every port until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(factory, "127.0.0.1", p, backlog=1024) for p in ports]
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()


def run_async(main: Coroutine[Any, Any, None]) -> None:
    if uvloop is not None:
        uvloop.run(main)
    else:
        asyncio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["mock", "bare", "receiver", "hang", "drip", "smpp-bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--options", default="{}", help="Settings(**options) for mock, as JSON")
    parser.add_argument("--more-ports", default="", help="receiver: more ports, comma-separated")
    args = parser.parse_args()
    ports = [args.port] + [int(p) for p in args.more_ports.split(",") if p]
    if args.kind == "receiver":
        run_async(run_receiver(ports))
    elif args.kind == "hang":
        run_async(serve_until_signal(HangProtocol, ports))
    elif args.kind == "drip":
        run_async(serve_until_signal(DripProtocol, ports))
    elif args.kind == "smpp-bare":
        run_async(serve_until_signal(BareSmppProtocol, ports))
    elif args.kind == "bare":
        run_uvicorn(bare_app(), args.port)
    else:
        from augnet_mock.cli import tune_gc

        app = mock_app(json.loads(args.options))
        tune_gc()  # as `augnet-mock serve` does: measure the server as shipped
        run_uvicorn(app, args.port)


if __name__ == "__main__":
    main()
