"""A message's progression: queued -> sent -> delivered | undelivered (or -> failed).

Each step is a clock job, recorded on the message's timeline with the clock's
time and handed to the dispatcher. A `Plan` says how one message will go; the
defaults come from the project and server, and a scenario rule may change them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .clock import Clock
from .dispatcher import Dispatcher
from .events import EventBus
from .models import FINAL_STATUSES
from .store import Store


class Plan(NamedTuple):
    """How one message will go, and who its callbacks are about. Fixed at acceptance.

    Scheduled as a clock job's `record`: the clock keeps its fields flat while the step
    waits, so the garbage collector stops scanning it (see `clock.Entry`), and hands it
    back whole. Its fields are plain values for the same reason; faults are tuples,
    empty in the common case (an empty tuple is not tracked, an empty frozenset is).
    """

    sid: str
    project_id: str
    from_: str
    to: str | None  # None: callbacks leave `To` out
    send_delay: float
    delivery_delay: float
    final_status: str = "delivered"
    error_code: str | None = None
    callback_url: str | None = None
    faults: tuple[str, ...] = ()
    drop_statuses: tuple[str, ...] = ()


class Lifecycle:
    def __init__(
        self, store: Store, clock: Clock, dispatcher: Dispatcher, events: EventBus
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.events = events
        self._held: dict[str, list[str]] = {}  # statuses held back by a "reorder" fault
        # Bound once: each `self._step_job` would otherwise be a new object per job.
        self._step_job = self._run_step
        self._sent_job = self._run_sent
        self._callback_job = self._run_callback
        # Told (sid, final status, error code) as each message ends: the SMPP server's
        # delivery receipts. Set by whoever owns that need; None costs nothing.
        self.on_final: Callable[[str, str, str | None], None] | None = None

    def start(self, plan: Plan) -> None:
        """Begin a just-stored message's life; its `queued` step is already recorded."""
        if plan.callback_url is not None:
            self.clock.schedule(0, self._callback_job, "queued", record=plan)
        if plan.final_status == "failed":
            # A failed message never reaches the carrier: queued -> failed.
            self.clock.schedule(plan.send_delay, self._step_job, "failed", record=plan)
        else:
            self.clock.schedule(plan.send_delay, self._sent_job, record=plan)

    # Clock jobs.
    def _run_sent(self, plan: Plan) -> None:
        self.clock.schedule(plan.delivery_delay, self._step_job, plan.final_status, record=plan)
        self._step(plan, "sent")

    def _run_step(self, status: str, plan: Plan) -> None:
        self._step(plan, status)

    def _run_callback(self, status: str, plan: Plan) -> None:
        if self.store.has_message(plan.sid):  # evicted or cleared before its turn: nobody to tell
            self._callback(plan, status)

    def _step(self, plan: Plan, status: str) -> None:
        """Record a step now and queue its callback, if the message has somewhere to go."""
        code = plan.error_code if status in ("undelivered", "failed") else None
        if not self.store.set_status(plan.sid, status, self.clock.now(), error_code=code):
            self._held.pop(plan.sid, None)  # statuses a "reorder" fault was holding back
            return  # cleared or evicted meanwhile: nothing more to tell anyone
        if self.events.active:  # a snapshot now, rendered when a stream reads it
            render = self.store.render_later(plan.sid)
            if render is not None:
                self.events.publish_later("status", plan.project_id, render)
        if self.on_final is not None and status in FINAL_STATUSES:
            self.on_final(plan.sid, status, code)
        self._callback(plan, status)

    def _callback(self, plan: Plan, status: str) -> None:
        if plan.callback_url is None:
            return
        statuses = [status]
        if "reorder" in plan.faults:
            # Hold statuses until the final one, then post them last-first. Dropped
            # statuses are skipped below, so dropping the final one cannot strand the rest.
            held = self._held.setdefault(plan.sid, [])
            held.append(status)
            if status not in ("delivered", "undelivered", "failed"):
                return
            statuses = list(reversed(self._held.pop(plan.sid)))
        for s in statuses:
            if s in plan.drop_statuses:
                continue
            self.dispatcher.notify(
                sid=plan.sid,
                project_id=plan.project_id,
                status=s,
                url=plan.callback_url,
                from_=plan.from_,
                to=plan.to,
                faults=plan.faults,
                copies=2 if "duplicate" in plan.faults else 1,
            )

    def reset(self) -> None:
        self._held.clear()
