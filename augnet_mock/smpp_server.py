"""The SMPP 3.4 server: sessions, binds, submits and delivery receipts, on the app's loop.

A thin asyncio layer over `smpp_codec`. Each connection is one `SmppSession`
(an `asyncio.Protocol`); the `SmppServer`, owned by the `Runtime`, starts and
stops with the app's lifespan on the same loop as uvicorn. A submit goes through
the core send path (`send` below), so it lands in the same store, fires the same
scenarios and webhooks, and shows wherever REST sends do. Receipts follow each
message's final status, which the lifecycle reports on the mock clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from .errors import error_body
from .models import Project
from .paging import Page, Paging, collect, small_walk
from .scenarios import Rule
from .sending import Accepted, Dropped, SendRequest, make_send
from .smpp_codec import (
    DC_DEFAULT,
    DC_IA5,
    DC_LATIN1,
    DC_UCS2,
    ESM_DELIVERY_RECEIPT,
    MAX_SEQUENCE,
    RECEIPT_FAILURE,
    RECEIPT_FINAL,
    RECEIPT_STATE,
    Bind,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Concat,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Malformed,
    Pdu,
    PduReader,
    Reassembler,
    Reassembly,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tag,
    TextError,
    Unbind,
    UnbindResp,
    Unframeable,
    decode_text,
    encode,
    payload_of,
    receipt_text,
    response_to,
    status_name,
    submit_sm_resp_bytes,
)
from .validation import FieldError, phone_number, sender

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("augnet_mock.smpp")

SMSC_SYSTEM_ID = "augnet"  # what bind responses call this SMSC
SMPP_PATH = "smpp:submit_sm"  # how the rejected-requests log names an SMPP submit
# The HTTP status a REST send would have got for the same refusal, for the rejected log.
HTTP_EQUIVALENT: dict[int, int] = {Status.ESME_RTHROTTLED: 429, Status.ESME_RSYSERR: 500}
# A send field that failed the shared rules (sending.make_send), as an SMPP status.
FIELD_STATUS = {
    "to": Status.ESME_RINVDSTADR,
    "from": Status.ESME_RINVSRCADR,
    "body": Status.ESME_RINVMSGLEN,
}
BIND_TYPES = {
    BindTransmitter: "transmitter",
    BindReceiver: "receiver",
    BindTransceiver: "transceiver",
}
TEXT_CODINGS = (DC_DEFAULT, DC_IA5, DC_LATIN1, DC_UCS2)
TON_INTERNATIONAL, TON_ALPHANUMERIC = 1, 5  # SMPP 3.4 §5.2.5
# Receipts waiting for a receiver to bind, per project: enough for a burst of tests,
# bounded so that a project nobody listens to cannot grow memory; the oldest go first.
MAX_QUEUED_RECEIPTS = 1_000
UNBIND_GRACE = 1.0  # seconds bound peers get to answer the shutdown's unbind
# Characters a receipt's text excerpt keeps: those whose GSM 03.38 septet equals their
# ASCII code, so a client reading the receipt as either gets the same text.
_RECEIPT_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\"#%&'()*+,-./:;<=>?"
)


class Outcome(NamedTuple):
    """What the send path decided for one submit, in SMPP terms (a NamedTuple: one is
    made per submit, and a tuple is the cheapest record to build)."""

    status: int  # command_status for submit_sm_resp
    sid: str | None = None
    delay: float = 0.0  # seconds to hold the response (a latency scenario)
    drop: bool = False  # close the socket instead of answering


def smpp_status(http_status: int, rule: Rule | None) -> int:
    """A scenario's API error as SMPP: 429 throttles, 5xx is a system error, the
    invalid-number magic number is a bad destination, any other 4xx a failed submit."""
    if http_status == 429:
        return Status.ESME_RTHROTTLED
    if http_status >= 500:
        return Status.ESME_RSYSERR
    if http_status == 400 and rule is not None and rule.source == "builtin":
        return Status.ESME_RINVDSTADR
    return Status.ESME_RSUBMITFAIL


def send(rt: Runtime, project: Project, req: SendRequest, raw: bytes) -> Outcome:
    """One submit through the core send path, its outcome put in SMPP terms."""
    outcome = rt.send(project, req, source="smpp", raw_body=raw, method="SMPP", path=SMPP_PATH)
    if isinstance(outcome, Accepted):
        return Outcome(Status.ESME_ROK, sid=outcome.message.sid, delay=outcome.latency)
    if isinstance(outcome, Dropped):
        return Outcome(Status.ESME_ROK, delay=outcome.latency, drop=True)
    return Outcome(smpp_status(outcome.status, outcome.rule), delay=outcome.latency)


def log_refusal(rt: Runtime, project: Project, status: int, message: str, raw: bytes) -> None:
    """A submit refused before it is a send (bad text, address, rate), in the rejected log."""
    error = error_body(HTTP_EQUIVALENT.get(status, 400), message, SMPP_PATH, rt.clock.now_iso())
    error["error"] = status_name(status)  # what the client was answered, not an HTTP reason
    rt.reject(
        method="SMPP",
        path=SMPP_PATH,
        status=error["status"],
        error=error,
        project_id=project.project_id,
        rule=None,
        body=raw,
    )


@dataclass(frozen=True, slots=True)
class ReceiptRequest:
    """What a delivery receipt needs to know about its message, kept from the submit."""

    project_id: str
    mode: int  # registered_delivery & 3
    source: tuple[int, int, str]  # (ton, npi, addr) as the client sent them
    destination: tuple[int, int, str]
    submitted: float
    text: str


@dataclass(frozen=True, slots=True)
class PartContext:
    """What every part of one long message shares, kept until the last one arrives."""

    project_id: str
    data_coding: int
    to: str
    requested_from: str | None
    receipt: ReceiptRequest | None


def address(addr: str) -> str:
    """A destination as E.164: SMPP clients send it with or without the `+`."""
    return addr if addr.startswith("+") else "+" + addr


def source_address(addr: str, ton: int) -> str | None:
    """The requested sender: international numbers gain their `+`; names stay as sent."""
    if not addr:
        return None
    if ton == TON_INTERNATIONAL and addr.isdigit():
        return "+" + addr
    return addr


class SmppSession(asyncio.Protocol):
    """One SMPP connection: framing, bind state, and its PDUs in and out."""

    def __init__(self, server: SmppServer) -> None:
        self.server = server
        self.rt = server.rt
        self.reader = PduReader()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.project_id: str | None = None
        self.system_id = ""
        self.bind_type: str | None = None
        self.since = ""
        self.position = 0  # in the order of binds, for paging the session list
        self.pdus_in = 0
        self.pdus_out = 0
        self._sequence = 0
        self._last_seen = 0.0
        self._idle: asyncio.TimerHandle | None = None
        self._out: list[bytes] | None = None  # answers gathered while a chunk is handled
        # deliver_sm sent and not yet acknowledged, by sequence: requeued if we lose the peer.
        self._awaiting: dict[int, DeliverSm] = {}
        self.unbound = asyncio.Event()  # set by the peer's unbind_resp (shutdown)

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server.sessions.add(self)
        self._last_seen = time.monotonic()
        self._arm_idle(self.server.inactivity_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        if self._awaiting and self.project_id is not None:
            self.server.queue_receipts(self.project_id, list(self._awaiting.values()))
            self._awaiting.clear()
        self.unbound.set()
        if self.bind_type is not None:
            self.server.changed()

    def pause_writing(self) -> None:
        # The peer reads slower than it asks: stop reading its requests until it catches up.
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self._last_seen = time.monotonic()
        # Answers to everything this chunk held go out in one write: a client with a
        # window sends several PDUs at once, and a write per answer is a syscall each.
        out: list[bytes] = []
        self._out = out
        try:
            for event in self.reader.feed(data):
                if self.transport is None or self.transport.is_closing():
                    return
                try:
                    if isinstance(event, Pdu):
                        self.pdus_in += 1
                        self.handle(event)
                    elif isinstance(event, Malformed):
                        self.pdus_in += 1
                        self.write(GenericNack(sequence=event.sequence, status=event.status))
                    else:
                        self._unframeable(event)
                except Exception as exc:  # a bug must not take the server or this peer down
                    log.exception("SMPP: failed on %r", event)
                    self.rt.record_error(exc)
                    seq = getattr(event, "sequence", 0)
                    self.write(GenericNack(sequence=seq, status=Status.ESME_RSYSERR))
        finally:
            self._out = None
            if out and self.transport is not None and not self.transport.is_closing():
                self.transport.write(b"".join(out))

    # -- writing --------------------------------------------------------------------

    def write(self, pdu: Pdu) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.pdus_out += 1
        if self._out is not None:
            self._out.append(encode(pdu))
        else:
            self.transport.write(encode(pdu))

    def write_bytes(self, data: bytes) -> None:
        """An already encoded PDU (the hot path's submit_sm_resp)."""
        if self.transport is None or self.transport.is_closing():
            return
        self.pdus_out += 1
        if self._out is not None:
            self._out.append(data)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        """Write what this chunk's answers have gathered so far (before a close)."""
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
            self._out.clear()

    def next_sequence(self) -> int:
        self._sequence = self._sequence % MAX_SEQUENCE + 1
        return self._sequence

    def send_receipt(self, pdu: DeliverSm) -> None:
        pdu = replace(pdu, sequence=self.next_sequence())
        self._awaiting[pdu.sequence] = pdu
        self.write(pdu)

    def close(self) -> None:
        if self.transport is not None:
            self.flush()
            self.transport.close()

    # -- inactivity -----------------------------------------------------------------

    def _arm_idle(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(delay, self._check_idle)

    def _check_idle(self) -> None:
        # One timer re-armed from the last activity, rather than a new one per PDU.
        idle = time.monotonic() - self._last_seen
        timeout = self.server.inactivity_timeout
        if idle >= timeout:
            log.info("SMPP: closing %s after %.0f s of silence", self.peer, idle)
            if self.transport is not None:
                self.transport.close()
            return
        self._arm_idle(timeout - idle)

    def _unframeable(self, event: Unframeable) -> None:
        log.info("SMPP: closing %s: %s", self.peer, event.reason)
        self.write(GenericNack(sequence=event.sequence, status=Status.ESME_RINVCMDLEN))
        self.close()

    # -- PDUs -----------------------------------------------------------------------

    def handle(self, pdu: Pdu) -> None:
        if isinstance(pdu, SubmitSm):
            self.submit(pdu)
        elif isinstance(pdu, DeliverSmResp):
            self._awaiting.pop(pdu.sequence, None)
        elif isinstance(pdu, EnquireLink):
            self.write(EnquireLinkResp(sequence=pdu.sequence))
        elif isinstance(pdu, Bind):
            self.bind(pdu)
        elif isinstance(pdu, Unbind):
            self.write(UnbindResp(sequence=pdu.sequence))
            self.close()
        elif isinstance(pdu, UnbindResp):
            self.unbound.set()
            self.close()
        elif isinstance(pdu, EnquireLinkResp | GenericNack):
            pass  # answers to what we sent; nothing waits for them
        else:
            # A PDU only an SMSC sends (deliver_sm, a bind_resp, ...): not for us.
            self.write(GenericNack(sequence=pdu.sequence, status=Status.ESME_RINVCMDID))

    def bind(self, pdu: Bind) -> None:
        if self.bind_type is not None:
            self.write(response_to(pdu, status=Status.ESME_RALYBND))
            return
        project, status = self.server.authenticate(pdu.system_id, pdu.password)
        if project is None:
            self.write(response_to(pdu, status=status))
            return
        self.project_id = project.project_id
        self.system_id = pdu.system_id
        self.bind_type = BIND_TYPES[type(pdu)]
        self.since = self.rt.clock.now_iso()
        self.position = next(self.server.bind_positions)
        version = bytes([0x34])  # SMPP 3.4 §5.3.2.25: the SMSC's interface version
        self.write(
            response_to(pdu, system_id=SMSC_SYSTEM_ID, tlvs=((Tag.SC_INTERFACE_VERSION, version),))
        )
        self.server.changed()
        if self.receives:
            self.server.flush_receipts(self)

    @property
    def receives(self) -> bool:
        return self.bind_type in ("receiver", "transceiver")

    def submit(self, pdu: SubmitSm) -> None:
        if self.bind_type not in ("transmitter", "transceiver"):
            self.write(SubmitSmResp(sequence=pdu.sequence, status=Status.ESME_RINVBNDSTS))
            return
        outcome = self.server.submit(self, pdu)
        if outcome.drop:
            self._later(outcome.delay, self._drop)
            return
        resp = submit_sm_resp_bytes(pdu.sequence, outcome.status, outcome.sid or "")
        if outcome.delay > 0:
            self._later(outcome.delay, self.write_bytes, resp)
        else:
            self.write_bytes(resp)

    def _later(self, delay: float, callback: Any, *args: Any) -> None:
        # A delayed answer holds back only its own sequence number: the window goes on.
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, callback, *args)
        else:
            callback(*args)

    def _drop(self) -> None:
        if self.transport is not None:
            if self._out is not None:
                self.flush()  # answers to earlier PDUs of this chunk, as if sent before
            self.transport.abort()

    def to_json(self) -> dict[str, Any]:
        return {
            "projectId": self.project_id,
            "systemId": self.system_id,
            "bindType": self.bind_type,
            "peer": self.peer,
            "since": self.since,
            "pdusIn": self.pdus_in,
            "pdusOut": self.pdus_out,
        }


class TokenBucket:
    """At most `rate` submits a second on average, bursting to one second's worth."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class SmppServer:
    """The listening socket, its sessions, long messages in the making and receipts."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.inactivity_timeout = rt.settings.smpp_inactivity_timeout
        self.sessions: set[SmppSession] = set()
        self.bind_positions = itertools.count(1)
        self.reassembler = Reassembler(rt.new_sid)
        self._server: asyncio.Server | None = None
        self._receipts: dict[str, ReceiptRequest] = {}  # by sid, until its final status
        self._queued: dict[str, deque[DeliverSm]] = {}  # receipts waiting for a receiver
        self._buckets: dict[str, TokenBucket] = {}
        self._expire_job = self._expire  # one bound method: the clock numbers its jobs
        rt.lifecycle.on_final = self.final_status

    # -- lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int | None:
        """The port listened on, once started (None when SMPP is off)."""
        if self._server is None or not self._server.sockets:
            return None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SmppSession(self), host, port)

    async def aclose(self) -> None:
        """Stop listening; unbind bound peers (a short grace for their answers); close."""
        if self._server is None:
            return
        self._server.close()
        bound = [s for s in self.sessions if s.bind_type is not None]
        for session in bound:
            session.unbound.clear()
            session.write(Unbind(sequence=session.next_sequence()))
        if bound:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(UNBIND_GRACE):
                    await asyncio.gather(*(s.unbound.wait() for s in bound))
        for session in list(self.sessions):
            session.close()
        self._server = None

    def reset(self) -> None:
        """Forget what is in flight (the mock's reset); bound peers stay connected."""
        self.reassembler.clear()
        self._receipts.clear()
        self._queued.clear()
        self._buckets.clear()

    def changed(self) -> None:
        self.rt.events.publish("smpp", {"sessions": len(self.bound_sessions())})

    def bound_sessions(self) -> list[SmppSession]:
        return [s for s in self.sessions if s.bind_type is not None]

    def sessions_page(self, paging: Paging, project_id: str | None = None) -> Page:
        """Bound sessions, in the order they bound, one page of them (SPEC §2.4.1)."""
        bound = sorted((s.position, s) for s in self.bound_sessions())
        return collect(
            small_walk(bound, paging),
            lambda s: project_id is None or s.project_id == project_id,
            SmppSession.to_json,
            paging,
        )

    # -- binds ----------------------------------------------------------------------

    def authenticate(self, system_id: str, password: str) -> tuple[Project | None, int]:
        """The project bound to, or None and the status saying why not."""
        candidates = [p for p in self.rt.store.project_list() if p.smpp_system_id == system_id]
        if not candidates:
            return None, Status.ESME_RINVSYSID
        for project in candidates:  # compared in constant time, as REST keys are
            if hmac.compare_digest(project.smpp_password.encode(), password.encode()):
                return project, Status.ESME_ROK
        return None, Status.ESME_RINVPASWD

    # -- submits --------------------------------------------------------------------

    def submit(self, session: SmppSession, pdu: SubmitSm) -> Outcome:
        rt = self.rt
        project = rt.store.project(session.project_id or "")
        if project is None:  # deleted (or reset away) since the bind
            return Outcome(Status.ESME_RINVBNDSTS)
        rate = project.smpp_max_submits_per_second
        if rate is not None and not self._bucket(project.project_id, rate).take(time.monotonic()):
            message = f"over smppMaxSubmitsPerSecond ({rate:g})"
            log_refusal(rt, project, Status.ESME_RTHROTTLED, message, b"")
            return Outcome(Status.ESME_RTHROTTLED)
        try:
            return self._submit(project, pdu)
        except TextError as exc:
            log_refusal(rt, project, exc.status, str(exc), b"")
            return Outcome(exc.status)
        except FieldError as exc:
            status = FIELD_STATUS.get(exc.field, Status.ESME_RSUBMITFAIL)
            log_refusal(rt, project, status, str(exc), b"")
            return Outcome(status)

    def _bucket(self, project_id: str, rate: float) -> TokenBucket:
        bucket = self._buckets.get(project_id)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[project_id] = TokenBucket(rate, time.monotonic())
        return bucket

    def _submit(self, project: Project, pdu: SubmitSm) -> Outcome:
        if pdu.data_coding not in TEXT_CODINGS:
            decode_text(b"", pdu.data_coding)  # raises the TextError that says so
        payload = payload_of(pdu)
        to = address(pdu.destination_addr)
        requested = source_address(pdu.source_addr, pdu.source_addr_ton)
        receipt = self._receipt_request(project, pdu, to)
        if payload.concat is None or payload.concat.total == 1:
            # make_send checks the addresses, as it does for REST.
            return self._whole(project, payload.data, pdu.data_coding, to, requested, receipt)
        # A part: checked now, so that a bad address is refused at the first one.
        to = phone_number("to", to)
        if requested is not None:
            requested = sender("from", requested)
        return self._part(project, payload.concat, payload.data, pdu, to, requested, receipt)

    def _receipt_request(self, project: Project, pdu: SubmitSm, to: str) -> ReceiptRequest | None:
        mode = pdu.registered_delivery & 0x03
        if mode not in (RECEIPT_FINAL, RECEIPT_FAILURE):
            return None
        return ReceiptRequest(
            project_id=project.project_id,
            mode=mode,
            source=(pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr),
            destination=(pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr),
            submitted=self.rt.clock.now(),
            text="",
        )

    def _whole(
        self,
        project: Project,
        data: bytes,
        data_coding: int,
        to: str,
        requested: str | None,
        receipt: ReceiptRequest | None,
        *,
        sid: str | None = None,
        incomplete: bool = False,
    ) -> Outcome:
        body = decode_text(data, data_coding, errors="replace" if incomplete else "strict")
        req = make_send(
            to=to, body=body, requested_from=requested, max_segments=self.rt.settings.max_segments
        )
        if sid is not None or incomplete:
            req = replace(req, sid=sid, incomplete=incomplete)
        outcome = send(self.rt, project, req, body.encode("utf-8", "replace"))
        if outcome.sid is not None and receipt is not None:
            # One request per message still under way, bounded like the store: past
            # max_messages the oldest request is forgotten (its message is evicted too).
            if len(self._receipts) >= self.rt.settings.max_messages:
                del self._receipts[next(iter(self._receipts))]
            self._receipts[outcome.sid] = ReceiptRequest(
                receipt.project_id,
                receipt.mode,
                receipt.source,
                receipt.destination,
                receipt.submitted,
                body,
            )
        return outcome

    def _part(
        self,
        project: Project,
        concat: Concat,
        data: bytes,
        pdu: SubmitSm,
        to: str,
        requested: str | None,
        receipt: ReceiptRequest | None,
    ) -> Outcome:
        limit = self.rt.settings.max_segments
        if concat.total > limit:
            raise TextError(f"a message of {concat.total} parts is over the limit of {limit}")
        key: Hashable = (project.project_id, pdu.source_addr, to, concat.reference, concat.total)
        context = PartContext(project.project_id, pdu.data_coding, to, requested, receipt)
        entry, evicted = self.reassembler.add(
            key, concat, data, now=self.rt.clock.now(), context=context
        )
        for old in evicted:
            self._record_incomplete(old)
        if not entry.complete:
            if len(entry.parts) == 1:
                timeout = self.rt.settings.smpp_reassembly_timeout
                self.rt.clock.schedule(timeout, self._expire_job, key, entry.id)
            return Outcome(Status.ESME_ROK, sid=entry.id)
        first: PartContext = entry.context
        return self._whole(
            project,
            entry.joined(),
            first.data_coding,
            first.to,
            first.requested_from,
            first.receipt,
            sid=entry.id,
        )

    def _expire(self, key: Hashable, entry_id: str) -> None:
        """Clock job: a long message whose parts did not all arrive in time."""
        # Only the message this job was set for: a newer one may reuse the key by now.
        entry = self.reassembler.discard(key, entry_id)
        if entry is not None:
            self._record_incomplete(entry)

    def _record_incomplete(self, entry: Reassembly) -> None:
        ctx: PartContext = entry.context
        project = self.rt.store.project(ctx.project_id)
        if project is None:
            return
        with contextlib.suppress(TextError):
            self._whole(
                project,
                entry.joined(),
                ctx.data_coding,
                ctx.to,
                ctx.requested_from,
                ctx.receipt,
                sid=entry.id,
                incomplete=True,
            )

    # -- delivery receipts ----------------------------------------------------------

    def final_status(self, sid: str, status: str, error_code: str | None) -> None:
        """Lifecycle hook: a message reached its final status (on the mock clock)."""
        request = self._receipts.pop(sid, None) if self._receipts else None
        if request is None:
            return
        if request.mode == RECEIPT_FAILURE and status == "delivered":
            return
        excerpt = "".join(c if c in _RECEIPT_SAFE else "?" for c in request.text[:20])
        text = receipt_text(
            sid,
            status=status,
            submitted=request.submitted,
            done=self.rt.clock.now(),
            error_code=error_code,
            text=excerpt,
        )
        src_ton, src_npi, src = request.source
        dst_ton, dst_npi, dst = request.destination
        pdu = DeliverSm(
            sequence=0,  # the session numbers it when it goes out
            source_addr_ton=dst_ton,
            source_addr_npi=dst_npi,
            source_addr=dst,
            dest_addr_ton=src_ton,
            dest_addr_npi=src_npi,
            destination_addr=src,
            esm_class=ESM_DELIVERY_RECEIPT,
            data_coding=DC_DEFAULT,
            short_message=text.encode("ascii"),
            tlvs=(
                (Tag.RECEIPTED_MESSAGE_ID, sid.encode("ascii") + b"\0"),
                (Tag.MESSAGE_STATE, bytes([RECEIPT_STATE[status]])),
            ),
        )
        self.queue_receipts(request.project_id, [pdu])

    def queue_receipts(self, project_id: str, pdus: list[DeliverSm]) -> None:
        """Send to a bound receiver of the project, or keep (bounded) until one binds."""
        receivers = [s for s in self.sessions if s.project_id == project_id and s.receives]
        if receivers:
            target = min(receivers, key=lambda s: len(s._awaiting))
            for pdu in pdus:
                target.send_receipt(pdu)
            return
        queue = self._queued.setdefault(project_id, deque(maxlen=MAX_QUEUED_RECEIPTS))
        queue.extend(pdus)

    def flush_receipts(self, session: SmppSession) -> None:
        queue = self._queued.pop(session.project_id or "", None)
        while queue:
            session.send_receipt(queue.popleft())
