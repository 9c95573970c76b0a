"""Field rules shared by the send API, the control API and the config file.

Pure functions: each returns the clean value or raises `FieldError` naming the
field and what was wrong with it, so every surface words its errors the same way.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit


class FieldError(ValueError):
    """A field failed validation. `str()` reads `<field>: <why>`."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


# ITU-T E.164: at most 15 digits and a country code that never starts with 0. The
# SPEC asks for "+" then 8-15 digits.
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
NUMERIC_SENDER = re.compile(r"\+?[0-9]{3,15}")  # short codes (3+ digits) and numbers
ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .&_-]+")
MAX_ALPHANUMERIC_SENDER = 11  # GSM 03.40 TP-OA alphanumeric: 11 characters in 7-bit
MAX_URL_LENGTH = 2048


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def require_string(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string, got {type_name(value)}")
    try:
        # JSON can carry an unpaired "\ud83d" escape; such a string cannot be written out
        # as UTF-8 again, so storing it would break every later read of the record.
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FieldError(field, "must be valid Unicode text: it has an unpaired surrogate") from exc
    return value


def phone_number(field: str, value: Any) -> str:
    text = require_string(field, value)
    if not E164.fullmatch(text):
        raise FieldError(
            field,
            f'must be an E.164 number: "+" then 8 to 15 digits, not starting with 0 (got {text!r})',
        )
    return text


def sender(field: str, value: Any) -> str:
    """A phone number, short code, or alphanumeric sender ID of at most 11 characters."""
    text = require_string(field, value)
    if NUMERIC_SENDER.fullmatch(text):
        return text
    if not text.strip():
        raise FieldError(field, "must not be empty")
    if len(text) > MAX_ALPHANUMERIC_SENDER:
        raise FieldError(
            field,
            f"alphanumeric sender ID must be at most {MAX_ALPHANUMERIC_SENDER} characters "
            f"(got {len(text)})",
        )
    if not ALPHANUMERIC_SENDER.fullmatch(text) or not any(c.isalpha() for c in text):
        raise FieldError(
            field,
            "must be a phone number, a short code, or an alphanumeric sender ID "
            "(letters, digits, space . & _ -, with at least one letter)",
        )
    return text


def http_url(field: str, value: Any) -> str:
    """An absolute http(s) URL."""
    text = require_string(field, value)
    if len(text) > MAX_URL_LENGTH:
        raise FieldError(field, f"must be at most {MAX_URL_LENGTH} characters")
    if not _is_http_url(text):
        raise FieldError(field, f"must be an absolute http(s) URL (got {text!r})")
    return text


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


# Cached: a client sends its statusCallback with every message, mostly the same one.
@functools.lru_cache(maxsize=1024)
def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return (
        port_ok
        and parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and _SPACE_OR_CONTROL.search(text) is None
    )


def optional_url(field: str, value: Any) -> str | None:
    return None if value is None else http_url(field, value)


def number(field: str, value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, f"must be a number, got {type_name(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise FieldError(field, "must be a finite number")
    if value < minimum:
        raise FieldError(field, f"must be at least {minimum:g}")
    return float(value)


def integer(field: str, value: Any, *, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be an integer, got {type_name(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise FieldError(field, f"must be {bound}")
    return value


def string_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise FieldError(field, f"must be an array, got {type_name(value)}")
    return [require_string(f"{field}[{i}]", item) for i, item in enumerate(value)]
