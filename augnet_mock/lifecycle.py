"""A message's progression: queued -> sent -> delivered | undelivered (or -> failed).

Each step is a clock job, recorded on the message's timeline with the clock's
time and handed to the dispatcher. A `Plan` says how one message will go; the
defaults come from the project and server, and a scenario rule may change them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .dispatcher import Dispatcher
from .events import EventBus
from .store import Store


@dataclass(frozen=True, slots=True)
class Plan:
    send_delay: float
    delivery_delay: float
    final_status: str = "delivered"
    error_code: str | None = None
    callback_url: str | None = None
    faults: frozenset[str] = frozenset()
    drop_statuses: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Route:
    """Who a message's callbacks are about: fixed when the message is accepted."""

    sid: str
    project_id: str
    from_: str
    to: str


class Lifecycle:
    def __init__(
        self, store: Store, clock: Clock, dispatcher: Dispatcher, events: EventBus
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.events = events
        self._held: dict[str, list[str]] = {}  # statuses held back by a "reorder" fault

    def start(self, route: Route, plan: Plan) -> None:
        """Begin a just-stored message's life; its `queued` step is already recorded."""
        if plan.callback_url is not None:
            self.clock.schedule(0, self._callback, route, plan, "queued")
        if plan.final_status == "failed":
            # A failed message never reaches the carrier: queued -> failed.
            self.clock.schedule(plan.send_delay, self._step, route, plan, "failed")
        else:
            self.clock.schedule(plan.send_delay, self._sent, route, plan)

    async def _sent(self, route: Route, plan: Plan) -> None:
        self.clock.schedule(plan.delivery_delay, self._step, route, plan, plan.final_status)
        await self._step(route, plan, "sent")

    async def _step(self, route: Route, plan: Plan, status: str) -> None:
        code = plan.error_code if status in ("undelivered", "failed") else None
        if not self.store.set_status(route.sid, status, self.clock.now(), error_code=code):
            self._held.pop(route.sid, None)  # statuses a "reorder" fault was holding back
            return  # cleared or evicted meanwhile: nothing more to tell anyone
        if self.events.active:  # rendering the record is the costly part; skip it unwatched
            record = self.store.message(route.sid, with_callbacks=False)
            if record is not None:
                self.events.publish("status", record)
        await self._callback(route, plan, status)

    async def _callback(self, route: Route, plan: Plan, status: str) -> None:
        if plan.callback_url is None:
            return
        statuses = [status]
        if "reorder" in plan.faults:
            # Hold statuses until the final one, then post them last-first. Dropped
            # statuses are skipped below, so dropping the final one cannot strand the rest.
            held = self._held.setdefault(route.sid, [])
            held.append(status)
            if status not in ("delivered", "undelivered", "failed"):
                return
            statuses = list(reversed(self._held.pop(route.sid)))
        for s in statuses:
            if s in plan.drop_statuses:
                continue
            await self.dispatcher.notify(
                sid=route.sid,
                project_id=route.project_id,
                status=s,
                url=plan.callback_url,
                from_=route.from_,
                to=route.to,
                faults=plan.faults,
                copies=2 if "duplicate" in plan.faults else 1,
            )

    def reset(self) -> None:
        self._held.clear()
