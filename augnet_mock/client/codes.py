"""Finding the one-time code in a message body, as a user would read it off the screen."""

from __future__ import annotations

import re

# "code", "OTP", "PIN"... then up to a few separators and an optional "is": the code.
_KEYWORD_CODE = re.compile(
    r"\b(?:verification\s+code|code|otp|pin|passcode|password|token)\b"
    r"[\s:=#-]{0,3}(?:is\b[\s:=#-]{0,3})?(?P<code>[A-Za-z0-9]{4,8}|\d{3}[ -]\d{3})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"(?<![\w.,+])\d{4,8}(?![\w.,])")
_GROUPED = re.compile(r"(?<![\w.,+-])\d{3}[ -]\d{3}(?![\w.,-])")  # "123-456", "123 456"


def find_code(text: str, pattern: str | None = None) -> str | None:
    """A one-time code in `text`: an alphanumeric code after a word like "code",
    else the first standalone run of 4-8 digits, else a "123-456" pair of groups.
    Separators inside a code are dropped. `pattern` (a regex whose first group, or
    whole match, is the code) replaces these rules."""
    if pattern is not None:
        found = re.search(pattern, text)
        if found is None:
            return None
        return found.group(1) if found.groups() else found.group(0)
    for keyword in _KEYWORD_CODE.finditer(text):
        code = keyword.group("code")
        # "Your code expires..." must not read "expires" as the code.
        if any(c.isdigit() for c in code) or code.isupper():
            return re.sub(r"[ -]", "", code)
    digits = _DIGITS.search(text) or _GROUPED.search(text)
    return re.sub(r"[ -]", "", digits.group(0)) if digits else None
