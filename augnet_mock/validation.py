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
# The longest delay a project or a scenario may ask for, in seconds: a day is longer than
# any test waits on a real clock, and one advance of a manual clock covers it. Past it a
# value is a mistake, and huge ones would overflow the clock's float arithmetic.
MAX_DELAY = 86_400.0
# Ids that appear in URL paths (projects, scenarios): a letter or digit, then letters,
# digits and `._-`. Starting with a letter or digit rules out `.` and `..`, which HTTP
# clients normalise away (RFC 3986 §5.2.4), and the alphabet needs no percent-encoding.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SAFE_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"


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


def safe_id(field: str, value: Any) -> str:
    """An id that can be used in a URL path as it is (`SAFE_ID`)."""
    text = require_string(field, value)
    if not SAFE_ID.fullmatch(text):
        raise FieldError(field, f"must be {SAFE_ID_RULE} (got {shown(text)})")
    return text


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


def number(field: str, value: Any, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    """A finite JSON number in [minimum, maximum], as a float.

    Bounds are checked before the conversion: an integer literal with hundreds of
    digits is a valid JSON number, but `float()` of it raises OverflowError.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, f"must be a number, got {type_name(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise FieldError(field, "must be a finite number")
    if value < minimum or (maximum is not None and value > maximum):
        bound = (
            f"between {_bound(minimum)} and {_bound(maximum)}"
            if maximum is not None
            else f"at least {_bound(minimum)}"
        )
        raise FieldError(field, f"must be {bound}")
    try:
        return float(value)
    except OverflowError as exc:  # only reachable with no maximum
        raise FieldError(field, "must be a finite number: it is too large") from exc


def _bound(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else f"{limit:g}"


def integer(field: str, value: Any, *, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be an integer, got {type_name(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise FieldError(field, f"must be {bound}")
    return value


def shown(value: Any, limit: int = 40) -> str:
    """A short, one-line rendering of client input for an error message.

    Strings and numbers are quoted by `repr` and cut to `limit` characters; anything
    else is named by its JSON type, since the repr of a deeply nested array can
    exhaust the recursion limit and a large one would flood the message.
    """
    if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        text = repr(value) if isinstance(value, str) else _number_text(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    article = {"array": "an", "object": "an", "boolean": "a"}
    kind = type_name(value)
    return f"{article[kind]} {kind}" if kind in article else kind


def _number_text(value: float) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        # int -> str of a huge integer is quadratic and refused past 4,300 digits.
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def string_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise FieldError(field, f"must be an array, got {type_name(value)}")
    return [require_string(f"{field}[{i}]", item) for i, item in enumerate(value)]
