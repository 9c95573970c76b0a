"""The webhook dispatcher: the only component that makes outbound HTTP calls.

Each message has an outbox, sent in order: a status callback waits until the one
before it was acknowledged or gave up, so one message's callbacks always arrive
in order. A fixed pool of workers posts the heads of ready outboxes, oldest status
change first; waiting costs a small record, not a task. Retries are clock jobs with
exponential backoff, so a manual clock holds them too. A slow or dead receiver
only holds up its own message (and one worker while an attempt lasts). While send
requests keep arriving, callbacks take a narrow lane (`pacing`), so the API
keeps most of the loop.

The client is aiohttp rather than httpx2 (which the rest of the package uses):
callbacks go out at three per message, and aiohttp's pool costs about a tenth of
the CPU per request (README, design notes).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import aiohttp
import yarl

from .clock import Clock
from .events import EventBus
from .loopback import alias_loopback
from .models import CallbackAttempt
from .pacing import ApiFirstLane
from .scenarios import STALE_DATE_SECONDS
from .signing import digest, http_date, sign, signed_headers
from .store import Store

log = logging.getLogger("augnet_mock.dispatcher")

# Workers, so at most this many callbacks on the wire at once. Each message sends one
# callback at a time, so one dead receiver holds at most one worker (per attempt).
MAX_IN_FLIGHT = 100
CONNECT_TIMEOUT = 2.0  # seconds, at most; the read timeout is the configured one


@dataclass(slots=True)
class Pending:
    """One status callback waiting in a message's outbox."""

    sid: str
    project_id: str
    status: str
    url: str
    from_: str
    to: str
    seq: int  # when its status changed, in order: the oldest ready callback goes first
    changed_at: float  # loop time of the status change: how long the lane has held it
    faults: tuple[str, ...] = ()
    attempts: int = 0
    body: bytes = b""  # built at the first attempt, see `request_body`

    def request_body(self) -> bytes:
        # Built when first posted rather than at the status change, which under a
        # burst of sends is when the loop can least spare the time.
        if not self.body:
            self.body = callback_body(
                sid=self.sid,
                status=self.status,
                project_id=self.project_id,
                from_=self.from_,
                to=self.to,
            )
        return self.body


# Built once: json.dumps with options constructs a new encoder on every call.
_compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def callback_body(*, sid: str, status: str, project_id: str, from_: str, to: str) -> bytes:
    """The callback JSON, compact and in Augnet's key order (the provider's example)."""
    return _compact_json(
        {
            "SmsSid": sid,
            "SmsStatus": status,
            "AccountSid": project_id,
            "From": from_,
            "To": to,
            "MessageStatus": status,
            "MessageSid": sid,
        }
    ).encode("utf-8")


class Target(NamedTuple):
    """Where a callback goes, exactly as the receiver will see it."""

    url: yarl.URL  # what is requested: no userinfo, no fragment
    host: str  # the Host header: host[:port], punycode, brackets for IPv6
    path: str  # the request line's target: path?query


@functools.lru_cache(maxsize=1024)
def request_target(url: str) -> Target:
    """Parse a callback URL once; what is signed is what aiohttp puts on the wire.

    yarl (aiohttp's URL type) percent-encodes non-ASCII and some punctuation and
    drops the default port. Userinfo is dropped rather than turned into Basic auth,
    which would replace the Signature header. Raises ValueError for a URL that
    cannot be sent (the send API accepts a few, e.g. a bad IDNA host).
    """
    try:
        parsed = yarl.URL(url)
    except ValueError as exc:
        raise ValueError(f"cannot send to {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise ValueError(f"cannot send to {url!r}: not an absolute http(s) URL")
    parsed = parsed.with_user(None).with_fragment(None)
    host = parsed.host_port_subcomponent
    assert host is not None  # absolute, checked above
    return Target(parsed, host, parsed.raw_path_qs)


# A receiver that hung up early or answered something that is not HTTP.
_PROTOCOL_ERRORS = (
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientResponseError,
)


def describe_error(exc: BaseException) -> str:
    """The journal's `error` for a failed attempt, in the README's terms, not aiohttp's."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, TimeoutError):  # aiohttp's read timeouts subclass it
        return "ReadTimeout"
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        kind = "ConnectError"
    elif isinstance(exc, _PROTOCOL_ERRORS):
        kind = "RemoteProtocolError"
    elif isinstance(exc, aiohttp.InvalidURL | ValueError):
        kind = "InvalidURL"
    else:
        kind = type(exc).__name__
    return f"{kind}: {exc}" if str(exc) else kind


class Dispatcher:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        events: EventBus,
        *,
        attempts: int,
        backoff: float,
        timeout: float,
        loopback_alias: str | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.store = store
        self.lane = ApiFirstLane(self._has_unsettled)  # the send route counts sends into it
        self.clock = clock
        self.events = events
        self.max_attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.loopback_alias = loopback_alias
        self._on_error = on_error
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        # A message's callbacks not yet acknowledged or given up, head first. A sid is
        # in `_ready` (keyed by its head's seq), on the wire, or waiting for a retry.
        self._outboxes: dict[str, deque[Pending]] = {}
        # (seq, sid, loop time of its status change): seq is unique, so times never compare.
        self._ready: asyncio.PriorityQueue[tuple[int, str, float]] = asyncio.PriorityQueue()
        self._workers: set[asyncio.Task[None]] = set()
        self._idle_workers = 0
        self._unsettled = 0  # ready or on the wire; `settled` waits for none
        self._settled = asyncio.Event()
        self._settled.set()

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use so it binds to the loop that serves the app.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=min(self.timeout, CONNECT_TIMEOUT),
                    sock_read=self.timeout,
                ),
                auto_decompress=False,  # the answer's body is never looked at
                trust_env=False,  # callbacks go where the user said, never via a proxy
            )
        return self._session

    async def aclose(self) -> None:
        self.lane.stop()
        workers = list(self._workers)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._outboxes.clear()

    def reset(self) -> None:
        # Sids still in `_ready` find no outbox and are skipped; retries likewise.
        self._outboxes.clear()
        self.lane.stop()

    async def settled(self) -> None:
        """Wait until every ready callback has been attempted (retries not included)."""
        await self._settled.wait()

    def notify(
        self,
        *,
        sid: str,
        project_id: str,
        status: str,
        url: str,
        from_: str,
        to: str,
        faults: tuple[str, ...] = (),
        copies: int = 1,
    ) -> None:
        """Queue a status callback (`copies` times, for the duplicate fault)."""
        outbox = self._outboxes.get(sid)
        idle = outbox is None
        if outbox is None:
            outbox = self._outboxes[sid] = deque()
        seq = next(self._seq)
        changed_at = asyncio.get_running_loop().time()
        for _ in range(copies):
            outbox.append(Pending(sid, project_id, status, url, from_, to, seq, changed_at, faults))
        if idle:  # otherwise it goes when the callback ahead of it is done
            self._make_ready(sid)

    def _make_ready(self, sid: str) -> None:
        outbox = self._outboxes.get(sid)
        if not outbox:
            return  # cleared by a reset meanwhile
        self._unsettled += 1
        self._settled.clear()
        head = outbox[0]
        self._ready.put_nowait((head.seq, sid, head.changed_at))
        self.lane.watch()
        if self._idle_workers == 0 and len(self._workers) < MAX_IN_FLIGHT:
            task = asyncio.get_running_loop().create_task(self._work())
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        while True:
            self._idle_workers += 1
            try:
                _, sid, changed_at = await self._ready.get()
            finally:
                self._idle_workers -= 1
            await self.lane.enter(changed_at)
            try:
                await self._post_head(sid)
            except Exception as exc:  # a bug: keep the worker, report it
                log.error("callback worker failed", exc_info=exc)
                if self._on_error:
                    self._on_error(exc)
            finally:
                self.lane.leave()
                self._unsettled -= 1
                if not self._unsettled:
                    self._settled.set()

    def _has_unsettled(self) -> bool:
        return self._unsettled > 0

    async def _post_head(self, sid: str) -> None:
        outbox = self._outboxes.get(sid)
        if not outbox:
            return
        pending = outbox[0]
        pending.attempts += 1
        attempt = await self._attempt(pending)
        if self._outboxes.get(sid) is not outbox:
            return  # a reset cleared it while the attempt was on the wire
        done = attempt.ok and "neverAcknowledged" not in pending.faults
        if not done and pending.attempts < self.max_attempts:
            delay = self.backoff * 2 ** (pending.attempts - 1)
            self.clock.schedule(delay, self._make_ready, sid)
            return  # later statuses wait behind the retry
        outbox.popleft()  # acknowledged, or gave up: the journal shows every try
        if outbox:
            self._make_ready(sid)
        else:
            del self._outboxes[sid]

    async def redeliver(self, attempt_id: str) -> CallbackAttempt | None:
        """Post a journalled callback once more, freshly dated and signed."""
        original = self.store.attempt(attempt_id)
        if original is None:
            return None
        pending = Pending(
            original.sid,
            original.project_id,
            original.status,
            original.url,
            from_="",  # only the body needs them, and that is the original's
            to="",
            seq=-1,
            changed_at=0.0,
            attempts=1,
            body=original.request_body.encode("utf-8"),
        )
        return await self._attempt(pending, redelivery=True)

    def _headers(self, pending: Pending, target: Target) -> tuple[dict[str, str], str | None]:
        project = self.store.project(pending.project_id)
        key = project.signing_key if project else None
        now = self.clock.now()
        fault = None
        if "staleDate" in pending.faults:
            now -= STALE_DATE_SECONDS
            fault = "staleDate"
        if key and "badSignature" in pending.faults:
            key = key + "-not-the-project-key"
            fault = "badSignature"
        headers = signed_headers(
            body=pending.request_body(),
            url_host=target.host,
            path=target.path,
            date=http_date(now),
            key_id=pending.project_id,
            key=key,
        )
        if "wrongDigest" in pending.faults:
            # Signed consistently over the wrong digest: only the body check can catch it.
            headers["Digest"] = digest(pending.request_body() + b"\n")
            if key:
                headers["Authorization"] = sign(
                    key_id=pending.project_id,
                    key=key,
                    method="POST",
                    path=target.path,
                    headers=headers,
                )
            fault = "wrongDigest"
        return headers, fault

    async def _attempt(self, pending: Pending, *, redelivery: bool = False) -> CallbackAttempt:
        body = pending.request_body()
        at = self.clock.now_iso()
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        headers: dict[str, str] = {}
        fault: str | None = None
        sent_to = alias_loopback(pending.url, self.loopback_alias)
        try:
            target = request_target(sent_to)
            headers, fault = self._headers(pending, target)
            async with self.session.post(
                target.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()  # a cut-short answer fails here; then no status
                status_code = response.status
            if not 200 <= status_code < 300:
                error = f"receiver answered {status_code}"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: the send API accepts a few URLs that cannot be sent (bad IDNA):
            # journal the failure instead of failing the clock job silently.
            error = describe_error(exc)
        if "neverAcknowledged" in pending.faults:
            fault = "neverAcknowledged"
        attempt = CallbackAttempt(
            id=f"cb{next(self._ids)}",
            sid=pending.sid,
            project_id=pending.project_id,
            status=pending.status,
            url=pending.url,
            attempt=pending.attempts,
            request_headers=headers,
            request_body=body.decode("utf-8"),
            at=at,
            response_status=status_code,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            redelivery=redelivery,
            fault=fault,
            sent_to=None if sent_to == pending.url else sent_to,
        )
        self.store.add_attempt(attempt)
        if self.events.active:  # rendering the attempt costs more than journalling it
            self.events.publish("callback", attempt.to_json())
        return attempt
