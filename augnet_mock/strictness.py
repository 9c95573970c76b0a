"""Unknown fields in a send: the typo the real API hides.

Pure functions. Augnet ignores fields it does not know (SPEC §1.2), so a
misspelled `statusCallBack` means no webhook ever arrives, silently. The mock
stays faithful by default but says so: each unknown field becomes a warning that
names the closest known field. In strict mode (`--strict`, a project's `strict`,
or the pytest plugin's default) the send is refused with 400 instead.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from .validation import shown

# Names clients reach for that look nothing like the right one (so difflib would not
# find it): other SMS APIs' spellings of the same fields.
ALIASES = {
    "text": "body",
    "message": "body",
    "content": "body",
    "msg": "body",
    "sender": "from",
    "originator": "from",
    "recipient": "to",
    "destination": "to",
    "phone": "to",
    "number": "to",
    "callback": "statusCallback",
    "callbackurl": "statusCallback",
    "statuscallbackurl": "statusCallback",
    "webhook": "statusCallback",
    "webhookurl": "statusCallback",
    "notifyurl": "statusCallback",
}
CUTOFF = 0.6  # difflib's default similarity: "statusCalback" matches, "foo" does not
MAX_REPORTED = 10  # unknown fields named one by one; a body with more is summarised


@dataclass(frozen=True, slots=True)
class UnknownField:
    name: str
    suggestion: str | None  # the closest known field, if one is close enough

    def describe(self) -> str:
        hint = f'; did you mean "{self.suggestion}"?' if self.suggestion else ""
        return f"unknown field {_quoted(self.name)} ignored{hint}"


def _quoted(name: str) -> str:
    # JSON-style quotes, control characters and the rest escaped: the text goes into a
    # response header as well, which must be one line of Latin-1.
    text = shown(name)[1:-1] if name else ""
    return '"' + text.encode("ascii", "backslashreplace").decode("ascii") + '"'


def _normal(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def closest(name: str, known: tuple[str, ...]) -> str | None:
    """The known field `name` most likely meant, or None."""
    normal = _normal(name)
    by_normal = {_normal(k): k for k in known}
    if normal in by_normal:  # only case or separators differ: `From`, `status_callback`
        return by_normal[normal]
    alias = ALIASES.get(normal)
    if alias in known:
        return alias
    match = difflib.get_close_matches(normal, list(by_normal), n=1, cutoff=CUTOFF)
    return by_normal[match[0]] if match else None


def unknown_fields(payload: dict[str, Any], known: tuple[str, ...]) -> Unknown:
    """The keys of `payload` that are not in `known`, with the closest known one each."""
    names = [key for key in payload if key not in known]
    found = tuple(UnknownField(name, closest(name, known)) for name in names[:MAX_REPORTED])
    return Unknown(found, len(names))


@dataclass(frozen=True, slots=True)
class Unknown:
    """The unknown fields of one body: the first MAX_REPORTED named, and how many in all."""

    fields: tuple[UnknownField, ...]
    total: int

    def __bool__(self) -> bool:
        return self.total > 0

    def warnings(self) -> list[str]:
        lines = [f.describe() for f in self.fields]
        if self.total > len(self.fields):
            lines.append(f"...and {self.total - len(self.fields)} more unknown fields ignored")
        return lines


def refusal(unknown: Unknown) -> str:
    """The 400 message in strict mode: `statusCallBack: unknown field; did you mean ...`."""
    first = unknown.fields[0]
    hint = f'; did you mean "{first.suggestion}"?' if first.suggestion else ""
    more = f" (and {unknown.total - 1} more unknown)" if unknown.total > 1 else ""
    return (
        f"{_quoted(first.name)[1:-1]}: unknown field{hint}{more}. Strict mode refuses "
        "fields Augnet would ignore"
    )
