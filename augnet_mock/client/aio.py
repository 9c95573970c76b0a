"""`AsyncHandle`: the awaitable face of an `AugnetMock` (`augnet.aio`), for async tests.

The plain methods block the calling thread. In an async test whose webhook receiver
runs on the test's own event loop, a blocking `wait_for_callback` would stop that
loop, the receiver could never answer, and the wait would time out. Each method here
does what its namesake does, awaiting the control API (`AsyncControlClient`) instead:
anything that waits on the server, or on a callback posted to the caller's loop.
Works under pytest-asyncio and under anyio's pytest plugin (asyncio backend).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

import httpx2

from .clock import AsyncClockControl
from .codes import find_code
from .control import (
    CALLBACK_EVENTS,
    MESSAGE_EVENTS,
    AsyncControlClient,
    AugnetError,
    callback_params,
    message_params,
)
from .expectations import (
    CallbackFilters,
    Expectation,
    MessageFilters,
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
from .records import Callback, SentMessage

if TYPE_CHECKING:
    from .handle import AugnetMock

WAIT_TIMEOUT = 5.0  # default seconds for the waits, as for the blocking ones


class AsyncHandle:
    """`await augnet.aio.wait_for_callback(...)` and the rest, on `augnet`'s project."""

    def __init__(self, handle: AugnetMock, http: httpx2.AsyncClient) -> None:
        self._handle = handle
        self._control = AsyncControlClient(handle.base_url, http)
        self.clock = AsyncClockControl(self._control, handle._raise_server_errors)

    @property
    def project_id(self) -> str:
        return self._handle.project_id

    # -- messages ---------------------------------------------------------------

    async def messages(self, **filters: Unpack[MessageFilters]) -> list[SentMessage]:
        """This project's recorded messages, oldest first, filtered."""
        __tracebackhide__ = True
        check_keywords(filters, MessageFilters, "messages")
        self._handle._raise_server_errors()
        params = message_params(self.project_id, filters)
        found = await self._control.list_all("/_mock/messages", "messages", params)
        wanted = Expectation.of(filters)
        return [m for m in map(SentMessage.from_json, found) if wanted.matches(m)]

    async def last_message(self, **filters: Unpack[MessageFilters]) -> SentMessage:
        """The newest matching message; AssertionError if there is none."""
        __tracebackhide__ = True
        found = await self.messages(**filters)
        if not found:
            raise no_message(filters)
        return found[-1]

    async def message(self, sid: str) -> SentMessage:
        """One message by sid, fresh from the server."""
        return SentMessage.from_json(await self._control.call("GET", f"/_mock/messages/{sid}"))

    async def assert_sent(
        self,
        *,
        count: int | None = None,
        encoding: str | None = None,
        max_segments: int | None = None,
        **filters: Unpack[MessageFilters],
    ) -> list[SentMessage]:
        """As `AugnetMock.assert_sent`."""
        __tracebackhide__ = True
        check_keywords(filters, MessageFilters, "assert_sent")
        return sent_outcome(
            Expectation.of(filters),
            await self.messages(),
            count,
            encoding=encoding,
            max_segments=max_segments,
        )

    async def assert_not_sent(self, **filters: Unpack[MessageFilters]) -> None:
        """As `AugnetMock.assert_not_sent`."""
        __tracebackhide__ = True
        await self.assert_sent(count=0, **filters)

    async def extract_code(
        self, *, pattern: str | None = None, **filters: Unpack[MessageFilters]
    ) -> str:
        """As `AugnetMock.extract_code`."""
        __tracebackhide__ = True
        message = await self.last_message(**filters)
        code = find_code(message.body, pattern)
        if code is None:
            raise no_code(message)
        return code

    async def wait_for_message(
        self,
        *,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109  the same keyword as the blocking wait
        **filters: Unpack[MessageFilters],
    ) -> SentMessage:
        """As `AugnetMock.wait_for_message`, letting the caller's event loop run."""
        __tracebackhide__ = True
        check_keywords(filters, MessageFilters, "wait_for_message")
        expected = Expectation.of(filters, status_reached=True)

        async def check() -> SentMessage | None:
            return newest_of(expected, await self.messages(), count)

        found = await self._control.wait(self.project_id, check, MESSAGE_EVENTS, timeout)
        if found is not None:
            return found
        raise message_timeout(expected, await self.messages(), count, timeout)

    # -- callbacks --------------------------------------------------------------

    async def callbacks(self, **filters: Unpack[CallbackFilters]) -> list[Callback]:
        """This project's webhook attempts, oldest first."""
        __tracebackhide__ = True
        check_keywords(filters, CallbackFilters, "callbacks")
        self._handle._raise_server_errors()
        params = callback_params(self.project_id, filters)
        found = await self._control.list_all("/_mock/callbacks", "callbacks", params)
        return [Callback.from_json(c) for c in found]

    async def _impossible(self, filters: CallbackFilters) -> str | None:
        sid = filters.get("sid")
        handle = self._handle
        if sid is None and handle.project.get("webhookUrl"):
            return None
        handle.project = await self._control.call("GET", f"/_mock/projects/{self.project_id}")
        if sid is None:
            sent = [] if handle.project.get("webhookUrl") else await self.messages()
        else:
            try:
                sent = [await self.message(sid)]
            except AugnetError:  # 404: no such message
                sent = []
        return callbacks_impossible(filters, handle.project, own(sent, self.project_id))

    async def wait_for_callback(
        self,
        *,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109  the same keyword as the blocking wait
        **filters: Unpack[CallbackFilters],
    ) -> Callback:
        """As `AugnetMock.wait_for_callback`, letting the caller's event loop run, so a
        receiver served on it answers the callbacks being waited for."""
        __tracebackhide__ = True
        check_keywords(filters, CallbackFilters, "wait_for_callback")
        why = await self._impossible(filters)
        if why is not None:
            raise AssertionError(f"augnet-mock: wait_for_callback cannot succeed: {why}")

        async def check() -> Callback | None:
            return newest_callback(await self.callbacks(**filters), count)

        found = await self._control.wait(self.project_id, check, CALLBACK_EVENTS, timeout)
        if found is not None:
            return found
        raise callback_timeout(filters, await self.callbacks(), count, timeout)

    async def redeliver(self, callback: Callback | str) -> Callback:
        """As `AugnetMock.redeliver`: it waits for the receiver's answer, so a receiver
        on the caller's loop needs this form."""
        attempt_id = callback.id if isinstance(callback, Callback) else callback
        path = f"/_mock/callbacks/{attempt_id}/redeliver"
        return Callback.from_json(await self._control.call("POST", path))
