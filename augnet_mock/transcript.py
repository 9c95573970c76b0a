"""A test's transcript: every message it sent, as text for a failure report.

Pure: it formats message records as the control API renders them (`GET
/_mock/messages`). The pytest plugin attaches it to a failed test's report, where
the terminal and JUnit XML show it, so a CI failure can be read without a rerun.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_MESSAGES = 50  # a transcript past this many messages is summarised, not printed whole
MAX_BODY = 500  # characters of each body shown


def _callback(attempt: dict[str, Any]) -> str:
    answer = attempt.get("error") or f"answered {attempt.get('responseStatus')}"
    extras = [f"attempt {attempt['attempt']}"]
    if attempt.get("fault"):
        extras.append(f"fault {attempt['fault']}")
    if attempt.get("redelivery"):
        extras.append("redelivery")
    return f"{attempt['status']} -> {attempt['url']} ({', '.join(extras)}): {answer}"


def _body(text: str) -> str:
    shown = text if len(text) <= MAX_BODY else text[:MAX_BODY] + f"... ({len(text)} chars)"
    return repr(shown)


def describe_message(index: int, m: dict[str, Any]) -> list[str]:
    requested = m.get("requestedFrom")
    sender = m["from"] + (
        f" (requested {requested!r})" if requested not in (None, m["from"]) else ""
    )
    plural = "" if m["segments"] == 1 else "s"
    lines = [
        f"[{index}] {m['sid']} to {m['to']} from {sender}",
        f"    body: {_body(m['body'])}",
        f"    {m['encoding']}, {m['segments']} part{plural}"
        + (f", price {m['price']:g}" if m.get("price") is not None else "")
        + (f", scenario {m['scenario']}" if m.get("scenario") else ""),
    ]
    advice = m.get("advice")
    if advice:
        culprits = ", ".join(
            f"{c['char']!r} {c['codePoint']} at {c['position']}" for c in advice["culprits"]
        )
        lines.append(f"    forced UCS-2 by {culprits}; fix: {advice['summary']}")
    lines += [f"    warning: {w}" for w in m.get("warnings") or ()]
    steps = " -> ".join(
        f"{s['status']} {s['at']}" + (f" (error {s['errorCode']})" if s.get("errorCode") else "")
        for s in m.get("timeline", ())
    )
    lines.append(f"    timeline: {steps}")
    callbacks = m.get("callbacks") or []
    if callbacks:
        lines.append("    callbacks:")
        lines += [f"      {_callback(a)}" for a in callbacks]
    elif m.get("statusCallback") is None:
        lines.append("    callbacks: none (no statusCallback and no project webhook, or none yet)")
    return lines


def transcript(messages: Iterable[dict[str, Any]]) -> str:
    """Every message, oldest first; the newest MAX_MESSAGES when there are more."""
    records = list(messages)
    if not records:
        return "No messages were sent in this test's project."
    lines = [f"{len(records)} message{'s' if len(records) != 1 else ''} sent by this test:"]
    if len(records) > MAX_MESSAGES:
        lines.append(f"(the first {len(records) - MAX_MESSAGES} are left out)")
    start = max(0, len(records) - MAX_MESSAGES)
    for i, m in enumerate(records[start:], start + 1):
        lines += describe_message(i, m)
    return "\n".join(lines)
