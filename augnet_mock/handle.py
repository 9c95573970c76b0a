"""`AugnetMock`: one project on a running mock, and everything a test asks of it.

The pytest plugin hands one to every test, but nothing here imports pytest: the
handle is usable from any script. It talks to the server through the control API
only (so it drives an in-thread `LiveServer` and an external container alike) and
owns a fresh project, created on `create()` and deleted on `close()`, so tests that
share one server never see each other's messages.

    with AugnetMock.create("http://127.0.0.1:8080") as augnet:
        send_an_sms(base_url=augnet.base_url, auth=augnet.auth)
        augnet.assert_sent(to="+447700900123", body_contains="ABC123")
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import httpx2

from .advisor import fit_problem
from .scenarios import MAGIC_NUMBERS
from .server import LiveServer
from .settings import Settings
from .transcript import transcript
from .transport import (
    AsyncAugnetTransport,
    AsyncNetworkTransport,
    AsyncTransport,
    AugnetTransport,
    NetworkTransport,
    SyncTransport,
)
from .webhook_audit import Scorecard, audit_webhook

T = TypeVar("T")

CONTROL_TIMEOUT = 10.0  # seconds for one control API call
WAIT_TIMEOUT = 5.0  # default seconds for wait_for_message / wait_for_callback
NEAR_MISSES = 5  # how many near misses a failed assertion shows
TOKEN_HINT = (
    "the server has an admin token: pass it as AugnetMock.create(..., token=...), "
    "or to pytest as --augnet-token or AUGNET_MOCK_TOKEN"
)
MESSAGE_EVENTS = frozenset({"message", "status", "cleared", "reset"})
CALLBACK_EVENTS = frozenset({"callback", "cleared", "reset"})


def fast_settings(**overrides: Any) -> Settings:
    """Server settings for tests: the whole queued -> sent -> delivered life takes
    ~20 ms and a failing webhook is retried after 0.1 s, 0.2 s, ...; the rest is default."""
    values: dict[str, Any] = {"send_delay": 0.01, "delivery_delay": 0.01, "callback_backoff": 0.1}
    return Settings(**(values | overrides))


class AugnetError(Exception):
    """The mock refused a control request; the message quotes its answer."""


class ServerError(AugnetError):
    """Code inside the in-thread server failed (a 500 or a failing clock job)."""


# -- records ------------------------------------------------------------------------


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


# -- magic numbers ------------------------------------------------------------------


class MagicNumbers:
    """Built-in numbers with a fixed outcome, for every project (SPEC §2.2).

    They are in Ofcom's drama range, which no real phone has.
    `GET /_mock/scenarios/builtin` lists them with their effects.
    """

    undelivered = "+447700900001"  # undelivered, errorCode 30003
    unknown_destination = "+447700900002"  # undelivered, errorCode 30005
    failed = "+447700900003"  # failed, errorCode 30008
    invalid_number = "+447700900400"  # 400 from the API
    rate_limited = "+447700900429"  # 429 with Retry-After: 1
    server_error = "+447700900500"  # 500 from the API
    unavailable = "+447700900503"  # 503 with Retry-After: 5
    slow_api = "+447700900901"  # the API answers after 2 s
    slow_delivery = "+447700900902"  # delivered 30 s after sent
    dropped_connection = "+447700900903"  # the socket closes with no answer
    never_acknowledged = "+447700900904"  # every callback attempt counts as failed

    @classmethod
    def names(cls) -> dict[str, str]:
        """Outcome name -> number."""
        return {k: v for k, v in vars(cls).items() if isinstance(v, str) and v.startswith("+")}

    @classmethod
    def effect(cls, name: str) -> dict[str, Any]:
        """The scenario effect behind a named number, to apply it to any send."""
        number = cls.names().get(name)
        if number is None:
            known = ", ".join(cls.names())
            raise ValueError(f"unknown magic outcome {name!r}; expected one of {known}")
        for magic in MAGIC_NUMBERS:
            if magic.number == number:
                return dict(magic.effect)
        raise ValueError(f"{name!r} ({number}) is not in the server's magic-number table")


# -- expectations and near misses ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a test expects of a message; every criterion left as None matches anything."""

    to: str | None = None
    from_: str | None = None
    body: str | None = None
    body_contains: str | None = None
    segments: int | None = None
    status: str | None = None  # its status now
    reached: str | None = None  # a status anywhere on its timeline, now or before

    def mismatches(self, m: SentMessage) -> list[str]:
        """The names of the criteria `m` fails."""
        failed = []
        for name, wanted, actual in (
            ("to", self.to, m.to),
            ("from", self.from_, m.from_),
            ("body", self.body, m.body),
            ("segments", self.segments, m.segments),
            ("status", self.status, m.status),
        ):
            if wanted is not None and wanted != actual:
                failed.append(name)
        if self.body_contains is not None and self.body_contains not in m.body:
            failed.append("body")
        if self.reached is not None and self.reached not in m.statuses:
            failed.append("reached")
        return failed

    def matches(self, m: SentMessage) -> bool:
        return not self.mismatches(m)

    def describe(self) -> str:
        parts = []
        if self.to is not None:
            parts.append(f"to {self.to!r}")
        if self.from_ is not None:
            parts.append(f"from {self.from_!r}")
        if self.body is not None:
            parts.append(f"with body {self.body!r}")
        if self.body_contains is not None:
            parts.append(f"whose body contains {self.body_contains!r}")
        if self.segments is not None:
            parts.append(f"in {self.segments} segment{'s' if self.segments != 1 else ''}")
        if self.status is not None:
            parts.append(f"with status {self.status!r}")
        if self.reached is not None:
            parts.append(f"that reached status {self.reached!r}")
        return " ".join(parts) if parts else "of any kind"

    def closeness(self, m: SentMessage) -> float:
        """Higher is closer: criteria met, then how alike the bodies are."""
        score = 7.0 - len(self.mismatches(m))
        wanted = self.body if self.body is not None else self.body_contains
        if wanted is not None:
            score += difflib.SequenceMatcher(None, wanted, m.body, autojunk=False).ratio()
        return score


def _ndiff(expected: str, actual: str, indent: str) -> list[str]:
    """A character-level diff of two one-line strings: - expected, + sent, ? markers."""
    lines = difflib.ndiff([expected], [actual])
    return [indent + line.rstrip("\n") for line in lines]


def _closest_window(needle: str, text: str) -> str:
    """The stretch of `text` most like `needle`, to diff a `body_contains` against:
    as long as the needle, and lined up on the longest run the two share."""
    n = len(needle)
    if len(text) <= n or not needle:
        return text
    matcher = difflib.SequenceMatcher(None, text, needle, autojunk=False)
    at, offset, size = matcher.find_longest_match(0, len(text), 0, n)
    if size == 0:
        return text
    start = min(max(at - offset, 0), len(text) - n)
    return text[start : start + n]


def _describe_message(m: SentMessage) -> str:
    plural = "s" if m.segments != 1 else ""
    return (
        f"to {m.to!r} from {m.from_!r}, {m.segments} segment{plural} ({m.encoding}), "
        f"status {m.status!r}, sid {m.sid}"
    )


def _near_miss(expected: Expectation, m: SentMessage, index: int) -> list[str]:
    lines = [f"  [{index}] {_describe_message(m)}", f"      body: {m.body!r}"]
    for name in dict.fromkeys(expected.mismatches(m)):
        if name == "to" and expected.to is not None:
            lines.append("      to differs:")
            lines += _ndiff(expected.to, m.to, "        ")
        elif name == "from" and expected.from_ is not None:
            lines.append("      from differs (the sender actually used):")
            lines += _ndiff(expected.from_, m.from_, "        ")
        elif name == "body" and expected.body is not None:
            lines.append("      body differs:")
            lines += _ndiff(expected.body, m.body, "        ")
        elif name == "body" and expected.body_contains is not None:
            lines.append("      body does not contain it; closest part:")
            window = _closest_window(expected.body_contains, m.body)
            lines += _ndiff(expected.body_contains, window, "        ")
        elif name == "segments":
            lines.append(f"      segments: expected {expected.segments}, sent {m.segments}")
        elif name == "status":
            lines.append(f"      status: expected {expected.status!r}, is {m.status!r}")
        elif name == "reached":
            timeline = " -> ".join(m.statuses)
            lines.append(f"      status: never {expected.reached!r}, so far {timeline}")
    return lines


def near_miss_report(
    expected: Expectation, sent: list[SentMessage], *, count: int | None, headline: str
) -> str:
    """The failure text of assert_sent and wait_for_message: what was sent instead."""
    matches = [m for m in sent if expected.matches(m)]
    lines = [headline]
    if count is not None and matches:
        lines.append(f"Matching messages ({len(matches)}):")
        lines += [f"  - {_describe_message(m)}: {m.body!r}" for m in matches]
    misses = sorted(
        (m for m in sent if not expected.matches(m)), key=expected.closeness, reverse=True
    )
    if not sent:
        lines.append("No messages were sent in this test's project.")
    elif misses:
        shown = misses[:NEAR_MISSES]
        more = f" ({len(misses) - len(shown)} more not shown)" if len(misses) > len(shown) else ""
        lines.append(f"Near misses, what was sent instead (closest first){more}:")
        for i, m in enumerate(shown, 1):
            lines += _near_miss(expected, m, i)
    return "\n".join(lines)


# -- one-time codes -----------------------------------------------------------------

# "code", "OTP", "PIN"... then up to a few separators and an optional "is": the code.
_KEYWORD_CODE = re.compile(
    r"\b(?:verification\s+code|code|otp|pin|passcode|password|token)\b"
    r"[\s:=#-]{0,3}(?:is\b[\s:=#-]{0,3})?(?P<code>[A-Za-z0-9]{4,8}|\d{3}[ -]\d{3})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"(?<![\w.,+])\d{4,8}(?![\w.,])")
_GROUPED = re.compile(r"(?<![\w.,+-])\d{3}[ -]\d{3}(?![\w.,-])")  # "123-456", "123 456"


def find_code(text: str) -> str | None:
    """A one-time code in `text`: an alphanumeric code after a word like "code",
    else the first standalone run of 4-8 digits, else a "123-456" pair of groups.
    Separators inside a code are dropped."""
    for found in _KEYWORD_CODE.finditer(text):
        code = found.group("code")
        # "Your code expires..." must not read "expires" as the code.
        if any(c.isdigit() for c in code) or code.isupper():
            return re.sub(r"[ -]", "", code)
    digits = _DIGITS.search(text) or _GROUPED.search(text)
    return re.sub(r"[ -]", "", digits.group(0)) if digits else None


# -- the handle ---------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(word.title() for word in rest)


def _matcher(value: str | re.Pattern[str] | Mapping[str, str]) -> Any:
    if isinstance(value, re.Pattern):
        return {"regex": value.pattern}
    return value if isinstance(value, str) else dict(value)


class ClockControl:
    """The server's clock: read it, and in manual mode move it on."""

    def __init__(self, handle: AugnetMock) -> None:
        self._handle = handle

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = self._handle._call("GET", "/_mock/clock")
        return data

    @property
    def mode(self) -> str:
        """ "real" or "manual"."""
        mode: str = self._read()["mode"]
        return mode

    def now(self) -> float:
        """The mock's time, epoch seconds."""
        return float(self._read()["epoch"])

    @property
    def pending(self) -> int:
        """Jobs waiting on the clock (sends, deliveries, callback retries)."""
        return int(self._read()["pending"])

    def advance(self, seconds: float) -> int:
        """Move a manual clock on, running every job that falls due; returns how many ran.

        When it returns, that work is done: statuses are recorded, callbacks posted.
        """
        __tracebackhide__ = True
        try:
            data = self._handle._call("POST", "/_mock/clock/advance", json={"seconds": seconds})
        except AugnetError as exc:
            if "real" in str(exc):
                raise AugnetError(
                    f"{exc}\nThe server's clock is real. Start it with clock='manual' "
                    "(in pytest: @pytest.mark.augnet(clock='manual'))."
                ) from None
            raise
        self._handle._raise_server_errors()
        return int(data["ran"])


class AugnetMock:
    """One fresh project on a running augnet-mock, and what tests ask of it."""

    def __init__(
        self,
        base_url: str,
        project: dict[str, Any],
        *,
        client: httpx2.Client,
        server: LiveServer | None = None,
        owns_client: bool = False,
        strict_callbacks: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.project = project  # the project JSON as the server last returned it
        #: At check(): fail if any webhook attempt for this project was not acknowledged.
        self.strict_callbacks = strict_callbacks
        self.clock = ClockControl(self)
        self.magic = MagicNumbers
        self._client = client
        self._server = server
        self._owns_client = owns_client
        self._rules: list[str] = []
        self._closed = False

    @classmethod
    def create(
        cls,
        target: str | LiveServer,
        project: Mapping[str, Any] | None = None,
        *,
        client: httpx2.Client | None = None,
        strict_callbacks: bool = False,
        token: str | None = None,
    ) -> AugnetMock:
        """Create a fresh project on `target` (a URL, or an in-thread `LiveServer`).

        `project` is the JSON body of `POST /_mock/projects` (senders, fallbackSender,
        webhookUrl, ...); what it leaves out is generated. With a `LiveServer`, failures
        inside the server are raised in the caller and `transport()` needs no socket.
        `token` is the server's admin token, if it was started with one (a `LiveServer`'s
        own is found without it); it goes with every control request.
        """
        server = target if isinstance(target, LiveServer) else None
        base_url = (target.url if isinstance(target, LiveServer) else target).rstrip("/")
        owns = client is None
        if client is None:
            client = cls.control_client(target, token=token)
        handle = cls(
            base_url,
            {},
            client=client,
            server=server,
            owns_client=owns,
            strict_callbacks=strict_callbacks,
        )
        try:
            handle.project = handle._call(
                "POST", "/_mock/projects", json=dict(project or {}), expect=201
            )
        except BaseException:
            handle._closed = True
            if owns:
                client.close()
            raise
        return handle

    @staticmethod
    def control_client(target: str | LiveServer, *, token: str | None = None) -> httpx2.Client:
        """A client for the control API: in-process for a `LiveServer` (no socket, so a
        handle costs a test well under a millisecond), plain HTTP for a URL. With an admin
        `token` (by default a `LiveServer`'s own), every request carries it as Bearer."""
        if token is None and isinstance(target, LiveServer):
            token = target.runtime.settings.admin_token
        headers = {"Authorization": f"Bearer {token}"} if token else None
        if isinstance(target, LiveServer):
            transport = AugnetTransport(target.app, target.loop)
            return httpx2.Client(transport=transport, timeout=CONTROL_TIMEOUT, headers=headers)
        return httpx2.Client(timeout=CONTROL_TIMEOUT, trust_env=False, headers=headers)

    def __repr__(self) -> str:
        return f"<AugnetMock project {self.project_id!r} on {self.base_url}>"

    def __enter__(self) -> AugnetMock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.check()
        finally:
            self.close()

    # -- plumbing ---------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expect: int | tuple[int, ...] = 200,
    ) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client.request(
                method, self.base_url + path, json=json, params=query or None
            )
        except httpx2.TransportError as exc:
            raise AugnetError(f"augnet-mock at {self.base_url} is unreachable: {exc}") from exc
        wanted = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in wanted:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            detail = answer.get("message") if isinstance(answer, dict) else None
            detail = detail or response.text
            if response.status_code == 401:
                detail += f" ({TOKEN_HINT})"
            raise AugnetError(f"{method} {path} -> {response.status_code}: {detail}")
        return response.json() if response.content else None

    def _raise_server_errors(self) -> None:
        """Raise what failed inside an in-thread server since the last look."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if self._server is None:
            return
        errors = self._server.runtime.errors
        if not errors:
            return
        taken = list(errors)
        del errors[: len(taken)]
        listed = "\n".join(f"  {e}" for e in taken)
        raise ServerError(
            f"augnet-mock: the server failed while serving this test:\n{listed}\n"
            "(the traceback is in the captured log of logger 'augnet_mock')"
        )

    # -- the project ------------------------------------------------------------

    @property
    def project_id(self) -> str:
        project_id: str = self.project["projectId"]
        return project_id

    @property
    def api_key(self) -> str:
        api_key: str = self.project["apiKey"]
        return api_key

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials for the send API, as httpx's `auth=` takes them."""
        return (self.project_id, self.api_key)

    @property
    def server(self) -> LiveServer | None:
        """The in-thread server behind this handle, or None for an external one."""
        return self._server

    @property
    def send_url(self) -> str:
        return f"{self.base_url}/api/v2/message"

    @property
    def signing_key(self) -> str | None:
        key: str | None = self.project.get("signingKey")
        return key

    @signing_key.setter
    def signing_key(self, key: str | None) -> None:
        self.update(signingKey=key)

    @property
    def webhook_url(self) -> str | None:
        url: str | None = self.project.get("webhookUrl")
        return url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self.update(webhookUrl=url)

    def update(self, **fields: Any) -> dict[str, Any]:
        """Change project fields by their JSON names (PATCH /_mock/projects/{id})."""
        self.project = self._call("PATCH", f"/_mock/projects/{self.project_id}", json=fields)
        return self.project

    # -- in-process clients -----------------------------------------------------

    def transport(self) -> SyncTransport:
        """For `httpx2.Client(transport=...)` or `httpx.Client(transport=...)`: in-process,
        with no socket, when the server runs in this process; against an external server,
        plain HTTP. Either way the library is recognised from each request."""
        if self._server is None:
            return NetworkTransport()
        return AugnetTransport(self._server.app, self._server.loop)

    def async_transport(self) -> AsyncTransport:
        """The same for `httpx2.AsyncClient(transport=...)` or `httpx.AsyncClient(...)`."""
        if self._server is None:
            return AsyncNetworkTransport()
        return AsyncAugnetTransport(self._server.app, self._server.loop)

    # -- messages ---------------------------------------------------------------

    def messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        status: str | None = None,
        body: str | None = None,
        body_contains: str | None = None,
    ) -> list[SentMessage]:
        """This project's recorded messages, oldest first, filtered."""
        __tracebackhide__ = True
        self._raise_server_errors()
        params = {"projectId": self.project_id, "to": to, "from": from_, "status": status}
        data = self._call("GET", "/_mock/messages", params=params)
        found = [SentMessage.from_json(m) for m in data["messages"]]
        wanted = Expectation(body=body, body_contains=body_contains)
        return [m for m in found if wanted.matches(m)]

    def last_message(self, *, to: str | None = None, from_: str | None = None) -> SentMessage:
        """The newest message (to `to`); AssertionError if there is none."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        found = self.messages(to=to, from_=from_)
        if not found:
            where = f" to {to!r}" if to else ""
            raise AssertionError(f"augnet-mock: no message was sent{where} in this test")
        return found[-1]

    def message(self, sid: str) -> SentMessage:
        """One message by sid, fresh from the server."""
        return SentMessage.from_json(self._call("GET", f"/_mock/messages/{sid}"))

    def clear(self) -> int:
        """Forget this project's messages; returns how many there were."""
        data = self._call("DELETE", "/_mock/messages", params={"projectId": self.project_id})
        return int(data["deleted"])

    def rejected(self) -> list[dict[str, Any]]:
        """API calls the mock refused for this project, with the error each got."""
        data = self._call("GET", "/_mock/requests", params={"projectId": self.project_id})
        rejected: list[dict[str, Any]] = data["requests"]
        return rejected

    def assert_sent(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        body: str | None = None,
        body_contains: str | None = None,
        segments: int | None = None,
        status: str | None = None,
        count: int | None = None,
        encoding: str | None = None,
        max_segments: int | None = None,
    ) -> list[SentMessage]:
        """Assert a matching message was sent (exactly `count` of them, if given), and
        return the matches. On failure, the error shows what was sent instead.

        `encoding` ("GSM-7") and `max_segments` are then checked on every match: a
        failure names the characters that forced UCS-2, their positions, and the fix."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        expected = Expectation(to, from_, body, body_contains, segments, status)
        sent = self.messages()
        matches = [m for m in sent if expected.matches(m)]
        if (count is None and matches) or len(matches) == count:
            unfit = [
                f"message {m.sid} to {m.to}: {problem}"
                for m in matches
                if (problem := fit_problem(m.body, encoding=encoding, max_segments=max_segments))
            ]
            if unfit:
                raise AssertionError("augnet-mock: " + "\n".join(unfit))
            return matches
        what = expected.describe()
        if count is None:
            headline = f"augnet-mock: expected a message {what}, but none was sent."
        else:
            headline = (
                f"augnet-mock: expected {count} message{'s' if count != 1 else ''} {what}, "
                f"found {len(matches)}."
            )
        raise AssertionError(near_miss_report(expected, sent, count=count, headline=headline))

    @staticmethod
    def assert_fits(
        body: str, *, max_segments: int | None = None, encoding: str | None = None
    ) -> None:
        """Assert a text (a rendered template, say) fits, without sending it: at most
        `max_segments` parts, in `encoding` if given. The failure names the characters
        that forced UCS-2, their positions and the fix."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        problem = fit_problem(body, encoding=encoding, max_segments=max_segments)
        if problem:
            raise AssertionError(f"augnet-mock: {problem}")

    def usage(self) -> dict[str, Any]:
        """This project's messages, parts and cost so far (`GET /_mock/usage`)."""
        data = self._call("GET", "/_mock/usage", params={"projectId": self.project_id})
        total: dict[str, Any] = data["total"]
        return total

    def transcript(self) -> str:
        """Every message this project sent, with its timeline and callbacks, as text."""
        return transcript(
            self._call("GET", "/_mock/messages", params={"projectId": self.project_id})["messages"]
        )

    def audit_webhook(self, url: str, *, timeout: float = 5.0) -> Scorecard:
        """Audit the receiver at `url` with this project's id and signing key (see
        `augnet-mock check-webhook`); `scorecard.safe` is the verdict."""
        if not self.signing_key:
            raise AugnetError("audit_webhook: this project has no signing key to sign with")
        return audit_webhook(
            url, signing_key=self.signing_key, project_id=self.project_id, timeout=timeout
        )

    def assert_not_sent(self, *, to: str | None = None, body_contains: str | None = None) -> None:
        """Assert no message matching these was sent."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self.assert_sent(to=to, body_contains=body_contains, count=0)

    def extract_code(self, *, to: str | None = None, pattern: str | None = None) -> str:
        """The one-time code in the newest message (to `to`): 4-8 digits, or an
        alphanumeric code after a word like "code". `pattern` (a regex whose first
        group, or whole match, is the code) overrides the built-in rules."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        message = self.last_message(to=to)
        if pattern is not None:
            m = re.search(pattern, message.body)
            code = (m.group(1) if m.groups() else m.group(0)) if m else None
        else:
            code = find_code(message.body)
        if code is None:
            raise AssertionError(
                f"augnet-mock: no one-time code in the last message to {message.to}: "
                f"{message.body!r}"
            )
        return code

    # -- waiting ----------------------------------------------------------------

    def _wait(
        self, check: Callable[[], T | None], kinds: frozenset[str], timeout: float
    ) -> T | None:
        """check()'s first non-None answer, looked for again on each server event of
        `kinds` for this project (SSE, no polling); None when `timeout` runs out."""
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/_mock/events"
        try:
            with self._client.stream(
                "GET",
                url,
                params={"projectId": self.project_id},
                timeout=httpx2.Timeout(CONTROL_TIMEOUT, read=max(timeout, 0.001)),
            ) as response:
                if response.status_code != 200:
                    raise AugnetError(f"GET /_mock/events -> {response.status_code}")
                lines = response.iter_lines()
                # The server subscribes before it says so: nothing after this is missed.
                for line in lines:
                    if line.startswith(": connected"):
                        break
                found = check()
                kind = None
                for line in _until(lines, deadline, found):
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif not line and kind is not None:
                        if kind in kinds:
                            found = check()
                            if found is not None:
                                return found
                        kind = None
                if found is not None:
                    return found
        except httpx2.ReadTimeout:
            pass  # nothing more happened before the deadline
        except httpx2.TransportError as exc:
            raise AugnetError(f"augnet-mock at {self.base_url} is unreachable: {exc}") from exc
        return check()  # a last look, at the deadline

    def wait_for_message(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        body: str | None = None,
        body_contains: str | None = None,
        segments: int | None = None,
        status: str | None = None,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,
    ) -> SentMessage:
        """Wait until `count` matching messages exist and return the newest. `status`
        waits for a message to reach that status ("sent" still matches once delivered).
        On timeout, an AssertionError shows the near misses."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        expected = Expectation(to, from_, body, body_contains, segments, reached=status)

        def check() -> SentMessage | None:
            matches = [m for m in self.messages() if expected.matches(m)]
            return matches[-1] if len(matches) >= count else None

        found = self._wait(check, MESSAGE_EVENTS, timeout)
        if found is not None:
            return found
        headline = (
            f"augnet-mock: waited {timeout:g} s for "
            f"{count if count > 1 else 'a'} message{'s' if count > 1 else ''} "
            f"{expected.describe()}; it did not come."
        )
        raise AssertionError(
            near_miss_report(expected, self.messages(), count=None, headline=headline)
        )

    def callbacks(
        self, *, status: str | None = None, sid: str | None = None, ok: bool | None = None
    ) -> list[Callback]:
        """This project's webhook attempts, oldest first."""
        __tracebackhide__ = True
        self._raise_server_errors()
        params: dict[str, Any] = {"projectId": self.project_id, "status": status, "sid": sid}
        if ok is not None:
            params["ok"] = "true" if ok else "false"
        data = self._call("GET", "/_mock/callbacks", params=params)
        return [Callback.from_json(c) for c in data["callbacks"]]

    def wait_for_callback(
        self,
        *,
        status: str | None = None,
        sid: str | None = None,
        ok: bool | None = None,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,
    ) -> Callback:
        """Wait until `count` matching webhook attempts were made; return the newest."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours

        def check() -> Callback | None:
            found = self.callbacks(status=status, sid=sid, ok=ok)
            return found[-1] if len(found) >= count else None

        result = self._wait(check, CALLBACK_EVENTS, timeout)
        if result is not None:
            return result
        wanted = ", ".join(
            f"{k}={v!r}" for k, v in (("status", status), ("sid", sid), ("ok", ok)) if v is not None
        )
        seen = self.callbacks()
        listed = "\n".join(f"  - {c.describe()}" for c in seen) or "  (none)"
        raise AssertionError(
            f"augnet-mock: waited {timeout:g} s for {count} callback attempt(s)"
            f"{' with ' + wanted if wanted else ''}; they did not come. Attempts so far:\n"
            f"{listed}"
        )

    def redeliver(self, callback: Callback | str) -> Callback:
        """Post a journalled callback once more, freshly dated and signed."""
        attempt_id = callback.id if isinstance(callback, Callback) else callback
        return Callback.from_json(self._call("POST", f"/_mock/callbacks/{attempt_id}/redeliver"))

    # -- scenarios --------------------------------------------------------------

    def scenario(
        self,
        spec: Mapping[str, Any] | str | None = None,
        /,
        *,
        like: str | None = None,
        to: str | re.Pattern[str] | Mapping[str, str] | None = None,
        from_: str | re.Pattern[str] | Mapping[str, str] | None = None,
        body: str | re.Pattern[str] | Mapping[str, str] | None = None,
        times: int | None = None,
        probability: float | None = None,
        name: str | None = None,
        **effect: Any,
    ) -> dict[str, Any]:
        """Add a scenario rule that only this project's sends can trigger.

        Either a whole rule in its JSON form (`spec`), a magic outcome by name
        (`like="undelivered"`, or `spec="undelivered"`: see MagicNumbers), or an
        effect as keywords: `final_status="undelivered"`, `api_error={"status": 503}`,
        `latency=0.5`, `callback={"duplicate": True}`... Matches take a string
        (exact), a compiled regex, or {"glob": ...}. Removed again at close().
        """
        if isinstance(spec, str):
            like, spec = spec, None
        rule: dict[str, Any] = dict(spec or {})
        match = dict(rule.get("match", {}))
        for key, value in (("to", to), ("from", from_), ("body", body)):
            if value is not None:
                match[key] = _matcher(value)
        match["project"] = self.project_id
        rule["match"] = match
        rule_effect = dict(rule.get("effect", {}))
        if like is not None:
            rule_effect |= MagicNumbers.effect(like)
        rule_effect |= {_camel(k): v for k, v in effect.items()}
        rule["effect"] = rule_effect
        for option, given in (("times", times), ("probability", probability), ("name", name)):
            if given is not None:
                rule[option] = given
        created: dict[str, Any] = self._call("POST", "/_mock/scenarios", json=rule, expect=201)
        self._rules.append(created["id"])
        return created

    def clear_scenarios(self) -> None:
        """Remove the rules this handle added."""
        while self._rules:
            self._call("DELETE", f"/_mock/scenarios/{self._rules.pop()}", expect=(204, 404))

    # -- the end of a test ------------------------------------------------------

    def check(self) -> None:
        """Raise what went wrong out of sight: a failure inside an in-thread server,
        or (with strict_callbacks) a webhook attempt that was not acknowledged."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self._raise_server_errors()
        if not self.strict_callbacks:
            return
        failed = self.callbacks(ok=False)
        if failed:
            listed = "\n".join(f"  - {c.describe()}" for c in failed)
            raise AssertionError(
                f"augnet-mock: strict_callbacks: {len(failed)} webhook attempt"
                f"{'s were' if len(failed) != 1 else ' was'} not acknowledged with a 2xx:\n"
                f"{listed}"
            )

    def close(self) -> None:
        """Delete the project and its rules. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.clear_scenarios()
            self._call("DELETE", f"/_mock/projects/{self.project_id}", expect=(204, 404))
        finally:
            if self._owns_client:
                self._client.close()


def _until(lines: Iterator[str], deadline: float, found: object) -> Iterator[str]:
    """Lines until the deadline passes (or at once if `found` already answered)."""
    if found is not None:
        return
    for line in lines:
        yield line
        if time.monotonic() >= deadline:
            return
