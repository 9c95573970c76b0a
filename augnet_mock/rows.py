"""The store's flat rows: the one place that knows how a message or an attempt is laid out.

A stored message is one flat tuple: its position (paging.Order), the Message fields
before `timeline`, then each step's (status, epoch, error code) as three more fields.
Nothing nested, so CPython's collector untracks it at its first young collection. (It
untracks nested tuples one level per collection, and a stored message outlives the
young generations: nested, it would stay tracked and lengthen every full collection,
which showed up as tail latency.) Callback attempts are kept flat the same way: the
position, every field but the headers, then each header's name and value.

`Store` reads rows only through these functions, in domain names; nothing else
touches a row's indexes.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .models import CallbackAttempt, Message

Row = tuple[Any, ...]

# -- messages ---------------------------------------------------------------------------

_HEAD = 1 + Message._fields.index("timeline")  # the position, then the fields
_FIELD = {name: 1 + i for i, name in enumerate(Message._fields)}
_STATUS, _ERROR_CODE = _FIELD["status"], _FIELD["error_code"]
_PROJECT, _TO, _FROM = _FIELD["project_id"], _FIELD["to"], _FIELD["from_"]
_BATCH, _CREATED = _FIELD["batch_id"], _FIELD["created_epoch"]
_SEGMENTS, _PRICE = _FIELD["segments"], _FIELD["price"]


def message_row(position: int, message: Message) -> Row:
    steps = (field for step in message.timeline for field in step)
    return (position, *message[: _HEAD - 1], *steps)


def message_of(row: Row) -> Message:
    steps = row[_HEAD:]
    timeline = tuple(zip(steps[0::3], steps[1::3], steps[2::3], strict=True))
    return Message._make((*row[1:_HEAD], timeline))


def still_at(row: Row | None, at: int) -> Row | None:
    """The row if it is still the one indexed at position `at` (not gone, not re-stored);
    for messages and attempts alike, whose rows both start with their position."""
    return row if row is not None and row[0] == at else None


def with_step(row: Row, status: str, epoch: float, error_code: str | None) -> Row:
    """The row with one more timeline step, its status (and error code, if any) updated.

    Edits the flat row rather than building Message views: this runs for every
    lifecycle step of every message.
    """
    head = list(row[:_HEAD])  # the position stays
    head[_STATUS] = status
    if error_code is not None:
        head[_ERROR_CODE] = error_code
    return (*head, *row[_HEAD:], status, epoch, error_code)


def message_matches(
    row: Row,
    project_id: str | None,
    to: str | None,
    from_: str | None,
    status: str | None,
    batch_id: str | None,
    since: float | None,
) -> bool:
    """Whether the message has each value given (None: any); `since` is inclusive.

    Read off the row, without building the Message: pages scan many.
    """
    return (
        (project_id is None or row[_PROJECT] == project_id)
        and (to is None or row[_TO] == to)
        and (from_ is None or row[_FROM] == from_)
        and (status is None or row[_STATUS] == status)
        and (batch_id is None or row[_BATCH] == batch_id)
        and (since is None or row[_CREATED] >= since)
    )


def message_cost(row: Row) -> tuple[str, int, float | None, float]:
    """(project id, parts, price, created epoch) of a message, read off the row: the
    usage ledger sums them over every kept message."""
    return row[_PROJECT], row[_SEGMENTS], row[_PRICE], row[_CREATED]


# -- callback attempts ------------------------------------------------------------------

_ATTEMPT_FIELDS = tuple(f.name for f in fields(CallbackAttempt) if f.name != "request_headers")
_ATTEMPT_HEAD = 1 + len(_ATTEMPT_FIELDS)
_ATTEMPT_SID, _ATTEMPT_PROJECT, _ATTEMPT_STATUS = (
    1 + _ATTEMPT_FIELDS.index(name) for name in ("sid", "project_id", "status")
)


def attempt_row(position: int, attempt: CallbackAttempt) -> Row:
    head = (getattr(attempt, name) for name in _ATTEMPT_FIELDS)
    headers = (part for header in attempt.request_headers.items() for part in header)
    return (position, *head, *headers)


def attempt_of(row: Row) -> CallbackAttempt:
    headers = row[_ATTEMPT_HEAD:]
    return CallbackAttempt(
        **dict(zip(_ATTEMPT_FIELDS, row[1:_ATTEMPT_HEAD], strict=True)),
        request_headers=dict(zip(headers[0::2], headers[1::2], strict=True)),
    )


def attempt_matches(row: Row, project_id: str | None, sid: str | None, status: str | None) -> bool:
    """Whether the attempt has each value given (None: any), read off the row."""
    return (
        (project_id is None or row[_ATTEMPT_PROJECT] == project_id)
        and (sid is None or row[_ATTEMPT_SID] == sid)
        and (status is None or row[_ATTEMPT_STATUS] == status)
    )
