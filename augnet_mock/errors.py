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


def error_body(status: int, message: str, path: str, timestamp: str) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "status": status,
        "error": reason(status),
        "message": message,
        "path": path,
    }
