"""The one error shape every endpoint answers with.

Augnet looks like a Spring Boot service, so errors follow Spring Boot's default
body: `{"timestamp", "status", "error", "message", "path"}` (SPEC §1.2).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An error to render to the client; raised anywhere below a route."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def printable(text: str) -> str:
    """`text`, with what UTF-8 cannot encode escaped.

    A message may quote client input (an unknown key, say) holding an unpaired
    surrogate, which cannot be encoded as UTF-8; escape it instead of failing.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dropped_body(path: str, timestamp: str, rule_label: str) -> dict[str, Any]:
    """What the rejected-requests log records for a connection a scenario dropped.

    The client never sees it (it gets no answer at all); `status` is null for that reason.
    """
    return {
        "timestamp": timestamp,
        "status": None,
        "error": "Connection dropped",
        "message": f"scenario {rule_label}: closed with no response",
        "path": path,
    }


def error_body(status: int, message: str, path: str, timestamp: str) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "status": status,
        "error": reason(status),
        "message": message,
        "path": path,
    }
