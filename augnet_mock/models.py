"""The records the store keeps: projects, messages, callback attempts, rejected requests.

Plain dataclasses with a `to_json()` each; the JSON names are the SPEC's camelCase.
A project is parsed from that JSON form here too (`parse_project`), by one function
whether it comes from the control API or the config file, so both report bad
fields the same way.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

from .advisor import advice_json
from .clock import iso
from .pricing import PriceTable, parse_prices
from .segmentation import segment
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

# Augnet's sample credentials (the provider document's curl example), so the seed's
# example works unchanged against a freshly started mock.
DEFAULT_PROJECT_ID = "326488d2-f853-4dd6-8610-93f9011ac4e5"
DEFAULT_API_KEY = "d4uGpkiPxnm8C6yeZEIKSj6AsAcs-W1s"
DEFAULT_SIGNING_KEY = "augnet-mock-signing-key"  # documented in the README
DEFAULT_FALLBACK_SENDER = "+441743581416"  # the From of the provider's callback example
# The default project's SMPP login (README); the provider documents none.
DEFAULT_SMPP_SYSTEM_ID = "augnet"
DEFAULT_SMPP_PASSWORD = "augnet"

FINAL_STATUSES = ("delivered", "undelivered", "failed")
# Where a send came in, recorded on its message as `api`: the REST API, the web inbox,
# its demo traffic, SMPP, or a batch.
Source = Literal["rest", "inbox", "demo", "smpp", "batch"]
SOURCES: tuple[Source, ...] = get_args(Source)

PROJECT_KEYS = (
    "projectId",
    "apiKey",
    "signingKey",
    "senders",
    "fallbackSender",
    "webhookUrl",
    "inboundWebhookUrl",
    "smpp",
    "smppMaxSubmitsPerSecond",
    "sendDelay",
    "deliveryDelay",
    "strict",
    "prices",
    "callbackTo",
)
SMPP_SYSTEM_ID_MAX = 15  # SMPP 3.4 §5.2.1: system_id is a C-Octet String of max 16 with NUL
SMPP_PASSWORD_MAX = 8  # SMPP 3.4 §5.2.2: password max 9 with NUL
MAX_SUBMITS_PER_SECOND = 1_000_000.0  # far past any SMSC's throttle; keeps the bucket finite
STATUSES = ("queued", "sent", *FINAL_STATUSES)


@dataclass(slots=True)
class Project:
    project_id: str
    api_key: str
    signing_key: str | None
    senders: tuple[str, ...] = ()
    fallback_sender: str = DEFAULT_FALLBACK_SENDER
    webhook_url: str | None = None
    inbound_webhook_url: str | None = None
    smpp_system_id: str = ""
    smpp_password: str = ""
    # Submits per second one project may make over SMPP, as a real SMSC throttles; past
    # it a submit_sm gets ESME_RTHROTTLED. None: no limit.
    smpp_max_submits_per_second: float | None = None
    send_delay: float | None = None  # None: the server-wide default
    delivery_delay: float | None = None
    created_at: str = ""
    strict: bool | None = None  # refuse unknown send fields; None: the server's `strict`
    prices: PriceTable | None = None  # None: the server's `prices`
    # The provider documents `To` in callback bodies, but its own captured callback has
    # none (README, assumptions): False sends them without it.
    callback_to: bool = True

    def effective_sender(self, requested: str | None) -> str:
        """A whitelisted sender goes out as asked; anything else as the fallback."""
        return requested if requested in self.senders else self.fallback_sender

    def to_json(self) -> dict[str, Any]:
        return {
            "projectId": self.project_id,
            "apiKey": self.api_key,
            "signingKey": self.signing_key,
            "senders": list(self.senders),
            "fallbackSender": self.fallback_sender,
            "webhookUrl": self.webhook_url,
            "inboundWebhookUrl": self.inbound_webhook_url,
            "smpp": {"systemId": self.smpp_system_id, "password": self.smpp_password},
            "smppMaxSubmitsPerSecond": self.smpp_max_submits_per_second,
            "sendDelay": self.send_delay,
            "deliveryDelay": self.delivery_delay,
            "createdAt": self.created_at,
            "strict": self.strict,
            "prices": None if self.prices is None else self.prices.to_json(),
            "callbackTo": self.callback_to,
        }


def default_project() -> Project:
    return Project(
        project_id=DEFAULT_PROJECT_ID,
        api_key=DEFAULT_API_KEY,
        signing_key=DEFAULT_SIGNING_KEY,
        senders=(),
        fallback_sender=DEFAULT_FALLBACK_SENDER,
        smpp_system_id=DEFAULT_SMPP_SYSTEM_ID,
        smpp_password=DEFAULT_SMPP_PASSWORD,
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

    rate = value.get("smppMaxSubmitsPerSecond")
    if rate is not None:
        rate = number(p("smppMaxSubmitsPerSecond"), rate, maximum=MAX_SUBMITS_PER_SECOND)
        if rate <= 0:
            raise FieldError(p("smppMaxSubmitsPerSecond"), "must be greater than 0, or null")

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
        smpp_max_submits_per_second=rate,
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


@dataclass(slots=True)
class CallbackAttempt:
    id: str
    sid: str
    project_id: str
    status: str  # the SmsStatus this callback reports
    url: str
    attempt: int
    request_headers: dict[str, str]
    request_body: str
    at: str
    response_status: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    redelivery: bool = False
    fault: str | None = None  # the scenario misbehaviour applied, if any
    sent_to: str | None = None  # the URL requested, when --loopback-alias rewrote `url`

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.response_status is not None
            and 200 <= self.response_status < 300
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sid": self.sid,
            "projectId": self.project_id,
            "status": self.status,
            "url": self.url,
            "attempt": self.attempt,
            "requestHeaders": dict(self.request_headers),
            "requestBody": self.request_body,
            "at": self.at,
            "responseStatus": self.response_status,
            "error": self.error,
            "ok": self.ok,
            "durationMs": self.duration_ms,
            "redelivery": self.redelivery,
            "fault": self.fault,
            "sentTo": self.sent_to,
        }


# One timeline step: (status, epoch seconds, error code or None).
Step = tuple[str, float, str | None]


class Message(NamedTuple):
    """One recorded send, kept small: the store may hold 100,000 of them.

    Immutable and made of plain values; the store keeps it flattened (see
    `Store`) so that the garbage collector stops tracking it. Derived values
    (`createdAt`, step times, `parts`, `units`) are computed when rendered.
    Callback attempts live in the store, keyed by sid. `timeline` comes last: the
    store keeps its steps as the record's trailing fields.
    """

    sid: str
    project_id: str
    to: str
    from_: str
    requested_from: str | None
    body: str
    encoding: str
    segments: int
    status_callback: str | None
    created_epoch: float
    status: str = "queued"
    scenario: str | None = None
    error_code: str | None = None
    batch_id: str | None = None
    api: Source = "rest"
    incomplete: bool = False  # SMPP: some parts of a long message never arrived
    price: float | None = None  # per the price table when sent (pricing.py)
    # Send-time warnings (an unknown field, strictness.py), one per line: a string, not
    # a tuple, so that the stored row stays flat (see rows.py).
    warnings: str | None = None
    timeline: tuple[Step, ...] = ()

    @property
    def created_at(self) -> str:
        return iso(self.created_epoch)

    def to_json(self, callbacks: Iterable[CallbackAttempt] | None = None) -> dict[str, Any]:
        """The API view; `callbacks` adds the attempts (the store keeps them)."""
        seg = segment(self.body)  # deterministic, so rendering beats storing the parts
        data: dict[str, Any] = {
            "sid": self.sid,
            "projectId": self.project_id,
            "to": self.to,
            "from": self.from_,
            "requestedFrom": self.requested_from,
            "body": self.body,
            "encoding": self.encoding,
            "segments": self.segments,
            "parts": list(seg.parts),
            "units": list(seg.units),
            "status": self.status,
            "errorCode": self.error_code,
            "statusCallback": self.status_callback,
            "timeline": [_step_json(step) for step in self.timeline],
            "scenario": self.scenario,
            "batchId": self.batch_id,
            "api": self.api,
            "incomplete": self.incomplete,
            "createdAt": self.created_at,
            "price": self.price,
            "warnings": self.warnings.split("\n") if self.warnings else [],
            "advice": advice_json(self.body, self.encoding),
        }
        if callbacks is not None:
            data["callbacks"] = [a.to_json() for a in callbacks]
        return data


def _step_json(step: Step) -> dict[str, Any]:
    status, epoch, error_code = step
    data: dict[str, Any] = {"status": status, "at": iso(epoch)}
    if error_code is not None:
        data["errorCode"] = error_code
    return data


@dataclass(slots=True)
class RejectedRequest:
    id: str
    at: str
    method: str
    path: str
    status: int | None  # None: a scenario dropped the connection, so nothing was answered
    error: dict[str, Any] | None  # None: accepted, logged for its warnings
    project_id: str | None = None
    scenario: str | None = None
    body: str = ""
    warnings: tuple[str, ...] = ()
    sid: str | None = None  # the message, when the call was accepted despite warnings

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "error": self.error,
            "projectId": self.project_id,
            "scenario": self.scenario,
            "body": self.body,
            "warnings": list(self.warnings),
            "sid": self.sid,
        }
