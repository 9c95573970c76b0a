"""The webhook dispatcher: the only component that makes outbound HTTP calls.

Each message has an outbox, drained in order: a status callback waits until the
one before it was acknowledged or gave up, so one message's callbacks always
arrive in order. Retries are clock jobs with exponential backoff, so a manual
clock holds them too. A slow or dead receiver only holds up its own message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field

import httpx2

from .clock import Clock
from .events import EventBus
from .models import CallbackAttempt
from .scenarios import STALE_DATE_SECONDS
from .signing import digest, http_date, sign, signed_headers
from .store import Store

# At most this many callbacks are on the wire at once. Queuing them here rather than
# inside the connection pool matters: the pool rescans every waiting request for every
# free connection, and under a burst its waiters time out (PoolTimeout) and need retries.
# Each message still sends one callback at a time, so one dead receiver holds one slot.
MAX_IN_FLIGHT = 100
POOL_LIMITS = httpx2.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)


@dataclass(slots=True)
class Pending:
    """One status callback waiting in a message's outbox."""

    sid: str
    project_id: str
    status: str
    url: str
    body: bytes
    faults: frozenset[str] = frozenset()
    attempts: int = 0


@dataclass(slots=True)
class Outbox:
    queue: deque[Pending] = field(default_factory=deque)
    draining: bool = False


def callback_body(*, sid: str, status: str, project_id: str, from_: str, to: str) -> bytes:
    """The callback JSON, compact and in Augnet's key order (the provider's example)."""
    return json.dumps(
        {
            "SmsSid": sid,
            "SmsStatus": status,
            "AccountSid": project_id,
            "From": from_,
            "To": to,
            "MessageStatus": status,
            "MessageSid": sid,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def request_target(url: str) -> tuple[str, str]:
    """(host, path?query) as the receiver will see them in Host and the request line.

    Parsed by httpx2 itself, so what is signed is what goes on the wire: it
    percent-encodes non-ASCII and some punctuation, keeps an empty "?", drops the
    default port and never puts userinfo in Host.
    """
    parsed = httpx2.URL(url)
    return parsed.netloc.decode("ascii"), parsed.raw_path.decode("ascii")


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
    ) -> None:
        self.store = store
        self.clock = clock
        self.events = events
        self.max_attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._outboxes: dict[str, Outbox] = {}
        self._ids = itertools.count(1)
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._client: httpx2.AsyncClient | None = None

    @property
    def client(self) -> httpx2.AsyncClient:
        # Created on first use so it binds to the loop that serves the app.
        if self._client is None:
            self._client = httpx2.AsyncClient(
                # No pool timeout: the semaphore already bounds who waits for a connection.
                timeout=httpx2.Timeout(self.timeout, connect=min(self.timeout, 2.0), pool=None),
                limits=POOL_LIMITS,
                follow_redirects=False,
                trust_env=False,  # callbacks go where the user said, never via a proxy
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._outboxes.clear()

    def reset(self) -> None:
        self._outboxes.clear()

    async def notify(
        self,
        *,
        sid: str,
        project_id: str,
        status: str,
        url: str,
        from_: str,
        to: str,
        faults: frozenset[str] = frozenset(),
        copies: int = 1,
    ) -> None:
        """Queue a status callback (`copies` times, for the duplicate fault) and drain."""
        body = callback_body(sid=sid, status=status, project_id=project_id, from_=from_, to=to)
        outbox = self._outboxes.setdefault(sid, Outbox())
        # Append before any await: this is what keeps a message's callbacks in order
        # (and keeps duplicates together, ahead of a later status that fires meanwhile).
        for _ in range(copies):
            outbox.queue.append(Pending(sid, project_id, status, url, body, faults))
        if not outbox.draining:
            await self._drain(sid)

    async def _drain(self, sid: str) -> None:
        outbox = self._outboxes.get(sid)
        if outbox is None:
            return
        outbox.draining = True
        while outbox.queue:
            pending = outbox.queue[0]
            pending.attempts += 1
            attempt = await self._attempt(pending)
            if attempt.ok and "neverAcknowledged" not in pending.faults:
                outbox.queue.popleft()
            elif pending.attempts >= self.max_attempts:
                outbox.queue.popleft()  # gave up; the journal shows every try
            else:
                delay = self.backoff * 2 ** (pending.attempts - 1)
                self.clock.schedule(delay, self._drain, sid)
                return  # still draining: later statuses wait behind the retry
        outbox.draining = False
        if self._outboxes.get(sid) is outbox:
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
            original.request_body.encode("utf-8"),
            attempts=1,
        )
        return await self._attempt(pending, redelivery=True)

    def _headers(self, pending: Pending) -> tuple[dict[str, str], str | None]:
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
        host, path = request_target(pending.url)
        headers = signed_headers(
            body=pending.body,
            url_host=host,
            path=path,
            date=http_date(now),
            key_id=pending.project_id,
            key=key,
        )
        if "wrongDigest" in pending.faults:
            # Signed consistently over the wrong digest: only the body check can catch it.
            headers["Digest"] = digest(pending.body + b"\n")
            if key:
                headers["Authorization"] = sign(
                    key_id=pending.project_id, key=key, method="POST", path=path, headers=headers
                )
            fault = "wrongDigest"
        return headers, fault

    async def _attempt(self, pending: Pending, *, redelivery: bool = False) -> CallbackAttempt:
        at = self.clock.now_iso()
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            headers, fault = self._headers(pending)
            async with self._in_flight:
                response = await self.client.post(
                    pending.url, content=pending.body, headers=headers
                )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"receiver answered {status_code}"
        except httpx2.InvalidURL as exc:
            # The send API accepts a few URLs httpx2 cannot send (e.g. DEL, bad IDNA):
            # journal the failure instead of failing the clock job silently.
            headers, fault, error = {}, None, f"InvalidURL: {exc}"
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
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
            request_body=pending.body.decode("utf-8"),
            at=at,
            response_status=status_code,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            redelivery=redelivery,
            fault=fault,
        )
        self.events.publish("callback", self.store.add_attempt(attempt))
        return attempt
