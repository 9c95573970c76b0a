"""augnet-mock: an offline emulator of the Augnet Messaging API (SMS)."""

from __future__ import annotations

from ._version import __version__
from .app import create_app
from .client import AugnetError, AugnetMock, Callback, MagicNumbers, SentMessage, ServerError
from .server import LiveServer
from .settings import Settings
from .signing import SignatureError, sign, verify
from .transport import AsyncAugnetTransport, AugnetTransport

__all__ = [
    "AsyncAugnetTransport",
    "AugnetError",
    "AugnetMock",
    "AugnetTransport",
    "Callback",
    "LiveServer",
    "MagicNumbers",
    "SentMessage",
    "ServerError",
    "Settings",
    "SignatureError",
    "__version__",
    "create_app",
    "sign",
    "verify",
]
