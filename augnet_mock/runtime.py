"""The running mock: the store, clock, events, dispatcher, lifecycle and sender, wired once.

`create_app` builds one `Runtime` and hands it to every route; the pytest plugin
and in-process clients reach the same object through `app.state.runtime`. Every
way of sending (REST, the inbox's demo, later SMPP and batches) calls `send`,
whose decision lives in `sending.Sender`, free of HTTP.
"""

from __future__ import annotations

import logging
import random

from .clock import Clock, make_clock
from .deadlines import BodyDeadlines
from .dispatcher import Dispatcher
from .events import EventBus
from .lifecycle import Lifecycle
from .scenarios import Rule, builtin_rules, chaos_rules, parse_rule
from .sending import Sender, SendRequest
from .settings import Settings
from .smpp_server import SmppServer
from .store import Store

__all__ = ["Runtime", "SendRequest"]

log = logging.getLogger("augnet_mock")
MAX_SERVER_ERRORS = 100


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.errors: list[str] = []  # failures inside the server, for the pytest plugin
        self.store = Store(
            max_messages=settings.max_messages,
            max_rules=settings.max_rules,
            builtin_rules=builtin_rules(),
            chaos_rules=chaos_rules(settings.chaos_api_errors, settings.chaos_undelivered),
        )
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
        # Probability and latency draws; reseeded on reset, so a run can be repeated.
        self.rng = random.Random(settings.seed)
        self.sender = Sender(
            settings, self.store, self.clock, self.events, self.lifecycle, self.rng
        )
        # The one send operation (see sending.py), and the rejected-requests log that the
        # edges also write to when they refuse a request before it is a send.
        self.send = self.sender.send
        self.reject = self.sender.reject
        self.new_sid = self.sender.new_sid
        self.store.reset(settings.startup_projects(), self._startup_rules())
        self.smpp = SmppServer(self)  # listens once the app's lifespan starts it

    def _startup_rules(self) -> list[Rule]:
        # Parsed afresh each time, so `times` counters never outlive a reset.
        return [parse_rule(spec, source="config") for spec in self.settings.scenarios]

    def record_error(self, exc: BaseException) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")
        del self.errors[:-MAX_SERVER_ERRORS]

    async def reset(self) -> None:
        """Everything back to the startup state (projects, rules, clock jobs, seed)."""
        await self.clock.aclose()
        self.dispatcher.reset()
        self.lifecycle.reset()
        self.rng.seed(self.settings.seed)
        self.errors.clear()
        self.smpp.reset()
        self.store.reset(self.settings.startup_projects(), self._startup_rules())
        self.events.publish("reset", {})

    async def aclose(self) -> None:
        self.events.close()
        await self.clock.aclose()
        await self.dispatcher.aclose()
