"""In-process transports for httpx2 and httpx: a client's requests go straight to the app.

The app keeps its state on one event loop (clock jobs, the event bus, the webhook
dispatcher's connection pool). `httpx2.ASGITransport` would run the app on the
*caller's* loop and split that state across loops, so these transports instead hand
each request to the loop that already serves the app (a `LiveServer`'s) and carry
the response back as it is produced. Streaming responses (`/_mock/events`) stream.

One object serves both client libraries: it recognises which library a request belongs
to and answers with that library's `Response`, byte stream and exceptions (`ReadTimeout`,
`ConnectError`, `RemoteProtocolError`). httpx2 is the runtime dependency; httpx is never
imported here, only found in `sys.modules` (whoever hands us an `httpx.Request` has
imported httpx already), so it costs nothing to those who do not use it.

    transport = AugnetTransport(live.app, live.loop)        # httpx2.Client or httpx.Client
    transport = AsyncAugnetTransport(live.app, live.loop)   # either library's AsyncClient
    transport = NetworkTransport()                          # plain HTTP, either library
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, NoReturn, Self, TypeVar, cast, overload

import httpx2

if TYPE_CHECKING:
    import httpx

    Request = httpx2.Request | httpx.Request
    Response = httpx2.Response | httpx.Response

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]
Batch = list[Message]
Deliver = Callable[[Batch], None]
T = TypeVar("T")

# Pseudo-messages the exchange adds to the ASGI ones it relays.
_FAILED = "augnet.failed"  # the app raised before finishing the response
_DONE = "augnet.done"  # the app returned before finishing the response
_DROPPED = "augnet.dropped"  # the app closed the connection on purpose
_ENDINGS = (_FAILED, _DONE, _DROPPED)
CLIENT = ("127.0.0.1", 50000)  # what the app sees as the peer address

# The client libraries served, by import name; the first is the runtime dependency.
SUPPORTED = ("httpx2", "httpx")
USAGE = (
    "augnet-mock's transports serve httpx2 and httpx clients only: "
    "httpx2.Client / httpx.Client(transport=augnet.transport()), "
    "httpx2.AsyncClient / httpx.AsyncClient(transport=augnet.async_transport())"
)


# -- which library ------------------------------------------------------------------


class _Library:
    """One client library's classes, as the transports use them: built once per library."""

    def __init__(self, module: Any) -> None:
        # httpx2 and httpx share this API, so the module is typed by its use below.
        self.module = module
        # The byte streams must be the library's own classes: its client asserts so.
        self.sync_body = _subclass(_SyncBody, module.SyncByteStream)
        self.async_body = _subclass(_AsyncBody, module.AsyncByteStream)

    def response(self, start: Message, stream: _SyncBody | _AsyncBody) -> Response:
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        response: Response = self.module.Response(
            int(start["status"]), headers=headers, stream=stream
        )
        return response

    def no_response(self, request: Request, message: Message) -> Response:
        """What a socket client would have seen when the app ended without answering."""
        if message["type"] in (_DONE, _DROPPED):
            # A dropped-connection scenario, or an app that never answered: the socket closes.
            raise self.module.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        # Any other exception before the response started: uvicorn answers a bare 500.
        response: Response = self.module.Response(
            500,
            headers=[(b"content-type", b"text/plain; charset=utf-8")],
            content=b"Internal Server Error",
        )
        return response

    def cut_short(self, request: Request) -> Exception:
        error: Exception = self.module.RemoteProtocolError(
            "peer closed connection without sending complete message body", request=request
        )
        return error

    def read_timeout(self, request: Request) -> Exception:
        error: Exception = self.module.ReadTimeout("augnet-mock: read timed out", request=request)
        return error

    def not_running(self, request: Request) -> Exception:
        error: Exception = self.module.ConnectError(
            "augnet-mock: the server's loop is not running", request=request
        )
        return error


@functools.cache
def _library(name: str) -> _Library:
    return _Library(sys.modules[name])


def library_of(request: object) -> _Library:
    """The library `request` belongs to; a TypeError naming what is supported otherwise."""
    for name in SUPPORTED:
        module = sys.modules.get(name)
        if module is not None and isinstance(request, module.Request):
            return _library(name)
    kind = type(request)
    raise TypeError(f"{USAGE}; got a {kind.__module__}.{kind.__qualname__} request")


def _subclass(cls: type[T], base: type) -> type[T]:
    """`cls` made a subclass of `base` too (a library's stream or transport base class)."""
    plain: type = cls  # mypy takes a type[T] for unhashable
    return cast(type[T], _mix(plain, base))


@functools.cache
def _mix(cls: type, base: type) -> type:
    # Built once per pair: a class made per request would cost more than the request.
    attributes = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    return type(cls.__name__, (cls, base), attributes | {"__doc__": cls.__doc__})


def _with_httpx(cls: type[T], base: str) -> type[T]:
    """`cls`, or once httpx is imported, its subclass that is an httpx `base` as well, so
    that `isinstance(transport, httpx.BaseTransport)` holds, as the type hints say."""
    httpx_module = sys.modules.get("httpx")
    if httpx_module is None or issubclass(cls, getattr(httpx_module, base)):
        return cls
    return _subclass(cls, getattr(httpx_module, base))


# Attributes other client libraries look up on what they were handed as a transport (or
# connector): answered with a TypeError saying what is supported, not an AttributeError
# from deep inside that library.
_FOREIGN = {
    "send": "requests (it calls a transport adapter's send)",
    "_loop": "aiohttp (it reads a connector's _loop)",
    "urlopen": "urllib3 (it calls a pool's urlopen)",
}


# What a client of the other kind (sync or async) calls on its transport.
_SYNC_ONLY = frozenset({"handle_request", "__enter__", "close"})
_ASYNC_ONLY = frozenset({"handle_async_request", "__aenter__", "aclose"})


def _foreign_use(transport: object, name: str, wrong_kind: frozenset[str], serves: str) -> NoReturn:
    if name in wrong_kind:
        raise TypeError(f"{type(transport).__name__} serves {serves}")
    library = _FOREIGN.get(name)
    if library is None:
        raise AttributeError(f"{type(transport).__name__!r} object has no attribute {name!r}")
    raise TypeError(f"{USAGE}; {library} is not supported")


# -- the exchange ---------------------------------------------------------------------


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


def _scope(request: Request) -> dict[str, Any]:
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


def _read_timeout(request: Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if value is not None else None


def _loop_of(
    loop: asyncio.AbstractEventLoop | None, request: Request, library: _Library
) -> asyncio.AbstractEventLoop:
    if loop is None or loop.is_closed() or not loop.is_running():
        raise library.not_running(request)
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


class _Body:
    """What the sync and async response bodies share: reading the app's body messages
    in order, and telling the app the client left if it closes before the end. Each
    library gets its own subclass that is also its byte-stream class (`_Library`)."""

    def __init__(
        self, exchange: _Exchange, runner: _Runner, request: Request, library: _Library
    ) -> None:
        self._exchange = exchange
        self._runner = runner
        self._request = request
        self._library = library
        self._timeout = _read_timeout(request)
        self._complete = False

    def _chunk(self, message: Message) -> bytes:
        """The bytes one body message carries; raises if the app ended without finishing."""
        if message["type"] in _ENDINGS:
            self._complete = True
            raise self._library.cut_short(self._request)
        self._complete = not message.get("more_body", False)
        return bytes(message.get("body") or b"")

    def _abandon(self) -> None:
        if not self._complete:
            self._complete = True
            self._runner.disconnect(self._exchange)


# -- the shared faces ---------------------------------------------------------------

if TYPE_CHECKING:
    # For type checkers the transports are both libraries' transports, so either
    # client accepts them; at run time httpx's base joins once httpx is imported
    # (`_with_httpx`). The two bases' `handle_request` differ only in which library's
    # Request and Response they name; the overloads below reconcile them.
    class _SyncBase(httpx2.BaseTransport, httpx.BaseTransport):  # type: ignore[misc]
        pass

    class _AsyncBase(httpx2.AsyncBaseTransport, httpx.AsyncBaseTransport):  # type: ignore[misc]
        pass

else:
    _SyncBase = httpx2.BaseTransport
    _AsyncBase = httpx2.AsyncBaseTransport


class SyncTransport(_SyncBase):
    """A transport for `httpx2.Client` and `httpx.Client` alike: it answers each request
    with the classes of the library the request belongs to."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        return super().__new__(_with_httpx(cls, "BaseTransport"))

    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...
    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...
    def handle_request(self, request: Request) -> Response:
        return self._handle(request, library_of(request))

    def _handle(self, request: Request, library: _Library) -> Response:
        raise NotImplementedError

    if not TYPE_CHECKING:  # hidden from type checkers, which then flag such misuse

        def __getattr__(self, name: str) -> NoReturn:
            _foreign_use(
                self, name, _ASYNC_ONLY, "a sync client; an AsyncClient needs async_transport()"
            )


class AsyncTransport(_AsyncBase):
    """The async face: for `httpx2.AsyncClient` and `httpx.AsyncClient` alike."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        return super().__new__(_with_httpx(cls, "AsyncBaseTransport"))

    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...
    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
    async def handle_async_request(self, request: Request) -> Response:
        return await self._handle(request, library_of(request))

    async def _handle(self, request: Request, library: _Library) -> Response:
        raise NotImplementedError

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> NoReturn:
            _foreign_use(self, name, _SYNC_ONLY, "an AsyncClient; a sync Client needs transport()")


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

    def get(self, timeout: float | None) -> Message:
        """The next message; TimeoutError if none comes within `timeout` seconds."""
        while not self._items:
            if not self._wake.acquire(timeout=-1 if timeout is None else timeout):
                raise TimeoutError
        return self._items.popleft()


class _SyncBody(_Body):
    def __init__(
        self,
        inbox: _Inbox,
        exchange: _Exchange,
        runner: _Runner,
        request: Request,
        library: _Library,
    ) -> None:
        super().__init__(exchange, runner, request, library)
        self._inbox = inbox

    def __iter__(self) -> Iterator[bytes]:
        while not self._complete:
            try:
                message = self._inbox.get(self._timeout)
            except TimeoutError:
                raise self._library.read_timeout(self._request) from None
            chunk = self._chunk(message)
            if chunk:
                yield chunk

    def close(self) -> None:
        self._abandon()


class AugnetTransport(SyncTransport):
    """A sync transport that serves requests from `app`, running on `loop`, with no socket."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop | None) -> None:
        self.app = app
        self.loop = loop
        self._runner: _Runner | None = None

    def _handle(self, request: Request, library: _Library) -> Response:
        loop = _loop_of(self.loop, request, library)
        if self._runner is None or self._runner.loop is not loop:
            self._runner = _Runner(loop)
        runner = self._runner
        inbox = _Inbox()
        exchange = _Exchange(self.app, _scope(request), request.read(), inbox.put)
        runner.start(exchange)
        try:
            message = inbox.get(_read_timeout(request))
        except TimeoutError:
            runner.disconnect(exchange)
            raise library.read_timeout(request) from None
        if message["type"] != "http.response.start":
            return library.no_response(request, message)
        return library.response(
            message, library.sync_body(inbox, exchange, runner, request, library)
        )


class NetworkTransport(SyncTransport):
    """Plain HTTP through the `HTTPTransport` of the request's own library (httpx2 or
    httpx), made at that library's first request: for a mock in another process."""

    def __init__(self, **options: Any) -> None:
        self._options = options  # passed to each library's HTTPTransport
        self._transports: dict[_Library, Any] = {}

    def _handle(self, request: Request, library: _Library) -> Response:
        transport = self._transports.get(library)
        if transport is None:
            transport = self._transports[library] = library.module.HTTPTransport(**self._options)
        response: Response = transport.handle_request(request)
        return response

    def close(self) -> None:
        # Forgotten too: a shared transport closed by one client is made anew on next use.
        transports, self._transports = self._transports, {}
        for transport in transports.values():
            transport.close()


# -- async --------------------------------------------------------------------------


class _AsyncBody(_Body):
    def __init__(
        self,
        inbox: asyncio.Queue[Batch],
        pending: deque[Message],
        exchange: _Exchange,
        runner: _Runner,
        request: Request,
        library: _Library,
    ) -> None:
        super().__init__(exchange, runner, request, library)
        self._inbox = inbox
        self._pending = pending

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._complete:
            if not self._pending:
                try:
                    self._pending.extend(await _next_batch(self._inbox, self._timeout))
                except TimeoutError:
                    raise self._library.read_timeout(self._request) from None
            chunk = self._chunk(self._pending.popleft())
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        self._abandon()


async def _next_batch(inbox: asyncio.Queue[Batch], read_timeout: float | None) -> Batch:
    """The next batch; TimeoutError if none comes within `read_timeout` seconds."""
    return await asyncio.wait_for(inbox.get(), read_timeout)


class AsyncAugnetTransport(AsyncTransport):
    """The async twin of `AugnetTransport`, for an `AsyncClient` on any loop."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop | None) -> None:
        self.app = app
        self.loop = loop
        self._runner: _Runner | None = None

    async def _handle(self, request: Request, library: _Library) -> Response:
        loop = _loop_of(self.loop, request, library)
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
            pending = deque(await _next_batch(inbox, _read_timeout(request)))
        except TimeoutError:
            runner.disconnect(exchange)
            raise library.read_timeout(request) from None
        message = pending.popleft()
        if message["type"] != "http.response.start":
            return library.no_response(request, message)
        body = library.async_body(inbox, pending, exchange, runner, request, library)
        return library.response(message, body)


class AsyncNetworkTransport(AsyncTransport):
    """The async twin of `NetworkTransport`."""

    def __init__(self, **options: Any) -> None:
        self._options = options  # passed to each library's AsyncHTTPTransport
        self._transports: dict[_Library, Any] = {}

    async def _handle(self, request: Request, library: _Library) -> Response:
        transport = self._transports.get(library)
        if transport is None:
            transport = library.module.AsyncHTTPTransport(**self._options)
            self._transports[library] = transport
        response: Response = await transport.handle_async_request(request)
        return response

    async def aclose(self) -> None:
        transports, self._transports = self._transports, {}
        for transport in transports.values():
            await transport.aclose()
