"""Kept for code that imports `augnet_mock.handle`: the handle now lives in
`augnet_mock.client`, one module per job."""

from __future__ import annotations

from .client import (
    AugnetError,
    AugnetMock,
    Callback,
    ClockControl,
    Expectation,
    MagicNumbers,
    SentMessage,
    ServerError,
    fast_settings,
    find_code,
    near_miss_report,
)

__all__ = [
    "AugnetError",
    "AugnetMock",
    "Callback",
    "ClockControl",
    "Expectation",
    "MagicNumbers",
    "SentMessage",
    "ServerError",
    "fast_settings",
    "find_code",
    "near_miss_report",
]
