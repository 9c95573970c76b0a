"""`AugnetMock`: one project on a running mock, and everything a test asks of it.

The pytest plugin hands one to every test, but nothing here imports pytest: the
handle is usable from any script. It composes the client package's parts: the
control API client (`control`), records (`records`), expectations and near-miss
reports (`expectations`), code extraction (`codes`), clock control (`clock`) and
scenario rules (`scenarios`). It reaches the server through the control API only,
so it drives an in-thread `LiveServer` and an external container alike; the one
exception, an in-thread server's own failures, goes through `inthread`.

It owns a fresh project, created on `create()` and deleted on `close()`, so tests
that share one server never see each other's messages.

    with AugnetMock.create("http://127.0.0.1:8080") as augnet:
        augnet.client.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})
        augnet.assert_sent(to="+447700900123", body="hi")
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

import httpx2

from ..server import LiveServer
from ..settings import Settings
from ..transcript import transcript
from ..transport import (
    AsyncAugnetTransport,
    AsyncNetworkTransport,
    AsyncTransport,
    AugnetTransport,
    NetworkTransport,
    SyncTransport,
)
from ..webhook_audit import Scorecard, audit_webhook
from .aio import AsyncHandle
from .clock import ClockControl
from .codes import find_code
from .connections import Connections
from .control import (
    CALLBACK_EVENTS,
    MESSAGE_EVENTS,
    AugnetError,
    ControlClient,
    callback_params,
    message_params,
)
from .expectations import (
    CallbackFilters,
    Expectation,
    MessageFilters,
    assert_fits,
    callback_timeout,
    callbacks_impossible,
    check_keywords,
    message_timeout,
    newest_callback,
    newest_of,
    no_code,
    no_message,
    own,
    sent_outcome,
)
from .inthread import raise_server_errors
from .records import Callback, SentMessage
from .scenarios import MagicNumbers, Match, scenario_rule

if TYPE_CHECKING:
    import httpx

WAIT_TIMEOUT = 5.0  # default seconds for wait_for_message / wait_for_callback


def fast_settings(**overrides: Any) -> Settings:
    """Server settings for tests: the whole queued -> sent -> delivered life takes
    ~20 ms and a failing webhook is retried after 0.1 s, 0.2 s, ...; the rest is default."""
    values: dict[str, Any] = {"send_delay": 0.01, "delivery_delay": 0.01, "callback_backoff": 0.1}
    return Settings(**(values | overrides))


class AugnetMock:
    """One fresh project on a running augnet-mock, and what tests ask of it."""

    def __init__(
        self,
        base_url: str,
        project: dict[str, Any],
        *,
        client: httpx2.Client | None = None,
        server: LiveServer | None = None,
        owns_client: bool = False,
        strict_callbacks: bool = False,
        connections: Connections | None = None,
    ) -> None:
        if connections is None:
            connections = Connections(server or base_url, control=client)
            owns_client = owns_client or client is None
        self.base_url = base_url.rstrip("/")
        self.project = project  # the project JSON as the server last returned it
        #: Fail check() if a webhook attempt for this project was not acknowledged.
        self.strict_callbacks = strict_callbacks
        self.magic = MagicNumbers
        self._connections = connections
        self._control = ControlClient(self.base_url, connections.control)
        self._server = server
        self._owns_connections = owns_client
        self.clock = ClockControl(self._control, self._raise_server_errors)
        self._aio: AsyncHandle | None = None
        self._ready: dict[tuple[str, bool], Any] = {}
        self._rules: list[str] = []
        self._callbacks_judged = False
        self._closed = False

    @classmethod
    def create(
        cls,
        target: str | LiveServer,
        project: Mapping[str, Any] | None = None,
        *,
        client: httpx2.Client | None = None,
        connections: Connections | None = None,
        strict_callbacks: bool = False,
        token: str | None = None,
    ) -> AugnetMock:
        """Create a fresh project on `target` (a URL, or an in-thread `LiveServer`).

        `project` is the JSON body of `POST /_mock/projects` (senders, fallbackSender,
        webhookUrl, ...); what it leaves out is generated. With a `LiveServer`, failures
        inside the server are raised in the caller and `transport()` needs no socket.
        `token` is the server's admin token, if it was started with one (a `LiveServer`'s
        own is found without it); it goes with every control request. `connections`
        (or just a control `client`) is what handles on one server share; by default
        the handle makes its own and closes it with itself.
        """
        owns = connections is None
        if connections is None:
            connections = Connections(target, token=token, control=client)
        handle = cls(
            connections.base_url,
            {},
            server=connections.server,
            owns_client=owns,
            strict_callbacks=strict_callbacks,
            connections=connections,
        )
        try:
            handle.project = handle._control.call(
                "POST", "/_mock/projects", json=dict(project or {}), expect=201
            )
        except BaseException:
            handle._closed = True
            if owns:
                connections.close()
            raise
        return handle

    @staticmethod
    def control_client(target: str | LiveServer, *, token: str | None = None) -> httpx2.Client:
        """A client for the control API: in-process for a `LiveServer` (no socket, so a
        handle costs a test well under a millisecond), plain HTTP for a URL. With an admin
        `token` (by default a `LiveServer`'s own), every request carries it as Bearer."""
        return Connections(target, token=token).control

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

    def _raise_server_errors(self) -> None:
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        raise_server_errors(self._server)

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

    # -- SMPP: what an SMPP client needs to bind as this project -------------------

    @property
    def smpp_host(self) -> str:
        """The host the SMPP server is on: the same as the HTTP server's."""
        return httpx2.URL(self.base_url).host

    @property
    def smpp_port(self) -> int | None:
        """The SMPP server's port (None when it runs without SMPP). An external server
        reports its own port, which a container's port mapping may change."""
        if self._server is not None:
            return self._server.smpp_port
        port: int | None = self._control.call("GET", "/_mock/health").get("smppPort")
        return port

    @property
    def smpp_system_id(self) -> str:
        """The system_id this test's project binds with over SMPP."""
        system_id: str = self.project["smpp"]["systemId"]
        return system_id

    @property
    def smpp_password(self) -> str:
        """The password this test's project binds with over SMPP."""
        password: str = self.project["smpp"]["password"]
        return password

    def update(self, **fields: Any) -> dict[str, Any]:
        """Change project fields by their JSON names (PATCH /_mock/projects/{id})."""
        self.project = self._control.call(
            "PATCH", f"/_mock/projects/{self.project_id}", json=fields
        )
        return self.project

    # -- clients ----------------------------------------------------------------

    def _ready_client(self, library: str, *, is_async: bool) -> Any:
        key = (library, is_async)
        client = self._ready.get(key)
        if client is None or client.is_closed:
            client = self._connections.ready_client(library, is_async=is_async, auth=self.auth)
            self._ready[key] = client
        return client

    @property
    def client(self) -> httpx2.Client:
        """An `httpx2.Client` on the send API: this server's base URL and this project's
        credentials, made on first use. It shares the session's transport (in-process
        for an in-thread server), so it costs no CA bundle and no new connection pool."""
        client: httpx2.Client = self._ready_client("httpx2", is_async=False)
        return client

    @property
    def async_client(self) -> httpx2.AsyncClient:
        """The same as an `httpx2.AsyncClient`, for async code under test."""
        client: httpx2.AsyncClient = self._ready_client("httpx2", is_async=True)
        return client

    @property
    def httpx_client(self) -> httpx.Client:
        """The same as an `httpx.Client` (httpx must be installed)."""
        client: httpx.Client = self._ready_client("httpx", is_async=False)
        return client

    @property
    def httpx_async_client(self) -> httpx.AsyncClient:
        """The same as an `httpx.AsyncClient` (httpx must be installed)."""
        client: httpx.AsyncClient = self._ready_client("httpx", is_async=True)
        return client

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

    @property
    def aio(self) -> AsyncHandle:
        """The awaitable face of this handle, for async tests: `await augnet.aio.
        wait_for_callback(...)` lets the test's own event loop run meanwhile (a webhook
        receiver served on it can answer), where the plain methods would block it."""
        if self._aio is None:
            control = self._connections.async_control()
            self._aio = AsyncHandle(self, control)
        return self._aio

    # -- messages ---------------------------------------------------------------

    def messages(self, **filters: Unpack[MessageFilters]) -> list[SentMessage]:
        """This project's recorded messages, oldest first, filtered."""
        __tracebackhide__ = True
        check_keywords(filters, MessageFilters, "messages")
        self._raise_server_errors()
        params = message_params(self.project_id, filters)
        found = self._control.list_all("/_mock/messages", "messages", params)
        wanted = Expectation.of(filters)
        return [m for m in map(SentMessage.from_json, found) if wanted.matches(m)]

    def last_message(self, **filters: Unpack[MessageFilters]) -> SentMessage:
        """The newest matching message; AssertionError if there is none."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        found = self.messages(**filters)
        if not found:
            raise no_message(filters)
        return found[-1]

    def message(self, sid: str) -> SentMessage:
        """One message by sid, fresh from the server."""
        return SentMessage.from_json(self._control.call("GET", f"/_mock/messages/{sid}"))

    def clear(self) -> int:
        """Forget this project's messages; returns how many there were."""
        params = {"projectId": self.project_id}
        return int(self._control.call("DELETE", "/_mock/messages", params=params)["deleted"])

    def rejected(self) -> list[dict[str, Any]]:
        """API calls the mock refused for this project, with the error each got."""
        params = {"projectId": self.project_id}
        rejected: list[dict[str, Any]] = self._control.list_all(
            "/_mock/requests", "requests", params
        )
        return rejected

    def assert_sent(
        self,
        *,
        count: int | None = None,
        encoding: str | None = None,
        max_segments: int | None = None,
        **filters: Unpack[MessageFilters],
    ) -> list[SentMessage]:
        """Assert a matching message was sent (exactly `count` of them, if given), and
        return the matches. On failure, the error shows what was sent instead.

        `encoding` ("GSM-7") and `max_segments` are then checked on every match: a
        failure names the characters that forced UCS-2, their positions, and the fix."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        check_keywords(filters, MessageFilters, "assert_sent")
        return sent_outcome(
            Expectation.of(filters),
            self.messages(),
            count,
            encoding=encoding,
            max_segments=max_segments,
        )

    #: Assert a text (a rendered template, say) fits, without sending it: at most
    #: `max_segments` parts, in `encoding` if given (see `expectations.assert_fits`).
    assert_fits = staticmethod(assert_fits)

    def assert_not_sent(self, **filters: Unpack[MessageFilters]) -> None:
        """Assert no message matching these was sent."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self.assert_sent(count=0, **filters)

    def extract_code(self, *, pattern: str | None = None, **filters: Unpack[MessageFilters]) -> str:
        """The one-time code in the newest matching message: 4-8 digits, or an
        alphanumeric code after a word like "code". `pattern` (a regex whose first
        group, or whole match, is the code) overrides the built-in rules."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        message = self.last_message(**filters)
        code = find_code(message.body, pattern)
        if code is None:
            raise no_code(message)
        return code

    def wait_for_message(
        self, *, count: int = 1, timeout: float = WAIT_TIMEOUT, **filters: Unpack[MessageFilters]
    ) -> SentMessage:
        """Wait until `count` matching messages exist and return the newest. `status`
        waits for a message to reach that status ("sent" still matches once delivered).
        On timeout, an AssertionError shows the near misses. It blocks this thread: an
        async test awaits `augnet.aio.wait_for_message(...)` instead."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        check_keywords(filters, MessageFilters, "wait_for_message")
        expected = Expectation.of(filters, status_reached=True)

        def check() -> SentMessage | None:
            return newest_of(expected, self.messages(), count)

        found = self._control.wait(self.project_id, check, MESSAGE_EVENTS, timeout)
        if found is not None:
            return found
        raise message_timeout(expected, self.messages(), count, timeout)

    def usage(self) -> dict[str, Any]:
        """This project's messages, parts and cost so far (`GET /_mock/usage`)."""
        data = self._control.call("GET", "/_mock/usage", params={"projectId": self.project_id})
        total: dict[str, Any] = data["total"]
        return total

    def transcript(self) -> str:
        """Every message this project sent, with its timeline and callbacks, as text."""
        params = {"projectId": self.project_id}
        return transcript(self._control.list_all("/_mock/messages", "messages", params))

    def audit_webhook(self, url: str, *, timeout: float = 5.0) -> Scorecard:
        """Audit the receiver at `url` with this project's id and signing key (see
        `augnet-mock check-webhook`); `scorecard.safe` is the verdict."""
        if not self.signing_key:
            raise AugnetError("audit_webhook: this project has no signing key to sign with")
        return audit_webhook(
            url, signing_key=self.signing_key, project_id=self.project_id, timeout=timeout
        )

    # -- callbacks --------------------------------------------------------------

    def callbacks(self, **filters: Unpack[CallbackFilters]) -> list[Callback]:
        """This project's webhook attempts, oldest first."""
        __tracebackhide__ = True
        check_keywords(filters, CallbackFilters, "callbacks")
        self._raise_server_errors()
        params = callback_params(self.project_id, filters)
        return [
            Callback.from_json(c)
            for c in self._control.list_all("/_mock/callbacks", "callbacks", params)
        ]

    def _impossible(self, filters: CallbackFilters) -> str | None:
        """Why a callback wait cannot succeed, asked of the server, or None."""
        sid = filters.get("sid")
        if sid is None and self.project.get("webhookUrl"):
            return None
        # Another client may have set the webhook since: look at the project afresh.
        self.project = self._control.call("GET", f"/_mock/projects/{self.project_id}")
        if sid is None:
            sent = [] if self.project.get("webhookUrl") else self.messages()
        else:
            try:
                sent = [self.message(sid)]
            except AugnetError:  # 404: no such message
                sent = []
        return callbacks_impossible(filters, self.project, own(sent, self.project_id))

    def wait_for_callback(
        self, *, count: int = 1, timeout: float = WAIT_TIMEOUT, **filters: Unpack[CallbackFilters]
    ) -> Callback:
        """Wait until `count` matching webhook attempts were made; return the newest.
        Fails at once if none can come (no webhook anywhere, or a sid never sent). It
        blocks this thread: an async test awaits `augnet.aio.wait_for_callback(...)`."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        check_keywords(filters, CallbackFilters, "wait_for_callback")
        why = self._impossible(filters)
        if why is not None:
            raise AssertionError(f"augnet-mock: wait_for_callback cannot succeed: {why}")

        def check() -> Callback | None:
            return newest_callback(self.callbacks(**filters), count)

        found = self._control.wait(self.project_id, check, CALLBACK_EVENTS, timeout)
        if found is not None:
            return found
        raise callback_timeout(filters, self.callbacks(), count, timeout)

    def redeliver(self, callback: Callback | str) -> Callback:
        """Post a journalled callback once more, freshly dated and signed."""
        attempt_id = callback.id if isinstance(callback, Callback) else callback
        path = f"/_mock/callbacks/{attempt_id}/redeliver"
        return Callback.from_json(self._control.call("POST", path))

    # -- scenarios --------------------------------------------------------------

    def scenario(
        self,
        spec: Mapping[str, Any] | str | None = None,
        /,
        *,
        like: str | None = None,
        to: Match | None = None,
        from_: Match | None = None,
        body: Match | None = None,
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
        rule = scenario_rule(
            self.project_id,
            spec,
            like=like,
            matches={"to": to, "from": from_, "body": body},
            options={"times": times, "probability": probability, "name": name},
            effect=effect,
        )
        created: dict[str, Any] = self._control.call(
            "POST", "/_mock/scenarios", json=rule, expect=201
        )
        self._rules.append(created["id"])
        return created

    def clear_scenarios(self) -> None:
        """Remove the rules this handle added."""
        while self._rules:
            rule = self._rules.pop()
            self._control.call("DELETE", f"/_mock/scenarios/{rule}", expect=(204, 404))

    # -- the end of a test ------------------------------------------------------

    def check_callbacks(self) -> None:
        """With strict_callbacks, raise if a webhook attempt so far was not acknowledged.

        Attempts are judged once: the pytest plugin does it when the test's body ends,
        so retries that run after its receiver is torn down are not the test's fault.
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if not self.strict_callbacks or self._callbacks_judged:
            return
        self._callbacks_judged = True
        failed = self.callbacks(ok=False)
        if failed:
            listed = "\n".join(f"  - {c.describe()}" for c in failed)
            raise AssertionError(
                f"augnet-mock: strict_callbacks: {len(failed)} webhook attempt"
                f"{'s were' if len(failed) != 1 else ' was'} not acknowledged with a 2xx:\n"
                f"{listed}"
            )

    def check(self) -> None:
        """Raise what went wrong out of sight: a failure inside an in-thread server,
        or (with strict_callbacks, unless judged already) a webhook attempt that was
        not acknowledged."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self._raise_server_errors()
        self.check_callbacks()

    def close(self) -> None:
        """Delete the project and its rules. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.clear_scenarios()
            path = f"/_mock/projects/{self.project_id}"
            self._control.call("DELETE", path, expect=(204, 404))
        finally:
            # The ready clients are not closed: they hold nothing but the shared
            # transport, which outlives them (the session's, or closed just below).
            self._ready.clear()
            if self._owns_connections:
                self._connections.close()
