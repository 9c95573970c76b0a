"""What tests and scripts use to drive augnet-mock: the `AugnetMock` handle and its parts.

One module per job: `records` (what the control API returns), `expectations`
(filters, assert_sent and the near-miss report), `codes` (one-time codes), `control`
(the control API client), `clock` (clock control), `scenarios` (rules and magic
numbers), `connections` (what handles on one server share), `inthread` (an in-thread
server's failures), `aio` (the awaitable face) and `handle` (AugnetMock, composing them).
"""

from __future__ import annotations

from .aio import AsyncHandle
from .clock import AsyncClockControl, ClockControl
from .codes import find_code
from .connections import Connections
from .control import AugnetError
from .expectations import CallbackFilters, Expectation, MessageFilters, near_miss_report
from .handle import AugnetMock, fast_settings
from .inthread import ServerError
from .records import Callback, SentMessage
from .scenarios import MagicNumbers

__all__ = [
    "AsyncClockControl",
    "AsyncHandle",
    "AugnetError",
    "AugnetMock",
    "Callback",
    "CallbackFilters",
    "ClockControl",
    "Connections",
    "Expectation",
    "MagicNumbers",
    "MessageFilters",
    "SentMessage",
    "ServerError",
    "fast_settings",
    "find_code",
    "near_miss_report",
]
