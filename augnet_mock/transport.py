"""In-process httpx2 transports: a client's requests go straight to the app, no socket.

The app keeps its state on one event loop (clock jobs, the event bus, the webhook
dispatcher's connection pool). `httpx2.ASGITransport` would run the app on the
*caller's* loop and split that state across loops, so these transports instead hand
each request to the loop that already serves the app (a `LiveServer`'s) and carry
the response back as it is produced. Streaming responses (`/_mock/events`) stream.

    transport = AugnetTransport(live.app, live.loop)        # for httpx2.Client
    transport = AsyncAugnetTransport(live.app, live.loop)   # for httpx2.AsyncClient
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx2

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]
Batch = list[Message]
Deliver = Callable[[Batch], None]

# Pseudo-messages the exchange adds to the ASGI ones it relays.
_FAILED = "augnet.failed"  # the app raised before finishing the response
_DONE = "augnet.done"  # the app returned before finishing the response
_DROPPED = "augnet.dropped"  # the app closed the connection on purpose
_ENDINGS = (_FAILED, _DONE, _DROPPED)
CLIENT = ("127.0.0.1", 50000)  # what the app sees as the peer address


class _Exchange:
    """One request and its response, run on the app's loop, relayed to the caller.

    Messages go to the caller in batches, so an ordinary response (start, then one
    body) costs the caller a single wake-up. `receive` is a bound method and the
    exchange doubles as its own `transport` with an `abort()`: that is how
    `api.drop_connection` closes a connection with no answer under uvicorn, and here
    it reaches the client as a dropped connection.
    """

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: bytes, deliver: Deliver) -> None:
        self.app = app
        self.scope = scope
        self.body = body
        self.deliver = deliver
        self.transport = self
        self.disconnected = False  # set by the client closing early, or by an abort
        self._body_sent = False
        self._start: Message | None = None  # held back until the first body arrives
        self._complete = False
        self._gone: asyncio.Event | None = None

    async def run(self) -> None:
        self._gone = asyncio.Event()
        if self.disconnected:
            self._gone.set()
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as exc:  # relayed: the caller decides what the client sees
            self._end({"type": _FAILED, "error": exc})
            if not isinstance(exc, Exception):
                raise
        else:
            self._end({"type": _DONE})

    def _end(self, message: Message) -> None:
        if not self._complete:
            self._complete = True
            self.deliver([m for m in (self._start, message) if m is not None])

    async def receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # After the body, the only news is the client going away (closing the stream).
        assert self._gone is not None
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.disconnected or self._complete:
            return  # like uvicorn: what is sent after a disconnect is dropped
        if message["type"] == "http.response.start":
            self._start = message
            return
        batch = [message] if self._start is None else [self._start, message]
        self._start = None
        self._complete = not message.get("more_body", False)
        self.deliver(batch)

    def disconnect(self) -> None:
        """The client closed the response early. Called on the app's loop."""
        self.disconnected = True
        if self._gone is not None:
            self._gone.set()

    def abort(self) -> None:
        """Close the connection with no answer (a dropped-connection scenario)."""
        self._end({"type": _DROPPED})
        self.disconnect()


def _scope(request: httpx2.Request) -> dict[str, Any]:
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "client": CLIENT,
        "state": {},
    }


def _read_timeout(request: httpx2.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if value is not None else None


def _loop_of(
    loop: asyncio.AbstractEventLoop | None, request: httpx2.Request
) -> asyncio.AbstractEventLoop:
    if loop is None or loop.is_closed() or not loop.is_running():
        raise httpx2.ConnectError("augnet-mock: the server's loop is not running", request=request)
    return loop


class _Runner:
    """Starts exchanges on the app's loop and keeps them referenced while they run."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, exchange: _Exchange) -> None:
        self.loop.call_soon_threadsafe(self._spawn, exchange)

    def _spawn(self, exchange: _Exchange) -> None:
        task = self.loop.create_task(exchange.run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def disconnect(self, exchange: _Exchange) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(exchange.disconnect)


def _no_response(request: httpx2.Request, message: Message) -> httpx2.Response:
    """What a socket client would have seen when the app ended without answering."""
    if message["type"] in (_DONE, _DROPPED):
        # A dropped-connection scenario, or an app that never answered: the socket closes.
        raise httpx2.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    # Any other exception before the response started: uvicorn answers a bare 500.
    return httpx2.Response(
        500,
        headers=[(b"content-type", b"text/plain; charset=utf-8")],
        content=b"Internal Server Error",
    )


def _cut_short(request: httpx2.Request) -> httpx2.RemoteProtocolError:
    return httpx2.RemoteProtocolError(
        "peer closed connection without sending complete message body", request=request
    )


def _response(
    request: httpx2.Request, start: Message, stream: httpx2.SyncByteStream | httpx2.AsyncByteStream
) -> httpx2.Response:
    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
    return httpx2.Response(int(start["status"]), headers=headers, stream=stream)


# -- sync ---------------------------------------------------------------------------


class _Inbox:
    """Batches from the app's loop to one waiting thread: a deque and a wake-up lock
    (lighter than queue.Queue, which matters at thousands of requests a second)."""

    def __init__(self) -> None:
        self._items: deque[Message] = deque()
        self._wake = threading.Lock()
        self._wake.acquire()

    def put(self, batch: Batch) -> None:
        self._items.extend(batch)
        if self._wake.locked():
            with contextlib.suppress(RuntimeError):  # released meanwhile by another put
                self._wake.release()

    def get(self, timeout: float | None, request: httpx2.Request) -> Message:
        while not self._items:
            if not self._wake.acquire(timeout=-1 if timeout is None else timeout):
                raise httpx2.ReadTimeout("augnet-mock: read timed out", request=request)
        return self._items.popleft()


class _Body:
    """What the sync and async response bodies share: reading the app's body messages
    in order, and telling the app the client left if it closes before the end."""

    def __init__(self, exchange: _Exchange, runner: _Runner, request: httpx2.Request) -> None:
        self._exchange = exchange
        self._runner = runner
        self._request = request
        self._timeout = _read_timeout(request)
        self._complete = False

    def _chunk(self, message: Message) -> bytes:
        """The bytes one body message carries; raises if the app ended without finishing."""
        if message["type"] in _ENDINGS:
            self._complete = True
            raise _cut_short(self._request)
        self._complete = not message.get("more_body", False)
        return bytes(message.get("body") or b"")

    def _abandon(self) -> None:
        if not self._complete:
            self._complete = True
            self._runner.disconnect(self._exchange)


class _SyncBody(_Body, httpx2.SyncByteStream):
    def __init__(
        self, inbox: _Inbox, exchange: _Exchange, runner: _Runner, request: httpx2.Request
    ) -> None:
        super().__init__(exchange, runner, request)
        self._inbox = inbox

    def __iter__(self) -> Iterator[bytes]:
        while not self._complete:
            chunk = self._chunk(self._inbox.get(self._timeout, self._request))
            if chunk:
                yield chunk

    def close(self) -> None:
        self._abandon()


class AugnetTransport(httpx2.BaseTransport):
    """A sync transport that serves requests from `app`, running on `loop`, with no socket."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop | None) -> None:
        self.app = app
        self.loop = loop
        self._runner: _Runner | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        loop = _loop_of(self.loop, request)
        if self._runner is None or self._runner.loop is not loop:
            self._runner = _Runner(loop)
        runner = self._runner
        inbox = _Inbox()
        exchange = _Exchange(self.app, _scope(request), request.read(), inbox.put)
        runner.start(exchange)
        try:
            message = inbox.get(_read_timeout(request), request)
        except httpx2.ReadTimeout:
            runner.disconnect(exchange)
            raise
        if message["type"] != "http.response.start":
            return _no_response(request, message)
        return _response(request, message, _SyncBody(inbox, exchange, runner, request))


# -- async --------------------------------------------------------------------------


class _AsyncBody(_Body, httpx2.AsyncByteStream):
    def __init__(
        self,
        inbox: asyncio.Queue[Batch],
        pending: deque[Message],
        exchange: _Exchange,
        runner: _Runner,
        request: httpx2.Request,
    ) -> None:
        super().__init__(exchange, runner, request)
        self._inbox = inbox
        self._pending = pending

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._complete:
            if not self._pending:
                self._pending.extend(await _next_batch(self._inbox, self._timeout, self._request))
            chunk = self._chunk(self._pending.popleft())
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        self._abandon()


async def _next_batch(
    inbox: asyncio.Queue[Batch], read_timeout: float | None, request: httpx2.Request
) -> Batch:
    try:
        return await asyncio.wait_for(inbox.get(), read_timeout)
    except TimeoutError:
        raise httpx2.ReadTimeout("augnet-mock: read timed out", request=request) from None


class AsyncAugnetTransport(httpx2.AsyncBaseTransport):
    """The async twin of `AugnetTransport`, for `httpx2.AsyncClient` on any loop."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop | None) -> None:
        self.app = app
        self.loop = loop
        self._runner: _Runner | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        loop = _loop_of(self.loop, request)
        if self._runner is None or self._runner.loop is not loop:
            self._runner = _Runner(loop)
        runner = self._runner
        here = asyncio.get_running_loop()
        inbox: asyncio.Queue[Batch] = asyncio.Queue()

        def deliver(batch: Batch) -> None:
            # The caller's loop may have closed before the app's last word.
            with contextlib.suppress(RuntimeError):
                here.call_soon_threadsafe(inbox.put_nowait, batch)

        exchange = _Exchange(self.app, _scope(request), await request.aread(), deliver)
        runner.start(exchange)
        try:
            pending = deque(await _next_batch(inbox, _read_timeout(request), request))
        except httpx2.ReadTimeout:
            runner.disconnect(exchange)
            raise
        message = pending.popleft()
        if message["type"] != "http.response.start":
            return _no_response(request, message)
        return _response(request, message, _AsyncBody(inbox, pending, exchange, runner, request))
