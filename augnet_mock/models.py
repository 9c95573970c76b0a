"""The records the store keeps: projects, messages, callback attempts, rejected requests.

Plain dataclasses with a `to_json()` each; the JSON names are the SPEC's camelCase.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .advisor import advice_json
from .clock import iso
from .pricing import PriceTable
from .segmentation import segment

# Augnet's sample credentials (the provider document's curl example), so the seed's
# example works unchanged against a freshly started mock.
DEFAULT_PROJECT_ID = "326488d2-f853-4dd6-8610-93f9011ac4e5"
DEFAULT_API_KEY = "d4uGpkiPxnm8C6yeZEIKSj6AsAcs-W1s"
DEFAULT_SIGNING_KEY = "augnet-mock-signing-key"  # documented in the README
DEFAULT_FALLBACK_SENDER = "+441743581416"  # the From of the provider's callback example

FINAL_STATUSES = ("delivered", "undelivered", "failed")
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
            "sendDelay": self.send_delay,
            "deliveryDelay": self.delivery_delay,
            "createdAt": self.created_at,
            "strict": self.strict,
            "prices": None if self.prices is None else self.prices.to_json(),
            "callbackTo": self.callback_to,
        }


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
    price: float | None = None  # per the price table when sent (pricing.py)
    # Send-time warnings (an unknown field, strictness.py), one per line: a string, not
    # a tuple, so that the stored row stays flat (see `Store`).
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
