"""The control API client (`/_mock`, SPEC §2.1.1), sync and async.

One place knows the control API's HTTP: calls and their errors, the admin token,
paging through `nextCursor`, and waiting on the event stream. `ControlClient` serves
the handle's ordinary methods; `AsyncControlClient` its awaitable ones, which must
not block the caller's event loop (a webhook receiver may be running on it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import httpx2

from .expectations import CallbackFilters, MessageFilters

T = TypeVar("T")

CONTROL_TIMEOUT = 10.0  # seconds for one control API call
TOKEN_HINT = (
    "the server has an admin token: pass it as AugnetMock.create(..., token=...), "
    "or to pytest as --augnet-token or AUGNET_MOCK_TOKEN"
)
PAGE_LIMIT = 1_000  # the largest page the control API serves (paging.MAX_LIMIT)
# A list read follows nextCursor at most this many times: a filtered page scans at
# most 10,000 stored rows, so this covers a million and still ends if a server loops.
MAX_PAGES = 1_000
# "missed": the stream fell behind and dropped events, so anything may have changed.
MESSAGE_EVENTS = frozenset({"message", "status", "cleared", "reset", "missed"})
CALLBACK_EVENTS = frozenset({"callback", "cleared", "reset", "missed"})
EVENTS_PATH = "/_mock/events"


class AugnetError(Exception):
    """The mock refused a control request; the message quotes its answer."""


def message_params(project_id: str, filters: MessageFilters) -> dict[str, Any]:
    """The query of GET /_mock/messages for these filters: the server filters on
    project, to, from and status; body, body_contains and segments are matched here."""
    return {
        "projectId": project_id,
        "to": filters.get("to"),
        "from": filters.get("from_"),
        "status": filters.get("status"),
    }


def callback_params(project_id: str, filters: CallbackFilters) -> dict[str, Any]:
    """The query of GET /_mock/callbacks for these filters."""
    ok = filters.get("ok")
    return {
        "projectId": project_id,
        "status": filters.get("status"),
        "sid": filters.get("sid"),
        "ok": None if ok is None else ("true" if ok else "false"),
    }


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    query = {k: v for k, v in (params or {}).items() if v is not None}
    return query or None


def _answer(
    method: str, path: str, response: httpx2.Response, expect: int | tuple[int, ...]
) -> Any:
    """The JSON of a wanted answer; an AugnetError quoting the server's message otherwise."""
    wanted = (expect,) if isinstance(expect, int) else expect
    if response.status_code not in wanted:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        detail = answer.get("message") if isinstance(answer, dict) else None
        detail = detail or response.text
        if response.status_code == 401:
            detail += f" ({TOKEN_HINT})"
        raise AugnetError(f"{method} {path} -> {response.status_code}: {detail}")
    return response.json() if response.content else None


def _unreachable(base_url: str, exc: Exception) -> AugnetError:
    return AugnetError(f"augnet-mock at {base_url} is unreachable: {exc}")


class EventKinds:
    """Reads the event stream's lines (SSE) and names each event as it ends."""

    def __init__(self) -> None:
        self._kind: str | None = None

    def feed(self, line: str) -> str | None:
        """The kind of the event this line ends, or None."""
        if line.startswith("event:"):
            self._kind = line[6:].strip()
        elif not line and self._kind is not None:
            kind, self._kind = self._kind, None
            return kind
        return None


def _stream_timeout(timeout: float) -> httpx2.Timeout:
    return httpx2.Timeout(CONTROL_TIMEOUT, read=max(timeout, 0.001))


class ControlClient:
    """Blocking calls to one server's control API, through a shared `httpx2.Client`."""

    def __init__(self, base_url: str, http: httpx2.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expect: int | tuple[int, ...] = 200,
    ) -> Any:
        try:
            response = self.http.request(
                method, self.base_url + path, json=json, params=_query(params)
            )
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return _answer(method, path, response, expect)

    def list_all(self, path: str, key: str, params: Mapping[str, Any]) -> list[Any]:
        """Every item of a paged list route, following nextCursor to the last page."""
        items: list[Any] = []
        query = {**params, "limit": PAGE_LIMIT}
        for _ in range(MAX_PAGES):
            data = self.call("GET", path, params=query)
            items += data[key]
            cursor = data.get("nextCursor")  # absent from servers that predate paging
            if not cursor:
                return items
            query["cursor"] = cursor
        raise AugnetError(f"GET {path}: still more pages after {MAX_PAGES}; giving up")

    @contextmanager
    def _events(self, project_id: str, timeout: float) -> Iterator[Iterator[str]]:
        url = self.base_url + EVENTS_PATH
        params = {"projectId": project_id}
        with self.http.stream("GET", url, params=params, timeout=_stream_timeout(timeout)) as r:
            if r.status_code != 200:
                raise AugnetError(f"GET {EVENTS_PATH} -> {r.status_code}")
            yield r.iter_lines()

    def wait(
        self, project_id: str, check: Callable[[], T | None], kinds: frozenset[str], timeout: float
    ) -> T | None:
        """check()'s first non-None answer, looked for again on each event of `kinds`
        for this project (the event stream, not polling); None when `timeout` runs out."""
        deadline = time.monotonic() + timeout
        parser = EventKinds()
        try:
            with self._events(project_id, timeout) as lines:
                for line in lines:
                    # The server subscribes before it says so: nothing after is missed.
                    if line.startswith(": connected") or parser.feed(line) in kinds:
                        found = check()
                        if found is not None:
                            return found
                    if time.monotonic() >= deadline:
                        break
        except httpx2.ReadTimeout:
            pass  # nothing more happened before the deadline
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return check()  # a last look, at the deadline


class AsyncControlClient:
    """The awaitable twin of `ControlClient`, through an `httpx2.AsyncClient`."""

    def __init__(self, base_url: str, http: httpx2.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expect: int | tuple[int, ...] = 200,
    ) -> Any:
        try:
            response = await self.http.request(
                method, self.base_url + path, json=json, params=_query(params)
            )
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return _answer(method, path, response, expect)

    async def list_all(self, path: str, key: str, params: Mapping[str, Any]) -> list[Any]:
        """Every item of a paged list route, following nextCursor to the last page."""
        items: list[Any] = []
        query = {**params, "limit": PAGE_LIMIT}
        for _ in range(MAX_PAGES):
            data = await self.call("GET", path, params=query)
            items += data[key]
            cursor = data.get("nextCursor")
            if not cursor:
                return items
            query["cursor"] = cursor
        raise AugnetError(f"GET {path}: still more pages after {MAX_PAGES}; giving up")

    @asynccontextmanager
    async def _events(self, project_id: str, seconds: float) -> AsyncIterator[AsyncIterator[str]]:
        url = self.base_url + EVENTS_PATH
        params = {"projectId": project_id}
        async with self.http.stream(
            "GET", url, params=params, timeout=_stream_timeout(seconds)
        ) as r:
            if r.status_code != 200:
                raise AugnetError(f"GET {EVENTS_PATH} -> {r.status_code}")
            yield r.aiter_lines()

    async def wait(
        self,
        project_id: str,
        check: Callable[[], Awaitable[T | None]],
        kinds: frozenset[str],
        seconds: float,
    ) -> T | None:
        """As `ControlClient.wait` for `seconds`, awaiting: the caller's loop runs on."""
        try:
            async with asyncio.timeout(seconds):
                return await self._watch(project_id, check, kinds, seconds)
        except (TimeoutError, httpx2.ReadTimeout):
            pass  # nothing more happened before the deadline
        except httpx2.TransportError as exc:
            raise _unreachable(self.base_url, exc) from exc
        return await check()  # a last look, at the deadline

    async def _watch(
        self,
        project_id: str,
        check: Callable[[], Awaitable[T | None]],
        kinds: frozenset[str],
        seconds: float,
    ) -> T | None:
        parser = EventKinds()
        async with self._events(project_id, seconds) as lines:
            async for line in lines:
                if line.startswith(": connected") or parser.feed(line) in kinds:
                    found = await check()
                    if found is not None:
                        return found
        return None
