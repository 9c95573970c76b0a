"""What the control API returns, as typed records: `SentMessage` and `Callback`.

Each is built from the JSON of `GET /_mock/messages/{sid}` or `GET /_mock/callbacks`
(SPEC §2.1.1) and keeps that JSON as `raw` for fields added later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Callback:
    """One webhook attempt, as the control API journals it."""

    id: str
    sid: str
    status: str  # the SmsStatus it reported
    url: str
    attempt: int
    ok: bool
    response_status: int | None
    error: str | None
    request_headers: dict[str, str]
    request_body: str
    at: str
    redelivery: bool
    fault: str | None
    sent_to: str | None  # the URL requested, when --loopback-alias rewrote `url`
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Callback:
        return cls(
            id=data["id"],
            sid=data["sid"],
            status=data["status"],
            url=data["url"],
            attempt=data["attempt"],
            ok=data["ok"],
            response_status=data.get("responseStatus"),
            error=data.get("error"),
            request_headers=dict(data.get("requestHeaders") or {}),
            request_body=data.get("requestBody", ""),
            at=data.get("at", ""),
            redelivery=bool(data.get("redelivery")),
            fault=data.get("fault"),
            sent_to=data.get("sentTo"),
            raw=data,
        )

    def describe(self) -> str:
        answer = self.error or f"answered {self.response_status}"
        return f"{self.status} for {self.sid} to {self.url} (attempt {self.attempt}): {answer}"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One recorded message. `from_` is the sender actually used (SPEC §1.2)."""

    sid: str
    to: str
    from_: str
    requested_from: str | None
    body: str
    encoding: str
    segments: int
    parts: tuple[str, ...]
    status: str
    error_code: str | None
    status_callback: str | None
    timeline: tuple[dict[str, Any], ...]
    callbacks: tuple[Callback, ...]
    scenario: str | None
    created_at: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentMessage:
        return cls(
            sid=data["sid"],
            to=data["to"],
            from_=data["from"],
            requested_from=data.get("requestedFrom"),
            body=data["body"],
            encoding=data["encoding"],
            segments=data["segments"],
            parts=tuple(data.get("parts", ())),
            status=data["status"],
            error_code=data.get("errorCode"),
            status_callback=data.get("statusCallback"),
            timeline=tuple(data.get("timeline", ())),
            callbacks=tuple(Callback.from_json(c) for c in data.get("callbacks", ())),
            scenario=data.get("scenario"),
            created_at=data.get("createdAt", ""),
            raw=data,
        )

    @property
    def statuses(self) -> list[str]:
        """The statuses it went through, in order: e.g. queued, sent, delivered."""
        return [step["status"] for step in self.timeline]

    def describe(self) -> str:
        plural = "s" if self.segments != 1 else ""
        return (
            f"to {self.to!r} from {self.from_!r}, {self.segments} segment{plural} "
            f"({self.encoding}), status {self.status!r}, sid {self.sid}"
        )
