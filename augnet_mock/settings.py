"""Server settings: `Settings` is immutable and holds everything the app factory needs.

Projects given in the config file are parsed next to `Project` (`models.parse_project`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clock import ClockMode
from .models import DEFAULT_PROJECT_ID, Project, copy_project, default_project
from .pricing import DEFAULT_PRICE_TABLE, PriceTable
from .signing import DEFAULT_USER_AGENT


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    smpp_port: int = 2775  # 0: no SMPP server
    # Wall-clock seconds an SMPP session may stay silent before it is closed. Two minutes
    # outlasts the 30-60 s enquire_link interval clients commonly use.
    smpp_inactivity_timeout: float = 120.0
    # Mock-clock seconds the parts of a long message may take to all arrive; then what came
    # is recorded as incomplete. A minute is far past any client's gap between parts.
    smpp_reassembly_timeout: float = 60.0
    clock: ClockMode = "real"
    seed: int | None = None
    max_body_bytes: int = 64 * 1024
    max_segments: int = 10
    max_messages: int = 10_000
    # Every send checks the rules in turn, so their number bounds its cost. A thousand is
    # far more than a suite keeps at once (the pytest handle removes its own after each
    # test) and costs a send about 2 ms even if all are regexes that never match.
    max_rules: int = 1_000
    # Small but non-zero so a person watching the inbox sees queued -> sent -> delivered.
    send_delay: float = 0.2
    delivery_delay: float = 0.5
    callback_attempts: int = 5
    callback_backoff: float = 1.0  # seconds before the 2nd attempt; doubles after
    callback_timeout: float = 5.0  # seconds: one deadline per attempt, connect to last byte
    # See dispatcher.DEFAULT_PER_RECEIVER for why 8.
    callback_concurrency_per_receiver: int = 8
    # None: `max_messages`. A healthy receiver keeps pending callbacks near zero, so the
    # bound bites only when receivers fall behind; one per kept message lets each have its
    # next callback waiting, and at about 1.3 KB each (tracemalloc, with its outbox) against
    # ~0.75 KB per stored message, the dispatcher stays within about twice the store.
    max_pending_callbacks: int | None = None
    # A container's loopback is not the tests': callbacks to loopback go here instead.
    loopback_alias: str | None = None
    chaos_api_errors: float = 0.0
    chaos_undelivered: float = 0.0
    default_project: bool = True
    projects: tuple[Project, ...] = ()
    scenarios: tuple[dict[str, Any], ...] = ()  # rule specs, validated when loaded
    access_log: bool = True
    # Long enough for any honest client on a slow link to send 64 KiB; short enough that
    # stalled uploads cannot pile up connections.
    body_timeout: float = 10.0
    # Host names the control API and inbox answer to besides loopback ones ("*": any).
    allowed_hosts: tuple[str, ...] = ()
    # When set, the control API and inbox need it (guard.py); kept out of repr and logs.
    admin_token: str | None = field(default=None, repr=False)
    # Refuse sends with fields Augnet would ignore (strictness.py); a project may override.
    strict: bool = False
    # Per part, by prefix and encoding (pricing.py); None: the illustrative default table.
    prices: PriceTable | None = None
    # The provider's example callback headers name its client: Java's Apache HttpClient.
    callback_user_agent: str = DEFAULT_USER_AGENT

    def strict_for(self, project: Project) -> bool:
        return self.strict if project.strict is None else project.strict

    def prices_for(self, project: Project) -> PriceTable:
        if project.prices is not None:
            return project.prices
        return DEFAULT_PRICE_TABLE if self.prices is None else self.prices

    def startup_projects(self) -> list[Project]:
        """The projects a fresh (or reset) mock holds: the default one, then the config's."""
        extra = [copy_project(p) for p in self.projects]
        if self.default_project and not any(p.project_id == DEFAULT_PROJECT_ID for p in extra):
            extra.insert(0, default_project())
        return extra
