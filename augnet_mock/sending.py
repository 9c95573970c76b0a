"""The one send decision: a validated send in, what happened out. No HTTP here.

Every way in (the REST route, the inbox's demo traffic, and later SMPP and
batches) parses its own input into a `SendRequest`, calls `Sender.send` (through
`Runtime.send`) and renders the `Outcome` in its own protocol. The decision
itself is made once, here: the scenario rule that fires (the project's and the
user's rules, then the magic numbers, then chaos), whether the send is refused,
dropped or accepted, what is recorded (the message, or the rejected-requests
log), how its lifecycle goes, and which events are published.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from .clock import Clock
from .errors import dropped_body, error_body, printable
from .events import EventBus
from .lifecycle import Lifecycle, Plan
from .models import SOURCES, Message, Project, RejectedRequest, Source
from .scenarios import Effect, Rule, SendContext
from .segmentation import Segmentation, segment
from .settings import Settings
from .store import Store
from .validation import FieldError, optional_url, phone_number, require_string, sender, type_name

__all__ = [
    "SOURCES",
    "Accepted",
    "Dropped",
    "Outcome",
    "Refused",
    "SendRequest",
    "Sender",
    "Source",
    "make_send",
    "parse_send",
]

SEND_PATH = "/api/v2/message"  # what the rejected-requests log names when no path is given
MAX_LOGGED_BODY = 2048  # bytes of a rejected request's body kept in the log


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A validated send, whichever way it came in.

    Later kinds of send add fields here with defaults (a scheduled time, a
    template, a batch id), so that every edge keeps building it the same way.
    """

    to: str
    body: str
    requested_from: str | None
    status_callback: str | None
    segmentation: Segmentation
    # SMPP hands a long message's sid out with its first part, before the message exists.
    sid: str | None = None
    incomplete: bool = False  # SMPP: some parts of a long message never arrived
    warnings: tuple[str, ...] = ()  # unknown fields Augnet would ignore (strictness.py)


def make_send(
    *,
    to: Any,
    body: Any,
    requested_from: Any = None,
    status_callback: Any = None,
    max_segments: int,
    warnings: tuple[str, ...] = (),
) -> SendRequest:
    """A `SendRequest` from its parts, or FieldError naming the field (SPEC §1.2, §1.3).

    The rules every edge shares: `to` is E.164, `body` a non-empty string within
    `max_segments` parts, `from` a sender, `statusCallback` an http(s) URL.
    """
    if to is None:
        raise FieldError("to", "is required")
    if body is None:
        raise FieldError("body", "is required")
    to = phone_number("to", to)
    body = require_string("body", body)
    if not body:
        raise FieldError("body", "must not be empty")
    requested = None if requested_from is None else sender("from", requested_from)
    callback = optional_url("statusCallback", status_callback)
    seg = segment(body)
    if seg.segments > max_segments:
        raise FieldError(
            "body",
            f"needs {seg.segments} {seg.encoding} segments; the limit is {max_segments}",
        )
    return SendRequest(to, body, requested, callback, seg, warnings=warnings)


def parse_send(payload: Any, *, max_segments: int, warnings: tuple[str, ...] = ()) -> SendRequest:
    """A send from its JSON form (SPEC §1.2); unknown fields are ignored (`warnings`,
    which the edge found, says so)."""
    if not isinstance(payload, dict):
        # Not "body": that is also the name of the message text field.
        raise FieldError("request body", f"must be a JSON object, got {type_name(payload)}")
    for key in ("to", "body"):  # both missing: name `to` first, as the table does
        if payload.get(key) is None:
            raise FieldError(key, "is required")
    return make_send(
        to=payload["to"],
        body=payload["body"],
        requested_from=payload.get("from"),
        status_callback=payload.get("statusCallback"),
        max_segments=max_segments,
        warnings=warnings,
    )


# -- outcomes -------------------------------------------------------------------------
# Immutable, and NamedTuples rather than frozen dataclasses: one is made for every send,
# and a frozen dataclass's __init__ costs several times a tuple's. Tell them apart with
# isinstance (or `match`). Each carries `latency`: seconds of wall time (not mock time)
# the edge waits before it answers, drawn from the rule's latency effect; 0.0 if none.


class Accepted(NamedTuple):
    """Recorded, and its lifecycle started; the edge answers with `message.sid`."""

    message: Message
    rule: Rule | None = None
    latency: float = 0.0


class Refused(NamedTuple):
    """A rule refused the send with an API error; it is in the rejected-requests log.

    `error` is the error body as logged ({"timestamp","status","error","message",
    "path"}), for an edge that answers in that shape; `retry_after` is in seconds.
    """

    status: int
    message: str
    retry_after: int | None
    rule: Rule
    error: dict[str, Any]
    latency: float = 0.0


class Dropped(NamedTuple):
    """A rule asked for the connection to close with no answer; logged with status null."""

    rule: Rule
    latency: float = 0.0


Outcome = Accepted | Refused | Dropped


class Sender:
    """Makes the send decision and records it; the runtime owns one."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        events: EventBus,
        lifecycle: Lifecycle,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.events = events
        self.lifecycle = lifecycle
        self.rng = rng
        # uuid1 with a fixed random node: still a version-1, time-based sid, but the
        # library skips libuuid, which costs a failed socket connect to uuidd per call.
        self._sid_node = random.getrandbits(48) | 1 << 40  # RFC 4122 §4.5 multicast bit
        self._sid_clock_seq = random.getrandbits(14)

    def new_sid(self) -> str:
        """A fresh message sid."""
        return str(uuid.uuid1(self._sid_node, self._sid_clock_seq))

    def send(
        self,
        project: Project,
        request: SendRequest,
        *,
        source: Source,
        raw_body: bytes = b"",
        method: str = "POST",
        path: str = SEND_PATH,
    ) -> Outcome:
        """Decide what happens to one send, record it, and say what happened.

        `raw_body`, `method` and `path` are what the rejected-requests log shows if
        a rule refuses or drops the send (an edge without HTTP names its own, e.g.
        an SMPP operation).
        """
        rule = self.store.fire_rule(
            SendContext(project.project_id, request.to, request.requested_from, request.body),
            self.rng,
        )
        if rule is None:
            message = self._accept(project, request, None, source)
            if request.warnings:
                self._log_warnings(message, request, rule, raw_body, method, path)
            return Accepted(message)
        effect = rule.effect
        latency = self._latency(effect)
        if effect.drop_connection:
            # Logged like any rejection, so the drop and its rule are traceable.
            error = dropped_body(printable(path), self.clock.now_iso(), rule.label)
            self.reject(
                method=method,
                path=path,
                status=None,
                error=error,
                project_id=project.project_id,
                rule=rule,
                body=raw_body,
                warnings=request.warnings,
            )
            return Dropped(rule, latency)
        if effect.api_error is not None:
            err = effect.api_error
            now = self.clock.now_iso()
            error = error_body(err.status, printable(err.message), printable(path), now)
            self.reject(
                method=method,
                path=path,
                status=err.status,
                error=error,
                project_id=project.project_id,
                rule=rule,
                body=raw_body,
                warnings=request.warnings,
            )
            return Refused(err.status, err.message, err.retry_after, rule, error, latency)
        message = self._accept(project, request, rule, source)
        if request.warnings:
            self._log_warnings(message, request, rule, raw_body, method, path)
        return Accepted(message, rule, latency)

    def _log_warnings(
        self,
        message: Message,
        request: SendRequest,
        rule: Rule | None,
        raw_body: bytes,
        method: str,
        path: str,
    ) -> None:
        """An accepted send that drew warnings goes in the requests log too (status 200)."""
        self.reject(
            method=method,
            path=path,
            status=200,
            error=None,
            project_id=message.project_id,
            rule=rule,
            body=raw_body,
            warnings=request.warnings,
            sid=message.sid,
        )

    def _latency(self, effect: Effect) -> float:
        if effect.latency is None:
            return 0.0
        low, high = effect.latency
        return self.rng.uniform(low, high) if high > low else low

    def _accept(
        self, project: Project, req: SendRequest, rule: Rule | None, source: Source
    ) -> Message:
        """Record a valid send and start its lifecycle."""
        now = self.clock.now()  # one reading: `since=<createdAt>` always finds the message
        seg = req.segmentation
        message = Message(
            sid=req.sid or self.new_sid(),
            project_id=project.project_id,
            to=req.to,
            from_=project.effective_sender(req.requested_from),
            requested_from=req.requested_from,
            body=req.body,
            encoding=seg.encoding,
            segments=seg.segments,
            status_callback=req.status_callback,
            created_epoch=now,
            timeline=(("queued", now, None),),
            scenario=rule.label if rule else None,
            api=source,
            incomplete=req.incomplete,
            price=self.settings.prices_for(project).price(req.to, seg.encoding, seg.segments),
            warnings="\n".join(req.warnings) if req.warnings else None,
        )
        self.store.add_message(message)
        if self.events.active:  # rendered when a stream reads it (Message is immutable)
            self.events.publish_later(
                "message", message.project_id, partial(message.to_json, callbacks=())
            )
        self.lifecycle.start(self._plan(project, message, rule))
        return message

    def _plan(self, project: Project, message: Message, rule: Rule | None) -> Plan:
        s = self.settings
        effect = rule.effect if rule else None
        send_delay = project.send_delay if project.send_delay is not None else s.send_delay
        delivery = (
            project.delivery_delay if project.delivery_delay is not None else s.delivery_delay
        )
        if effect and effect.send_delay is not None:
            send_delay = effect.send_delay
        if effect and effect.delivery_delay is not None:
            delivery = effect.delivery_delay
        # Callbacks without `To`: the project's callbackTo false, or the omitTo fault.
        omit_to = not project.callback_to or (effect is not None and "omitTo" in effect.callback)
        return Plan(
            sid=message.sid,
            project_id=project.project_id,
            from_=message.from_,
            to=None if omit_to else message.to,
            send_delay=send_delay,
            delivery_delay=delivery,
            final_status=(effect.final_status if effect and effect.final_status else "delivered"),
            error_code=effect.error_code if effect else None,
            callback_url=message.status_callback or project.webhook_url,
            faults=tuple(sorted(effect.callback)) if effect else (),
            drop_statuses=tuple(sorted(effect.drop_statuses)) if effect else (),
        )

    def reject(
        self,
        *,
        method: str,
        path: str,
        status: int | None,
        error: dict[str, Any] | None,
        project_id: str | None,
        rule: Rule | None,
        body: bytes,
        warnings: tuple[str, ...] = (),
        sid: str | None = None,
    ) -> None:
        """Log a refused request: by a rule here, or by an edge (bad credentials or input);
        or, with `sid` (and error None), an accepted one that drew warnings."""
        rejected = RejectedRequest(
            id=uuid.uuid4().hex[:16],
            at=self.clock.now_iso(),
            method=method,
            path=path,
            status=status,
            error=error,
            project_id=project_id,
            scenario=rule.label if rule else None,
            body=body[:MAX_LOGGED_BODY].decode("utf-8", "replace"),
            warnings=warnings,
            sid=sid,
        )
        self.store.add_rejected(rejected)
        self.events.publish("rejected", rejected.to_json())
