"""The running mock: the store, clock, events, dispatcher and lifecycle, wired once.

`create_app` builds one `Runtime` and hands it to every route; the pytest plugin
and in-process clients reach the same object through `app.state.runtime`. The
send path that REST (and later SMPP) share lives here, free of HTTP.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

from .clock import Clock, make_clock
from .deadlines import BodyDeadlines
from .dispatcher import Dispatcher
from .events import EventBus
from .lifecycle import Lifecycle, Plan
from .models import Message, Project, RejectedRequest
from .scenarios import Rule, SendContext, builtin_rules, chaos_rules, parse_rule
from .segmentation import Segmentation
from .settings import Settings
from .store import Store

log = logging.getLogger("augnet_mock")
MAX_SERVER_ERRORS = 100


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A validated send, whichever API it came through."""

    to: str
    body: str
    requested_from: str | None
    status_callback: str | None
    segmentation: Segmentation
    warnings: tuple[str, ...] = ()  # unknown fields Augnet would ignore (strictness.py)


def _omits_to(effect: Any) -> bool:
    return effect is not None and "omitTo" in effect.callback


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.errors: list[str] = []  # failures inside the server, for the pytest plugin
        self.store = Store(max_messages=settings.max_messages, max_rules=settings.max_rules)
        self.body_deadlines = BodyDeadlines(settings.body_timeout)
        self.events = EventBus()
        self.clock: Clock = make_clock(settings.clock, on_error=self.record_error)
        self.dispatcher = Dispatcher(
            self.store,
            self.clock,
            self.events,
            attempts=settings.callback_attempts,
            backoff=settings.callback_backoff,
            timeout=settings.callback_timeout,
            per_receiver=settings.callback_concurrency_per_receiver,
            max_pending=settings.max_pending_callbacks or settings.max_messages,
            loopback_alias=settings.loopback_alias,
            on_error=self.record_error,
            user_agent=settings.callback_user_agent,
        )
        # An evicted, cleared or deleted message's pending callbacks go with it.
        self.store.on_forget = self.dispatcher.forget
        # A manual clock's advance waits for the callbacks each job queued.
        self.clock.settle = self.dispatcher.settled
        self.lifecycle = Lifecycle(self.store, self.clock, self.dispatcher, self.events)
        self.rng = random.Random(settings.seed)
        # Built-ins match on `to` alone, so look them up instead of scanning each send.
        self._magic = {r.match["to"].pattern: r for r in builtin_rules()}
        self._chaos = chaos_rules(settings.chaos_api_errors, settings.chaos_undelivered)
        # uuid1 with a fixed random node: still a version-1, time-based sid, but the
        # library skips libuuid, which costs a failed socket connect to uuidd per call.
        self._sid_node = random.getrandbits(48) | 1 << 40  # RFC 4122 §4.5 multicast bit
        self._sid_clock_seq = random.getrandbits(14)
        self.store.reset(settings.startup_projects(), self._startup_rules())

    def _startup_rules(self) -> list[Rule]:
        # Parsed afresh each time, so `times` counters never outlive a reset.
        return [parse_rule(spec, source="config") for spec in self.settings.scenarios]

    def record_error(self, exc: BaseException) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")
        del self.errors[:-MAX_SERVER_ERRORS]

    def pick_rule(self, project_id: str, req: SendRequest) -> Rule | None:
        """The scenario rule this send triggers, if any (user rules, then built-ins)."""
        send = SendContext(project_id, req.to, req.requested_from, req.body)
        magic = self._magic.get(req.to)
        return self.store.fire_rule(send, self.rng, [magic, *self._chaos] if magic else self._chaos)

    def accept(self, project: Project, req: SendRequest, rule: Rule | None) -> Message:
        """Record a valid send and start its lifecycle."""
        now = self.clock.now()  # one reading: `since=<createdAt>` always finds the message
        seg = req.segmentation
        prices = self.settings.prices if project.prices is None else project.prices
        message = Message(
            sid=str(uuid.uuid1(self._sid_node, self._sid_clock_seq)),
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
            price=prices.price(req.to, seg.encoding, seg.segments),
            warnings="\n".join(req.warnings) if req.warnings else None,
        )
        self.store.add_message(message)
        if self.events.active:
            self.events.publish("message", message.to_json(callbacks=()))
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
        return Plan(
            sid=message.sid,
            project_id=project.project_id,
            from_=message.from_,
            to=message.to if project.callback_to and not _omits_to(effect) else None,
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
        """Log a rejected call; or, with `sid`, an accepted one that drew warnings."""
        rejected = RejectedRequest(
            id=uuid.uuid4().hex[:16],
            at=self.clock.now_iso(),
            method=method,
            path=path,
            status=status,
            error=error,
            project_id=project_id,
            scenario=rule.label if rule else None,
            body=body[:2048].decode("utf-8", "replace"),
            warnings=warnings,
            sid=sid,
        )
        self.store.add_rejected(rejected)
        self.events.publish("rejected", rejected.to_json())

    async def reset(self) -> None:
        """Everything back to the startup state (projects, rules, clock jobs, seed)."""
        await self.clock.aclose()
        self.dispatcher.reset()
        self.lifecycle.reset()
        self.rng.seed(self.settings.seed)
        for rule in [*self._magic.values(), *self._chaos]:
            rule.hits = 0
        self.errors.clear()
        self.store.reset(self.settings.startup_projects(), self._startup_rules())
        self.events.publish("reset", {})

    async def aclose(self) -> None:
        self.events.close()
        await self.clock.aclose()
        await self.dispatcher.aclose()
