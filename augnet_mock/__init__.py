"""augnet-mock: an offline emulator of the Augnet Messaging API (SMS)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("augnet-mock")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

from .app import create_app
from .settings import Settings
from .signing import SignatureError, sign, verify

__all__ = ["Settings", "SignatureError", "__version__", "create_app", "sign", "verify"]
