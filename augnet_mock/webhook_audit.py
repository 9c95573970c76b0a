"""The webhook receiver audit: is a receiver safe against what callbacks can do?

It posts to a receiver, as Augnet would, one correctly signed callback and then
each misbehaviour the scenarios know (a bad signature, a stale Date, a wrong
Digest, no signature, a duplicate, statuses out of order, a replay of an earlier
request, a body without `To`), and judges each answer:

- a genuine callback (the valid one, the one without `To`) must get a 2xx;
- a forged or tampered one (bad signature, stale Date, wrong Digest, no
  signature) must be refused: any answer but 2xx;
- a duplicate, and statuses out of order, must still get a 2xx: a receiver that
  errors on them is not idempotent, and Augnet would retry them over and over;
- a byte-for-byte replay may be refused (4xx) or acknowledged (2xx), but not
  answered with a server error.

Only the answers can be seen from here, so "idempotent" means answered alike, not
processed once: the README says so. The requests are built with the dispatcher's
own body and header code, so they are what the mock itself sends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from .dispatcher import callback_body, request_target
from .models import DEFAULT_FALLBACK_SENDER, DEFAULT_PROJECT_ID
from .scenarios import STALE_DATE_SECONDS
from .signing import (
    ACCEPT_ENCODING,
    DEFAULT_USER_AGENT,
    digest,
    http_date,
    sign,
    signed_headers,
)

DEFAULT_TIMEOUT = 5.0  # seconds per request, as the dispatcher's default callback_timeout
AUDIT_TO = "+447700900123"  # Ofcom's drama range: no real phone has it

# What a case expects of the answer.
ACCEPT = "accept (2xx)"
REJECT = "reject (not 2xx)"
IDEMPOTENT = "2xx again"
NO_ERROR = "2xx or 4xx"


@dataclass(frozen=True, slots=True)
class Row:
    """One case of the scorecard."""

    case: str
    what: str
    expect: str
    answers: tuple[int | str, ...]  # each request's status, or the error that stood in
    safe: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "what": self.what,
            "expect": self.expect,
            "answers": list(self.answers),
            "safe": self.safe,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    url: str
    rows: tuple[Row, ...] = field(default=())

    @property
    def safe(self) -> bool:
        return all(row.safe for row in self.rows)

    def row(self, case: str) -> Row:
        return next(r for r in self.rows if r.case == case)

    @property
    def unsafe(self) -> list[str]:
        return [r.case for r in self.rows if not r.safe]

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "safe": self.safe, "rows": [r.to_json() for r in self.rows]}

    def render(self) -> str:
        """The scorecard as a table, one case a line, then the verdict."""
        header = ("case", "expects", "answered", "verdict")
        table = [
            (
                r.case,
                r.expect,
                ", ".join(str(a) for a in r.answers),
                "safe" if r.safe else f"UNSAFE: {r.note}",
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *table]) for i in range(3)]
        lines = [f"webhook receiver audit: {self.url}"]
        for line in [header, *table]:
            lines.append(
                "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False))
                + "  "
                + line[3]
            )
        count = len(self.unsafe)
        lines.append(
            "every case is safe"
            if not count
            else f"{count} unsafe case{'s' if count != 1 else ''}: {', '.join(self.unsafe)}"
        )
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Request:
    """One request as sent: kept whole so that the replay can send it again byte for byte."""

    body: bytes
    headers: dict[str, str]


class Auditor:
    """Builds and posts the audit's callbacks to one receiver."""

    def __init__(
        self,
        url: str,
        *,
        signing_key: str,
        project_id: str,
        client: httpx2.Client,
        now: Callable[[], float],
        user_agent: str,
    ) -> None:
        self.url = url
        self.target = request_target(url)
        self.key = signing_key
        self.project_id = project_id
        self.client = client
        self.now = now
        self.user_agent = user_agent

    def build(
        self,
        sid: str,
        status: str,
        *,
        to: str | None = AUDIT_TO,
        key: str | None = None,
        age: float = 0.0,
        tamper_digest: bool = False,
        unsigned: bool = False,
    ) -> Request:
        body = callback_body(
            sid=sid,
            status=status,
            project_id=self.project_id,
            from_=DEFAULT_FALLBACK_SENDER,
            to=to,
        )
        headers = signed_headers(
            body=body,
            url_host=self.target.host,
            path=self.target.path,
            date=http_date(self.now() - age),
            key_id=self.project_id,
            key=None if unsigned else (key or self.key),
        )
        if tamper_digest:
            # Signed consistently over the wrong digest, as the wrongDigest fault does.
            headers["Digest"] = digest(body + b"\n")
            headers["Authorization"] = sign(
                key_id=self.project_id,
                key=self.key,
                method="POST",
                path=self.target.path,
                headers=headers,
            )
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        headers["User-Agent"] = self.user_agent
        return Request(body, headers)

    def post(self, request: Request) -> int | str:
        try:
            response = self.client.post(
                str(self.target.url), content=request.body, headers=request.headers
            )
        except httpx2.HTTPError as exc:
            return f"error: {type(exc).__name__}"
        return response.status_code


def _ok(answer: int | str) -> bool:
    return isinstance(answer, int) and 200 <= answer < 300


def _judge(case: str, what: str, expect: str, answers: list[int | str]) -> Row:
    if expect in (ACCEPT, IDEMPOTENT):
        bad = [a for a in answers if not _ok(a)]
        note = (
            ""
            if not bad
            else {
                ACCEPT: "a genuine callback was not acknowledged",
                IDEMPOTENT: "not idempotent: Augnet retries what is not acknowledged",
            }[expect]
        )
    elif expect == REJECT:
        bad = [a for a in answers if _ok(a) or isinstance(a, str)]
        note = (
            ""
            if not bad
            else (
                "accepted: it does not check signatures"
                if any(_ok(a) for a in bad)
                else "no answer at all"
            )
        )
    else:  # NO_ERROR
        bad = [a for a in answers if not (isinstance(a, int) and 200 <= a < 500)]
        note = "" if not bad else "a replay broke it (a server error or no answer)"
    return Row(case, what, expect, tuple(answers), not bad, note)


def audit_webhook(
    url: str,
    *,
    signing_key: str,
    project_id: str = DEFAULT_PROJECT_ID,
    timeout: float = DEFAULT_TIMEOUT,
    client: httpx2.Client | None = None,
    now: Callable[[], float] | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
) -> Scorecard:
    """Post each case to the receiver at `url`, signed with `signing_key` for
    `project_id`, and judge its answers. `now` is the time for Date headers."""
    own = client is None
    http = client or httpx2.Client(timeout=timeout, trust_env=False, follow_redirects=False)
    auditor = Auditor(
        url,
        signing_key=signing_key,
        project_id=project_id,
        client=http,
        now=now or time.time,
        user_agent=user_agent,
    )
    rows: list[Row] = []

    def sid() -> str:
        return str(uuid.uuid1())

    try:
        first = sid()
        valid = auditor.build(first, "queued")
        rows.append(_judge("valid", "a correctly signed callback", ACCEPT, [auditor.post(valid)]))
        no_to = auditor.build(sid(), "queued", to=None)
        rows.append(
            _judge(
                "noTo",
                "a signed body without To, as the provider's captured callback",
                ACCEPT,
                [auditor.post(no_to)],
            )
        )
        forged = [
            (
                "badSignature",
                "signed with another key",
                auditor.build(sid(), "queued", key=signing_key + "-forged"),
            ),
            (
                "staleDate",
                "a Date an hour old, signed",
                auditor.build(sid(), "queued", age=STALE_DATE_SECONDS),
            ),
            (
                "wrongDigest",
                "a Digest that does not match the body",
                auditor.build(sid(), "queued", tamper_digest=True),
            ),
            (
                "missingSignature",
                "no Authorization header",
                auditor.build(sid(), "queued", unsigned=True),
            ),
        ]
        for case, what, request in forged:
            rows.append(_judge(case, what, REJECT, [auditor.post(request)]))
        again = auditor.build(first, "queued")  # the same status again, freshly signed
        rows.append(
            _judge(
                "duplicate", "the valid callback's status again", IDEMPOTENT, [auditor.post(again)]
            )
        )
        late = sid()
        answers = [auditor.post(auditor.build(late, s)) for s in ("delivered", "sent")]
        rows.append(_judge("outOfOrder", "delivered, then sent", IDEMPOTENT, answers))
        rows.append(
            _judge(
                "replay",
                "the valid request again, byte for byte",
                NO_ERROR,
                [auditor.post(valid)],
            )
        )
    finally:
        if own:
            http.close()
    return Scorecard(url, tuple(rows))
