"""What a test expects of its messages and callbacks, and the report when it is not met.

The filter keywords are declared once, as `MessageFilters` and `CallbackFilters`, and
taken as `**filters: Unpack[...]` by every method that filters (as pytest-httpserver
does with its matcher keywords). `check_keywords` turns a misspelt keyword into a
TypeError at run time too, for callers without a type checker.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from ..advisor import fit_problem
from .records import Callback, SentMessage

NEAR_MISSES = 5  # how many near misses a failed assertion shows


class MessageFilters(TypedDict, total=False):
    """Criteria for messages; one left out matches anything."""

    to: str
    from_: str  # the sender actually used
    body: str  # the whole body
    body_contains: str
    segments: int
    status: str  # its status now (a wait: a status on its timeline, now or before)


class CallbackFilters(TypedDict, total=False):
    """Criteria for webhook attempts; one left out matches anything."""

    status: str  # the SmsStatus it reported
    sid: str
    ok: bool  # acknowledged with a 2xx


def check_keywords(given: Mapping[str, Any], declared: type, where: str) -> None:
    """A TypeError naming the keywords of `given` that the TypedDict `declared` lacks."""
    known = declared.__annotations__
    unknown = [k for k in given if k not in known]
    if unknown:
        raise TypeError(
            f"{where}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(known)}"
        )


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a test expects of a message; every criterion left as None matches anything."""

    to: str | None = None
    from_: str | None = None
    body: str | None = None
    body_contains: str | None = None
    segments: int | None = None
    status: str | None = None  # its status now
    reached: str | None = None  # a status anywhere on its timeline, now or before

    @classmethod
    def of(cls, filters: MessageFilters, *, status_reached: bool = False) -> Expectation:
        """From filter keywords; `status_reached` reads `status` as a status reached."""
        status = filters.get("status")
        return cls(
            to=filters.get("to"),
            from_=filters.get("from_"),
            body=filters.get("body"),
            body_contains=filters.get("body_contains"),
            segments=filters.get("segments"),
            status=None if status_reached else status,
            reached=status if status_reached else None,
        )

    def mismatches(self, m: SentMessage) -> list[str]:
        """The names of the criteria `m` fails."""
        failed = []
        for name, wanted, actual in (
            ("to", self.to, m.to),
            ("from", self.from_, m.from_),
            ("body", self.body, m.body),
            ("segments", self.segments, m.segments),
            ("status", self.status, m.status),
        ):
            if wanted is not None and wanted != actual:
                failed.append(name)
        if self.body_contains is not None and self.body_contains not in m.body:
            failed.append("body")
        if self.reached is not None and self.reached not in m.statuses:
            failed.append("reached")
        return failed

    def matches(self, m: SentMessage) -> bool:
        return not self.mismatches(m)

    def describe(self) -> str:
        parts = []
        if self.to is not None:
            parts.append(f"to {self.to!r}")
        if self.from_ is not None:
            parts.append(f"from {self.from_!r}")
        if self.body is not None:
            parts.append(f"with body {self.body!r}")
        if self.body_contains is not None:
            parts.append(f"whose body contains {self.body_contains!r}")
        if self.segments is not None:
            parts.append(f"in {self.segments} segment{'s' if self.segments != 1 else ''}")
        if self.status is not None:
            parts.append(f"with status {self.status!r}")
        if self.reached is not None:
            parts.append(f"that reached status {self.reached!r}")
        return " ".join(parts) if parts else "of any kind"

    def closeness(self, m: SentMessage) -> float:
        """Higher is closer: criteria met, then how alike the bodies are."""
        score = 7.0 - len(self.mismatches(m))
        wanted = self.body if self.body is not None else self.body_contains
        if wanted is not None:
            score += difflib.SequenceMatcher(None, wanted, m.body, autojunk=False).ratio()
        return score


# -- assert_sent --------------------------------------------------------------------


def sent_outcome(
    expected: Expectation,
    sent: Sequence[SentMessage],
    count: int | None,
    *,
    encoding: str | None = None,
    max_segments: int | None = None,
) -> list[SentMessage]:
    """The matches when `sent` meets the expectation (any, or exactly `count`), else an
    AssertionError whose text shows what was sent instead.

    `encoding` ("GSM-7") and `max_segments` are then checked on every match: a failure
    names the characters that forced UCS-2, their positions, and the fix."""
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    matches = [m for m in sent if expected.matches(m)]
    if (count is None and matches) or len(matches) == count:
        unfit = [
            f"message {m.sid} to {m.to}: {problem}"
            for m in matches
            if (problem := fit_problem(m.body, encoding=encoding, max_segments=max_segments))
        ]
        if unfit:
            raise AssertionError("augnet-mock: " + "\n".join(unfit))
        return matches
    what = expected.describe()
    if count is None:
        headline = f"augnet-mock: expected a message {what}, but none was sent."
    else:
        headline = (
            f"augnet-mock: expected {count} message{'s' if count != 1 else ''} {what}, "
            f"found {len(matches)}."
        )
    raise AssertionError(near_miss_report(expected, sent, count=count, headline=headline))


def assert_fits(body: str, *, max_segments: int | None = None, encoding: str | None = None) -> None:
    """Assert a text (a rendered template, say) fits, without sending it: at most
    `max_segments` parts, in `encoding` if given. The failure names the characters
    that forced UCS-2, their positions and the fix."""
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    problem = fit_problem(body, encoding=encoding, max_segments=max_segments)
    if problem:
        raise AssertionError(f"augnet-mock: {problem}")


def newest_of(expected: Expectation, sent: Sequence[SentMessage], count: int) -> SentMessage | None:
    """What a message wait returns: the newest match once there are `count`, else None."""
    matches = [m for m in sent if expected.matches(m)]
    return matches[-1] if len(matches) >= count else None


def message_timeout(
    expected: Expectation, sent: Sequence[SentMessage], count: int, timeout: float
) -> AssertionError:
    """The failure of a message wait that ran out of time."""
    headline = (
        f"augnet-mock: waited {timeout:g} s for "
        f"{count if count > 1 else 'a'} message{'s' if count > 1 else ''} "
        f"{expected.describe()}; it did not come."
    )
    return AssertionError(near_miss_report(expected, sent, count=None, headline=headline))


# -- near misses --------------------------------------------------------------------


def _ndiff(expected: str, actual: str, indent: str) -> list[str]:
    """A character-level diff of two one-line strings: - expected, + sent, ? markers."""
    lines = difflib.ndiff([expected], [actual])
    return [indent + line.rstrip("\n") for line in lines]


def _closest_window(needle: str, text: str) -> str:
    """The stretch of `text` most like `needle`, to diff a `body_contains` against:
    as long as the needle, and lined up on the longest run the two share."""
    n = len(needle)
    if len(text) <= n or not needle:
        return text
    matcher = difflib.SequenceMatcher(None, text, needle, autojunk=False)
    at, offset, size = matcher.find_longest_match(0, len(text), 0, n)
    if size == 0:
        return text
    start = min(max(at - offset, 0), len(text) - n)
    return text[start : start + n]


def _near_miss(expected: Expectation, m: SentMessage, index: int) -> list[str]:
    lines = [f"  [{index}] {m.describe()}", f"      body: {m.body!r}"]
    for name in dict.fromkeys(expected.mismatches(m)):
        if name == "to" and expected.to is not None:
            lines.append("      to differs:")
            lines += _ndiff(expected.to, m.to, "        ")
        elif name == "from" and expected.from_ is not None:
            lines.append("      from differs (the sender actually used):")
            lines += _ndiff(expected.from_, m.from_, "        ")
        elif name == "body" and expected.body is not None:
            lines.append("      body differs:")
            lines += _ndiff(expected.body, m.body, "        ")
        elif name == "body" and expected.body_contains is not None:
            lines.append("      body does not contain it; closest part:")
            window = _closest_window(expected.body_contains, m.body)
            lines += _ndiff(expected.body_contains, window, "        ")
        elif name == "segments":
            lines.append(f"      segments: expected {expected.segments}, sent {m.segments}")
        elif name == "status":
            lines.append(f"      status: expected {expected.status!r}, is {m.status!r}")
        elif name == "reached":
            timeline = " -> ".join(m.statuses)
            lines.append(f"      status: never {expected.reached!r}, so far {timeline}")
    return lines


def near_miss_report(
    expected: Expectation, sent: Sequence[SentMessage], *, count: int | None, headline: str
) -> str:
    """The failure text of assert_sent and wait_for_message: what was sent instead."""
    matches = [m for m in sent if expected.matches(m)]
    lines = [headline]
    if count is not None and matches:
        lines.append(f"Matching messages ({len(matches)}):")
        lines += [f"  - {m.describe()}: {m.body!r}" for m in matches]
    misses = sorted(
        (m for m in sent if not expected.matches(m)), key=expected.closeness, reverse=True
    )
    if not sent:
        lines.append("No messages were sent in this test's project.")
    elif misses:
        shown = misses[:NEAR_MISSES]
        more = f" ({len(misses) - len(shown)} more not shown)" if len(misses) > len(shown) else ""
        lines.append(f"Near misses, what was sent instead (closest first){more}:")
        for i, m in enumerate(shown, 1):
            lines += _near_miss(expected, m, i)
    return "\n".join(lines)


# -- callbacks ----------------------------------------------------------------------


def newest_callback(found: Sequence[Callback], count: int) -> Callback | None:
    """What a callback wait returns: the newest attempt once there are `count`, else None."""
    return found[-1] if len(found) >= count else None


def callback_timeout(
    filters: CallbackFilters, seen: Sequence[Callback], count: int, timeout: float
) -> AssertionError:
    """The failure of a callback wait that ran out of time, listing the attempts made."""
    wanted = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
    listed = "\n".join(f"  - {c.describe()}" for c in seen) or "  (none)"
    return AssertionError(
        f"augnet-mock: waited {timeout:g} s for {count} callback attempt(s)"
        f"{' with ' + wanted if wanted else ''}; they did not come. Attempts so far:\n"
        f"{listed}"
    )


def callbacks_impossible(
    filters: CallbackFilters, project: Mapping[str, Any], sent: Sequence[SentMessage]
) -> str | None:
    """Why no webhook attempt matching `filters` can come, or None if one may.

    `project` is the project's JSON and `sent` its messages. A callback goes to the
    message's statusCallback, else the project's webhookUrl (SPEC §1.4): with neither,
    or for a sid that was never sent, waiting cannot help.
    """
    fix = "(set augnet.webhook_url, or send with a statusCallback)"
    has_webhook = bool(project.get("webhookUrl"))
    sid = filters.get("sid")
    if sid is not None:
        message = next((m for m in sent if m.sid == sid), None)
        if message is None:
            return f"no message {sid!r} was sent in this test's project"
        if message.status_callback is None and not has_webhook:
            return f"message {sid} has no statusCallback and the project has no webhookUrl {fix}"
        return None
    if has_webhook or any(m.status_callback for m in sent):
        return None
    return (
        f"the project has no webhookUrl and none of its {len(sent)} message(s) has a "
        f"statusCallback {fix}"
    )


def own(sent: Sequence[SentMessage], project_id: str) -> list[SentMessage]:
    """The messages of `sent` that belong to `project_id` (a sid may be another's)."""
    return [m for m in sent if m.raw.get("projectId", project_id) == project_id]


def no_message(filters: MessageFilters) -> AssertionError:
    """The failure of last_message (and extract_code) when nothing matches."""
    what = Expectation.of(filters).describe()
    where = "" if what == "of any kind" else f" {what}"
    return AssertionError(f"augnet-mock: no message was sent{where} in this test")


def no_code(message: SentMessage) -> AssertionError:
    return AssertionError(
        f"augnet-mock: no one-time code in the last message to {message.to}: {message.body!r}"
    )
