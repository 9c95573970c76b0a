"""Server settings, and building projects from their JSON/TOML form.

`Settings` is immutable and holds everything the app factory needs. Projects are
parsed by one function whether they come from the control API or the config
file, so both report bad fields the same way.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from .clock import ClockMode
from .dispatcher import DEFAULT_USER_AGENT
from .models import (
    DEFAULT_API_KEY,
    DEFAULT_FALLBACK_SENDER,
    DEFAULT_PROJECT_ID,
    DEFAULT_SIGNING_KEY,
    Project,
)
from .pricing import DEFAULT_PRICE_TABLE, PriceTable, parse_prices
from .validation import (
    MAX_DELAY,
    FieldError,
    number,
    optional_url,
    require_string,
    safe_id,
    sender,
    string_list,
    type_name,
)

PROJECT_KEYS = (
    "projectId",
    "apiKey",
    "signingKey",
    "senders",
    "fallbackSender",
    "webhookUrl",
    "inboundWebhookUrl",
    "smpp",
    "sendDelay",
    "deliveryDelay",
    "strict",
    "prices",
    "callbackTo",
)
SMPP_SYSTEM_ID_MAX = 15  # SMPP 3.4 §5.2.1: system_id is a C-Octet String of max 16 with NUL
SMPP_PASSWORD_MAX = 8  # SMPP 3.4 §5.2.2: password max 9 with NUL


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    smpp_port: int = 2775
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
    prices: PriceTable = DEFAULT_PRICE_TABLE  # per part, by prefix and encoding (pricing.py)
    # The provider's example callback headers name its client: Java's Apache HttpClient.
    callback_user_agent: str = DEFAULT_USER_AGENT

    def strict_for(self, project: Project) -> bool:
        return self.strict if project.strict is None else project.strict

    def prices_for(self, project: Project) -> PriceTable:
        return self.prices if project.prices is None else project.prices

    def startup_projects(self) -> list[Project]:
        """The projects a fresh (or reset) mock holds: the default one, then the config's."""
        extra = [copy_project(p) for p in self.projects]
        if self.default_project and not any(p.project_id == DEFAULT_PROJECT_ID for p in extra):
            extra.insert(0, default_project())
        return extra


def default_project() -> Project:
    return Project(
        project_id=DEFAULT_PROJECT_ID,
        api_key=DEFAULT_API_KEY,
        signing_key=DEFAULT_SIGNING_KEY,
        senders=(),
        fallback_sender=DEFAULT_FALLBACK_SENDER,
        smpp_system_id="augnet",
        smpp_password="augnet",
    )


def copy_project(p: Project) -> Project:
    return Project(**{name: getattr(p, name) for name in Project.__slots__})


def parse_project(value: Any, *, path: str = "", created_at: str = "") -> Project:
    """A project from its camelCase JSON form; what is left out is generated."""
    p = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    if not isinstance(value, dict):
        raise FieldError(path or "project", f"must be an object, got {type_name(value)}")
    for key in value:
        if key not in PROJECT_KEYS:
            raise FieldError(p(key), f"unknown key; expected one of {', '.join(PROJECT_KEYS)}")

    project_id = value.get("projectId")
    project_id = str(uuid.uuid4()) if project_id is None else safe_id(p("projectId"), project_id)
    api_key = value.get("apiKey")
    api_key = secrets.token_urlsafe(24) if api_key is None else require_string(p("apiKey"), api_key)
    if not api_key:
        raise FieldError(p("apiKey"), "must not be empty")
    signing_key = value.get("signingKey", secrets.token_urlsafe(24))
    if signing_key is not None:
        signing_key = require_string(p("signingKey"), signing_key) or None
    senders = tuple(
        sender(p(f"senders[{i}]"), s)
        for i, s in enumerate(string_list(p("senders"), value.get("senders", [])))
    )
    fallback = sender(p("fallbackSender"), value.get("fallbackSender", DEFAULT_FALLBACK_SENDER))

    smpp = value.get("smpp", {})
    if not isinstance(smpp, dict):
        raise FieldError(p("smpp"), f"must be an object, got {type_name(smpp)}")
    for key in smpp:
        if key not in ("systemId", "password"):
            raise FieldError(p(f"smpp.{key}"), "unknown key; expected systemId or password")
    system_id = require_string(p("smpp.systemId"), smpp.get("systemId", "p" + secrets.token_hex(7)))
    password = require_string(p("smpp.password"), smpp.get("password", secrets.token_hex(4)))
    if not 1 <= len(system_id) <= SMPP_SYSTEM_ID_MAX:
        raise FieldError(p("smpp.systemId"), f"must be 1 to {SMPP_SYSTEM_ID_MAX} characters")
    if not 1 <= len(password) <= SMPP_PASSWORD_MAX:
        raise FieldError(p("smpp.password"), f"must be 1 to {SMPP_PASSWORD_MAX} characters")

    def delay(key: str) -> float | None:
        raw = value.get(key)
        return None if raw is None else number(p(key), raw, maximum=MAX_DELAY)

    return Project(
        project_id=project_id,
        api_key=api_key,
        signing_key=signing_key,
        senders=senders,
        fallback_sender=fallback,
        webhook_url=optional_url(p("webhookUrl"), value.get("webhookUrl")),
        inbound_webhook_url=optional_url(p("inboundWebhookUrl"), value.get("inboundWebhookUrl")),
        smpp_system_id=system_id,
        smpp_password=password,
        send_delay=delay("sendDelay"),
        delivery_delay=delay("deliveryDelay"),
        created_at=created_at,
        strict=_optional_bool(p("strict"), value.get("strict")),
        prices=None if value.get("prices") is None else parse_prices(p("prices"), value["prices"]),
        callback_to=_bool(p("callbackTo"), value.get("callbackTo", True)),
    )


def _bool(field: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    raise FieldError(field, f"must be true or false, got {type_name(raw)}")


def _optional_bool(field: str, raw: Any) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise FieldError(field, f"must be true, false or null, got {type_name(raw)}")
