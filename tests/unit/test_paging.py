"""paging.py: the position index, page collection and cursors, without a server."""

from __future__ import annotations

import pytest

from augnet_mock.paging import (
    COMPACT_MIN,
    Order,
    Paging,
    collect,
    decode_cursor,
    encode_cursor,
    every,
    small_walk,
)


def page_of(order: Order, alive: set[str], paging: Paging) -> tuple[list[str], int | None]:
    walk = ((p, k if k in alive else None) for p, k in order.walk(paging))
    page = collect(walk, lambda k: k is not None, lambda k: {"key": k}, paging)
    return [item["key"] for item in page.items], page.next


def test_pages_follow_each_other_both_ways() -> None:
    """Oldest-first and newest-first pages join up with no gap and no repeat."""
    order = Order()
    keys = [f"k{i}" for i in range(7)]
    for key in keys:
        order.add(key)
    alive = set(keys)
    seen: list[str] = []
    after = None
    for _ in range(10):
        items, after = page_of(order, alive, Paging(limit=3, after=after))
        seen += items
        if after is None:
            break
    assert seen == keys
    items, after = page_of(order, alive, Paging(limit=4, newest_first=True))
    assert items == keys[:-5:-1]
    items, after = page_of(order, alive, Paging(limit=4, after=after, newest_first=True))
    assert (items, after) == (keys[2::-1], None)


def test_the_last_full_page_has_no_cursor() -> None:
    """A page that ends exactly at the last record says so (nextCursor null)."""
    order = Order()
    for key in ("a", "b"):
        order.add(key)
    assert page_of(order, {"a", "b"}, Paging(limit=2)) == (["a", "b"], None)


def test_a_cursor_at_a_deleted_key_resumes_at_the_next_live_one() -> None:
    """Deleting the record a cursor names loses nothing after it."""
    order = Order()
    for key in ("a", "b", "c", "d"):
        order.add(key)
    items, after = page_of(order, {"a", "b", "c", "d"}, Paging(limit=2))
    assert items == ["a", "b"]
    assert page_of(order, {"d"}, Paging(limit=2, after=after)) == (["d"], None)


def test_the_scan_budget_ends_a_page_early_with_a_cursor() -> None:
    """A filtered page stops after `scan` records and says where to go on."""
    order = Order()
    for i in range(10):
        order.add(f"k{i}")
    items, after = page_of(order, {"k8"}, Paging(limit=5, scan=4))
    assert items == []
    assert after is not None
    items, after = page_of(order, {"k8"}, Paging(limit=5, scan=4, after=after))
    assert items == []
    assert page_of(order, {"k8"}, Paging(limit=5, scan=4, after=after)) == (["k8"], None)


def test_compaction_drops_dead_keys_and_keeps_positions() -> None:
    """Once the dead outnumber the living they are dropped; old cursors still work."""
    order = Order()
    count = 3 * COMPACT_MIN
    for i in range(count):
        order.add(f"k{i}")
    alive = {f"k{i}" for i in range(count - 10, count)}
    order.dropped(count - 10, lambda key, _: key in alive)
    assert len(list(order.walk(Paging()))) == 10
    items, _ = page_of(order, alive, Paging(limit=3, after=count - 5))
    assert items == [f"k{i}" for i in range(count - 5, count - 2)]


def test_cleared_positions_keep_counting() -> None:
    """After clear(), new keys get new positions, so an old cursor skips nothing new."""
    order = Order()
    first = order.add("a")
    order.clear()
    assert order.add("b") > first
    assert page_of(order, {"b"}, Paging(after=first)) == (["b"], None)


def test_small_walk_skips_to_the_cursor() -> None:
    """Short lists page by comparing positions, both ways."""
    records = [(2, "a"), (5, "b"), (9, "c")]
    page = collect(small_walk(records, Paging(after=2)), every, lambda r: {"r": r}, Paging())
    assert [i["r"] for i in page.items] == ["b", "c"]
    newest = Paging(after=9, newest_first=True)
    page = collect(small_walk(records, newest), every, lambda r: {"r": r}, newest)
    assert [i["r"] for i in page.items] == ["b", "a"]


def test_cursors_round_trip_and_are_tied_to_their_list() -> None:
    """A cursor decodes to its position on its own list, and is refused elsewhere."""
    cursor = encode_cursor("messages", 12345)
    assert decode_cursor("messages", cursor) == 12345
    with pytest.raises(ValueError, match="this list"):
        decode_cursor("callbacks", cursor)
    for bad in ("", "%%%", "a", encode_cursor("messages", 1)[:-1] + "*", "bWVzc2FnZXM6LTE"):
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor("messages", bad)
