"""The webhook dispatcher: the only component that makes outbound HTTP calls.

Each message has an outbox, sent in order: a status callback waits until the one
before it was acknowledged or gave up, so one message's callbacks always arrive
in order. Only an outbox's head is ever ready, and ready heads queue per
*receiver*, the callback URL's origin (scheme, host and port): a receiver is a
server, and a dead one fails every URL on it, whichever project they belong to.
Receivers take turns (round robin; each posts its oldest status change first),
each with at most `per_receiver` attempts on the wire and all of them together at
most `MAX_IN_FLIGHT`. So a dead, slow or hanging receiver holds up only its own
callbacks, and never more than `per_receiver` of the pool; while sends pour in,
an attempt keeps the lane's narrow place for `LANE_LEASE` at most, so a hanging
receiver cannot hold it either. An attempt is a task only while it is on the
wire, so waiting costs a small record.

Every attempt has one total deadline (connect, send and read: `timeout`), and a
receiver's answer is read up to `ANSWER_CAP` bytes and then dropped with its
connection: only its status counts. Retries are clock jobs with exponential
backoff, so a manual clock holds them too. While send requests keep arriving,
callbacks take a narrow lane (`pacing`), so the API keeps most of the loop.

Pending callbacks (ready, on the wire, waiting for a retry, or queued behind
their message's head) are bounded by `max_pending`: past it the oldest not on the
wire are dropped and journalled as dropped. When the store lets a message go
(evicted, cleared, deleted with its project) it calls `forget`, and that
message's callbacks go too. `stats` counts every way a callback ends, so none
ends without a trace even when its journal went with its message. At shutdown
`aclose` journals what is still pending as abandoned and logs one line.

The client is aiohttp rather than httpx2 (which the rest of the package uses):
callbacks go out at three per message, and aiohttp's pool costs about a tenth of
the CPU per request (README, design notes).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import aiohttp
import yarl

from .clock import Clock
from .events import EventBus
from .loopback import alias_loopback
from .models import CallbackAttempt
from .pacing import ApiFirstLane
from .scenarios import STALE_DATE_SECONDS
from .signing import (
    ACCEPT_ENCODING,
    DEFAULT_USER_AGENT,
    digest,
    http_date,
    sign,
    signed_headers,
)
from .store import Store

log = logging.getLogger("augnet_mock.dispatcher")

# At most this many callbacks on the wire at once, over all receivers. Each message
# sends one callback at a time, and each receiver at most `per_receiver`.
MAX_IN_FLIGHT = 100
# Attempts on the wire to one receiver at once, by default. A healthy receiver answers
# within milliseconds, so a few keep it busy (and the API-first lane lets only one on
# the wire while sends pour in anyway); a hanging one then holds 8 of the 100 places,
# not all of them. Browsers open 6 connections per host (RFC 9112 §9.4 leaves it to
# the client), so a receiver sees no more concurrency than from a web page.
DEFAULT_PER_RECEIVER = 8
CONNECT_TIMEOUT = 2.0  # seconds, at most, of the deadline spent connecting
# Bytes of a receiver's answer read before it is dropped: only the status decides, and
# a few KiB is what webhook receivers answer (`{"ok":true}`, an HTML error page).
ANSWER_CAP = 64 * 1024
# Seconds an attempt keeps its place in the API-first lane. A callback to a live receiver
# on loopback completes in 1-2 ms here (bench/callbacks.py); one that takes longer is waiting.
LANE_LEASE = 0.01
MAX_TIMEOUT = 3600.0  # seconds: the longest deadline an attempt may have (config's range)

# Journal `error`s of callbacks that were never (or never fully) attempted.
DROPPED = "dropped: over max_pending_callbacks"
ABANDONED = "abandoned: server shutting down"

# A pending callback's state. Only an outbox's head is ever READY, WIRE or RETRY.
QUEUED, READY, WIRE, RETRY, GONE = range(5)


@dataclass(slots=True, eq=False)  # eq=False: hashed by identity, a key of `_pending`
class Pending:
    """One status callback waiting in a message's outbox."""

    sid: str
    project_id: str
    status: str
    url: str
    from_: str
    to: str | None  # None: the body leaves `To` out (a project's callbackTo, the omitTo fault)
    seq: int  # unique and in order of status change: the oldest ready callback goes first
    changed_at: float  # loop time of the status change: how long the lane has held it
    faults: tuple[str, ...] = ()
    attempts: int = 0
    body: bytes = b""  # built at the first attempt, see `request_body`
    receiver: str = ""  # `receiver_of(url)`
    state: int = QUEUED

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


def callback_body(*, sid: str, status: str, project_id: str, from_: str, to: str | None) -> bytes:
    """The callback JSON, compact and in Augnet's key order (the provider's example).

    With `to` None the body has no `To` at all: the provider's captured callback had
    none (its Digest and Content-Length only match the body without it; README).
    """
    body = {"SmsSid": sid, "SmsStatus": status, "AccountSid": project_id, "From": from_}
    if to is not None:
        body["To"] = to
    body["MessageStatus"] = status
    body["MessageSid"] = sid
    return _compact_json(body).encode("utf-8")


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


@functools.lru_cache(maxsize=1024)
def receiver_of(url: str) -> str:
    """The receiver a callback URL names: its origin, `scheme://host[:port]`.

    Fairness and the per-receiver cap are by origin, not by project: what hangs is
    a server, and one project may post to several while several share one.
    """
    try:
        return str(request_target(url).url.origin())
    except ValueError:
        return url  # cannot be sent: its attempts fail at once, so it needs no turn of its own


@dataclass(slots=True)
class CallbackStats:
    """How status callbacks ended, counted even when their journal went with the message."""

    delivered: int = 0  # acknowledged with a 2xx
    failed: int = 0  # gave up after the last attempt
    dropped: int = 0  # over max_pending_callbacks, oldest first (journalled)
    discarded: int = 0  # their message was evicted, cleared or deleted
    abandoned: int = 0  # still pending at shutdown (journalled)

    def to_json(self, *, pending: int, in_flight: int) -> dict[str, int]:
        return {
            "pending": pending,
            "inFlight": in_flight,
            "delivered": self.delivered,
            "failed": self.failed,
            "dropped": self.dropped,
            "discarded": self.discarded,
            "abandoned": self.abandoned,
        }


@dataclass(slots=True, eq=False)
class _Receiver:
    """One origin's ready callbacks (outbox heads, oldest first) and attempts on the wire."""

    key: str
    # (seq, pending) heap; a head dropped while ready stays behind and is skipped.
    ready: list[tuple[int, Pending]] = field(default_factory=list)
    live: int = 0  # entries of `ready` still READY
    in_flight: int = 0
    in_turn: bool = False  # in the dispatcher's `_turns`


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


async def _read_capped(response: aiohttp.ClientResponse) -> None:
    """Read an answer to its end or ANSWER_CAP bytes, whichever is first, and drop it.

    Past the cap the connection is closed rather than drained, so a huge or endless
    answer costs one buffer, never its size.
    """
    left = ANSWER_CAP
    while left > 0:
        chunk = await response.content.read(left)
        if not chunk:
            return  # the whole answer: the connection can be reused
        left -= len(chunk)
    response.close()


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
        per_receiver: int = DEFAULT_PER_RECEIVER,
        max_pending: int = 10_000,
        loopback_alias: str | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        if not 0 < timeout <= MAX_TIMEOUT:  # config refuses these; this guards embedders
            raise ValueError(f"timeout must be > 0 and at most {MAX_TIMEOUT:g} s, not {timeout}")
        if per_receiver < 1 or max_pending < 1:
            raise ValueError("per_receiver and max_pending must be at least 1")
        self.store = store
        self.lane = ApiFirstLane(self._has_unsettled)  # the send route counts sends into it
        self.clock = clock
        self.events = events
        self.max_attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.per_receiver = per_receiver
        self.max_pending = max_pending
        self.stats = CallbackStats()
        self.loopback_alias = loopback_alias
        self.user_agent = user_agent
        self._on_error = on_error
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        # A message's callbacks not yet acknowledged or given up, head first.
        self._outboxes: dict[str, deque[Pending]] = {}
        # Every pending callback, oldest first: who goes first past `max_pending`.
        self._pending: OrderedDict[Pending, None] = OrderedDict()
        self._receivers: dict[str, _Receiver] = {}
        # Receivers with a ready callback and room on the wire, in turn order.
        self._turns: deque[_Receiver] = deque()
        self._tasks: set[asyncio.Task[None]] = set()  # attempts on the wire
        self._ready = 0  # READY callbacks, over all receivers
        self._on_wire = 0  # attempts started (in the lane or on the wire)
        self._closed = False
        self._settled = asyncio.Event()
        self._settled.set()

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use so it binds to the loop that serves the app.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT, limit_per_host=0),
                # The deadline is `asyncio.timeout` around the whole attempt; this only
                # names a connect that takes too long (ConnectTimeout, not ReadTimeout).
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=min(self.timeout, CONNECT_TIMEOUT)
                ),
                auto_decompress=False,  # the answer's body is never looked at
                trust_env=False,  # callbacks go where the user said, never via a proxy
            )
        return self._session

    def stats_json(self) -> dict[str, int]:
        return self.stats.to_json(pending=len(self._pending), in_flight=self._on_wire)

    async def aclose(self) -> None:
        """Shut down: journal every pending callback as abandoned, cancel what is on the wire."""
        self._closed = True
        self.lane.stop()
        abandoned = list(self._pending)
        for pending in abandoned:
            # One on the wire was counted as attempted when it went; the rest never were.
            self._journal_unsent(pending, ABANDONED, attempted=pending.state == WIRE)
            pending.state = GONE
        self.stats.abandoned += len(abandoned)
        self._pending.clear()
        self._outboxes.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if abandoned:
            log.warning("%d pending callbacks abandoned at shutdown", len(abandoned))

    def reset(self) -> None:
        """Forget every pending callback and the counts (attempts on the wire finish unseen)."""
        for pending in self._pending:
            pending.state = GONE
        self._pending.clear()
        self._outboxes.clear()
        self._turns.clear()
        for key, receiver in list(self._receivers.items()):
            receiver.ready.clear()
            receiver.live = 0
            receiver.in_turn = False
            if not receiver.in_flight:
                del self._receivers[key]
        self._ready = 0
        self.stats = CallbackStats()
        self.lane.stop()
        self._check_settled()

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
        to: str | None,
        faults: tuple[str, ...] = (),
        copies: int = 1,
    ) -> None:
        """Queue a status callback (`copies` times, for the duplicate fault)."""
        if self._closed:
            return
        outbox = self._outboxes.get(sid)
        idle = outbox is None
        if outbox is None:
            outbox = self._outboxes[sid] = deque()
        changed_at = asyncio.get_running_loop().time()
        receiver = receiver_of(url)
        for _ in range(copies):
            pending = Pending(
                sid, project_id, status, url, from_, to, next(self._seq), changed_at, faults
            )
            pending.receiver = receiver
            outbox.append(pending)
            self._pending[pending] = None
        if idle:  # otherwise it goes when the callback ahead of it is done
            self._make_ready(outbox[0])
        if len(self._pending) > self.max_pending:
            self._drop_oldest(len(self._pending) - self.max_pending)

    def forget(self, sids: Iterable[str]) -> None:
        """The store let these messages go: their callbacks go too, counted as discarded.

        An attempt already on the wire finishes, but nothing follows it.
        """
        for sid in sids:
            outbox = self._outboxes.pop(sid, None)
            for pending in outbox or ():
                self._unready(pending)
                del self._pending[pending]
                pending.state = GONE
                self.stats.discarded += 1
        self._check_settled()

    # -- scheduling -----------------------------------------------------------------

    def _drop_oldest(self, count: int) -> None:
        # Attempts on the wire are let be (at most MAX_IN_FLIGHT of them to pass over).
        doomed = list(itertools.islice((p for p in self._pending if p.state != WIRE), count))
        for pending in doomed:
            outbox = self._outboxes[pending.sid]
            outbox.remove(pending)
            if not outbox:
                del self._outboxes[pending.sid]
            self._unready(pending)
            del self._pending[pending]
            pending.state = GONE
            self._journal_unsent(pending, DROPPED, attempted=False)
            self.stats.dropped += 1
        # New heads only now: made ready inside the loop, one could go on the wire and
        # then be dropped as well.
        for sid in {p.sid for p in doomed}:
            rest = self._outboxes.get(sid)
            if rest and rest[0].state == QUEUED:
                self._make_ready(rest[0])
        self._check_settled()

    def _unready(self, pending: Pending) -> None:
        """Take a READY callback out of the counts; its heap entry is skipped later."""
        if pending.state == READY:
            self._receivers[pending.receiver].live -= 1
            self._ready -= 1

    def _make_ready(self, pending: Pending) -> None:
        pending.state = READY
        receiver = self._receivers.get(pending.receiver)
        if receiver is None:
            receiver = self._receivers[pending.receiver] = _Receiver(pending.receiver)
        heapq.heappush(receiver.ready, (pending.seq, pending))
        receiver.live += 1
        self._ready += 1
        self._settled.clear()
        self.lane.watch()
        self._offer(receiver)
        self._pump()

    def _offer(self, receiver: _Receiver) -> None:
        """Give a receiver a turn if it has a ready callback and room on the wire."""
        if not receiver.in_turn and receiver.live and receiver.in_flight < self.per_receiver:
            receiver.in_turn = True
            self._turns.append(receiver)

    def _pump(self) -> None:
        """Start attempts, one receiver's turn at a time, while the pool has room."""
        while self._turns and self._on_wire < MAX_IN_FLIGHT and not self._closed:
            receiver = self._turns.popleft()
            receiver.in_turn = False
            pending = self._pop_ready(receiver)
            if pending is None:
                self._retire(receiver)
                continue
            pending.state = WIRE
            receiver.in_flight += 1
            self._on_wire += 1
            self._offer(receiver)  # to the back of the line: receivers take turns
            task = asyncio.get_running_loop().create_task(self._send(pending, receiver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _pop_ready(self, receiver: _Receiver) -> Pending | None:
        while receiver.ready:
            _, pending = heapq.heappop(receiver.ready)
            if pending.state == READY:
                receiver.live -= 1
                self._ready -= 1
                return pending
        return None

    def _retire(self, receiver: _Receiver) -> None:
        """Forget a receiver with nothing ready and nothing on the wire (bounds `_receivers`)."""
        idle = not receiver.live and not receiver.in_flight and not receiver.in_turn
        if idle and self._receivers.get(receiver.key) is receiver:
            del self._receivers[receiver.key]

    def _check_settled(self) -> None:
        if not self._ready and not self._on_wire:
            self._settled.set()

    def _has_unsettled(self) -> bool:
        return self._ready + self._on_wire > 0

    async def _send(self, pending: Pending, receiver: _Receiver) -> None:
        held = False
        lease: asyncio.TimerHandle | None = None

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                self.lane.leave()

        try:
            await self.lane.enter(pending.changed_at)
            held = True
            # The lane rations the loop's time, and an attempt still on the wire after
            # LANE_LEASE is waiting on its receiver, not using the loop: its place goes to
            # the next callback, so a hanging receiver cannot hold the narrow lane.
            lease = asyncio.get_running_loop().call_later(LANE_LEASE, give_back)
            pending.attempts += 1
            attempt = await self._attempt(pending)
            self._done(pending, attempt)
        except Exception as exc:  # a bug: keep the dispatcher going, report it
            log.error("callback attempt failed", exc_info=exc)
            if self._on_error:
                self._on_error(exc)
        finally:
            if lease is not None:
                lease.cancel()
            give_back()
            receiver.in_flight -= 1
            self._on_wire -= 1
            self._offer(receiver)
            self._retire(receiver)
            self._pump()
            self._check_settled()

    def _done(self, pending: Pending, attempt: CallbackAttempt) -> None:
        """After an attempt: retry it later, or move on to the message's next callback."""
        if pending.state != WIRE:
            return  # its message went (or a reset came) while the attempt was on the wire
        ok = attempt.ok and "neverAcknowledged" not in pending.faults
        if not ok and pending.attempts < self.max_attempts:
            pending.state = RETRY
            delay = self.backoff * 2 ** (pending.attempts - 1)
            self.clock.schedule(delay, self._retry, pending.sid, pending.seq)
            return  # later statuses wait behind the retry
        # Acknowledged, or gave up: the journal shows every try.
        outbox = self._outboxes[pending.sid]
        outbox.popleft()
        del self._pending[pending]
        pending.state = GONE
        if ok:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
        if outbox:
            self._make_ready(outbox[0])
        else:
            del self._outboxes[pending.sid]

    def _retry(self, sid: str, seq: int) -> None:
        # A clock job, by plain values (see `clock.Entry`); the callback may have been
        # dropped or forgotten meanwhile.
        outbox = self._outboxes.get(sid)
        if outbox and outbox[0].seq == seq and outbox[0].state == RETRY:
            self._make_ready(outbox[0])

    def _journal_unsent(self, pending: Pending, error: str, *, attempted: bool) -> None:
        """Journal a callback that ends without an answer: dropped, or abandoned."""
        attempt = CallbackAttempt(
            id=f"cb{next(self._ids)}",
            sid=pending.sid,
            project_id=pending.project_id,
            status=pending.status,
            url=pending.url,
            # The try it was on, or the one it never got.
            attempt=pending.attempts if attempted else pending.attempts + 1,
            request_headers={},
            request_body=pending.request_body().decode("utf-8"),
            at=self.clock.now_iso(),
            error=error,
        )
        self.store.add_attempt(attempt)
        if self.events.active and not self._closed:
            self.events.publish("callback", attempt.to_json())

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
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        headers["User-Agent"] = self.user_agent
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
            # One deadline for connect, send and read: aiohttp's read timeout restarts at
            # every byte, so a receiver dripping its answer would hold the attempt forever.
            async with (
                asyncio.timeout(self.timeout),
                self.session.post(
                    target.url, data=body, headers=headers, allow_redirects=False
                ) as response,
            ):
                await _read_capped(response)  # a cut-short answer fails here; then no status
                status_code = response.status
            if not 200 <= status_code < 300:
                error = f"receiver answered {status_code}"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: the send API accepts a few URLs that cannot be sent (bad IDNA):
            # journal the failure instead of failing the clock job silently.
            error = describe_error(exc)
        if "neverAcknowledged" in pending.faults:
            fault = "neverAcknowledged"
        if fault is None and "omitTo" in pending.faults:
            fault = "omitTo"
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
