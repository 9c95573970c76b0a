"""Paged reads of the control API's lists: positions, pages and opaque cursors.

Pure: no HTTP and no locks. Every listed record gets a sequence number when it is
stored, increasing for the life of the store (a reset does not restart it, so an
old cursor never aliases a new record). A cursor names the sequence number a page
ended at; the next page starts just after it (or just before it, newest first).
A record deleted or evicted since then is simply not there: the page resumes at
the next one that still is.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 100  # items per page when `limit` is not given
MAX_LIMIT = 1_000  # the largest `limit`: a page of 1,000 messages is about 1 MB of JSON
# Rows one page may look at before it answers, matching or not. A filtered page over
# a big store stops here and comes back short, with a nextCursor to go on from: the
# event loop is never held for more than one budget's worth of rows (a few ms).
SCAN_BUDGET = 10_000
# Deleted positions kept in an `Order` before it compacts; below this a compaction
# would cost more than the dead entries do.
COMPACT_MIN = 1_024


@dataclass(frozen=True, slots=True)
class Paging:
    """What a page asks for: how many, from where, which way."""

    limit: int = DEFAULT_LIMIT
    after: int | None = None  # the position the previous page ended at; None: the start
    newest_first: bool = False
    scan: int = SCAN_BUDGET

    @classmethod
    def everything(cls) -> Paging:
        """No limit at all: for callers inside the process that want the whole list."""
        return cls(limit=2**62, scan=2**62)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next: int | None  # the position to go on from; None on the last page


def collect(
    walk: Iterable[tuple[int, T]],
    keep: Callable[[T], bool],
    render: Callable[[T], dict[str, Any]],
    paging: Paging,
) -> Page:
    """A page out of `walk`, (position, record) in page order: the records `keep`
    accepts, rendered. Stops at `limit` records or after `scan` records looked at,
    whichever comes first; `next` is None only when `walk` ran out."""
    items: list[dict[str, Any]] = []
    last: int | None = None
    for scanned, (position, record) in enumerate(walk):
        if len(items) >= paging.limit or scanned >= paging.scan:
            return Page(items, last)  # there is more, and this page is done
        last = position
        if keep(record):
            items.append(render(record))
    return Page(items, None)


def every(_: object) -> bool:
    return True


def small_walk(records: Iterable[tuple[int, T]], paging: Paging) -> Iterator[tuple[int, T]]:
    """`collect`'s input for a short list held in order (projects, rules, rejected
    requests): it skips to the cursor by comparing positions, which is cheap at
    these sizes (the rejected log is capped; rules and projects are few)."""
    ordered = reversed(list(records)) if paging.newest_first else records
    for position, record in ordered:
        if paging.after is not None and (
            position >= paging.after if paging.newest_first else position <= paging.after
        ):
            continue
        yield position, record


class Order:
    """Keys in the order they were stored, each with its position, seekable by position.

    Seeking is a bisection, so a page deep into 100,000 messages costs what the
    first page does. A deleted key is left behind as a dead entry (the owner tells
    live from dead); once dead entries outnumber live ones they are dropped in one
    pass, which keeps deletion amortised O(1) and memory bounded.
    """

    __slots__ = ("_dead", "_keys", "_last", "_positions")

    def __init__(self) -> None:
        self._positions: list[int] = []
        self._keys: list[str] = []
        self._dead = 0
        self._last = 0

    def add(self, key: str) -> int:
        """Append `key`; its new position."""
        self._last += 1
        self._positions.append(self._last)
        self._keys.append(key)
        return self._last

    def next_position(self) -> int:
        """Hand out a position without indexing a key (for lists walked in full)."""
        self._last += 1
        return self._last

    def dropped(self, count: int, alive: Callable[[str, int], bool]) -> None:
        """`count` keys were deleted; compact when the dead outnumber the living."""
        self._dead += count
        if self._dead > COMPACT_MIN and self._dead * 2 > len(self._keys):
            kept = [(p, k) for p, k in zip(self._positions, self._keys, strict=True) if alive(k, p)]
            self._positions = [p for p, _ in kept]
            self._keys = [k for _, k in kept]
            self._dead = 0

    def clear(self) -> None:
        """Forget every key; positions keep counting up, so old cursors stay harmless."""
        self._positions = []
        self._keys = []
        self._dead = 0

    def walk(self, paging: Paging) -> Iterator[tuple[int, str]]:
        """(position, key) from just past the cursor, in page order, dead ones included."""
        positions, keys = self._positions, self._keys
        if paging.newest_first:
            start = len(positions) if paging.after is None else bisect_left(positions, paging.after)
            for i in range(start - 1, -1, -1):
                yield positions[i], keys[i]
        else:
            start = 0 if paging.after is None else bisect_right(positions, paging.after)
            for i in range(start, len(positions)):
                yield positions[i], keys[i]


# -- cursors ------------------------------------------------------------------------


CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"  # what encode_cursor makes: URL-safe base64, no padding


def encode_cursor(kind: str, position: int) -> str:
    """An opaque cursor for `position` in the list `kind` (URL-safe, no padding)."""
    raw = f"{kind}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """The position in `cursor`; ValueError if it is not a cursor of the list `kind`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("not a cursor this server made") from exc
    found, _, position = raw.partition(":")
    if found != kind:
        raise ValueError("not a cursor of this list (cursors only work on the list that made them)")
    if not position.isascii() or not position.isdigit() or len(position) > 18:
        raise ValueError("not a cursor this server made")
    return int(position)
