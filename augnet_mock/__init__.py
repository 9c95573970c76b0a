"""augnet-mock: an offline emulator of the Augnet Messaging API (SMS)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("augnet-mock")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

from .app import create_app
from .handle import AugnetError, AugnetMock, Callback, MagicNumbers, SentMessage, ServerError
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
