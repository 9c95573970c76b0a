"""The one bridge from the handle into an in-thread server that is not its HTTP API:
failures inside that server (a 500, a failing clock job) are raised in the test.

A server in another process has no such bridge; its failures show in its own log.
This follows pytest-httpserver's `check_handler_errors`.
"""

from __future__ import annotations

from ..server import LiveServer
from .control import AugnetError


class ServerError(AugnetError):
    """Code inside the in-thread server failed (a 500 or a failing clock job)."""


def raise_server_errors(server: LiveServer | None) -> None:
    """Raise what failed inside an in-thread `server` since the last look (and forget it)."""
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    if server is None:
        return
    errors = server.runtime.errors
    if not errors:
        return
    taken = list(errors)
    del errors[: len(taken)]
    listed = "\n".join(f"  {e}" for e in taken)
    raise ServerError(
        f"augnet-mock: the server failed while serving this test:\n{listed}\n"
        "(the traceback is in the captured log of logger 'augnet_mock')"
    )
