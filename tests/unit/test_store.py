"""The store: retention, project deletion, filters, snapshots, rule counting and locking."""

from __future__ import annotations

import gc
import random
import threading
from typing import Any

import pytest

from augnet_mock.models import CallbackAttempt, Message, Project, RejectedRequest
from augnet_mock.scenarios import SendContext, builtin_rules, parse_rule
from augnet_mock.store import Conflict, MessageFilter, Store

THREADS = 8


def make_project(project_id: str = "p1", api_key: str = "key") -> Project:
    return Project(project_id=project_id, api_key=api_key, signing_key=None)


def make_message(
    sid: str,
    project_id: str = "p1",
    *,
    to: str = "+447515650839",
    from_: str = "+441743581416",
    status: str = "queued",
    epoch: float = 1000.0,
    batch_id: str | None = None,
) -> Message:
    return Message(
        sid=sid,
        project_id=project_id,
        to=to,
        from_=from_,
        requested_from=None,
        body="hi",
        encoding="GSM-7",
        segments=1,
        status_callback=None,
        created_epoch=epoch,
        status=status,
        batch_id=batch_id,
    )


def make_attempt(attempt_id: str, sid: str, project_id: str = "p1") -> CallbackAttempt:
    return CallbackAttempt(
        id=attempt_id,
        sid=sid,
        project_id=project_id,
        status="queued",
        url="http://127.0.0.1:9/hook",
        attempt=1,
        request_headers={},
        request_body="{}",
        at="1970-01-01T00:16:40.000Z",
        response_status=200,
    )


def sids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["sid"] for m in messages]


def send(project_id: str = "p1", to: str = "+447515650839") -> SendContext:
    return SendContext(project_id, to, None, "hi")


# -- retention --------------------------------------------------------------------------


def test_status_steps_keep_the_timeline_in_order() -> None:
    store = Store()
    store.add_message(make_message("m1")._replace(timeline=(("queued", 1000.0, None),)))
    assert store.set_status("m1", "sent", 1000.2)
    assert store.set_status("m1", "undelivered", 1000.7, error_code="30003")
    m = store.message("m1")
    assert m is not None
    assert (m["status"], m["errorCode"]) == ("undelivered", "30003")
    assert [(s["status"], s["at"], s.get("errorCode")) for s in m["timeline"]] == [
        ("queued", "1970-01-01T00:16:40.000Z", None),
        ("sent", "1970-01-01T00:16:40.200Z", None),
        ("undelivered", "1970-01-01T00:16:40.700Z", "30003"),
    ]
    assert not store.set_status("gone", "sent", 1.0)


def test_render_later_shows_the_message_as_it_was_when_asked() -> None:
    """A deferred rendering (an event) keeps the state of its moment, not a later one."""
    store = Store()
    store.add_message(make_message("m1")._replace(timeline=(("queued", 1000.0, None),)))
    assert store.set_status("m1", "sent", 1000.2)
    render = store.render_later("m1")
    assert render is not None
    assert store.set_status("m1", "delivered", 1000.7)
    rendered = render()
    assert rendered["status"] == "sent"
    assert [step["status"] for step in rendered["timeline"]] == ["queued", "sent"]
    assert store.render_later("gone") is None


def test_stored_messages_leave_the_garbage_collector_after_one_young_collection() -> None:
    """A full store must not lengthen the collector's scans (they were the send p99).

    CPython untracks nested tuples one level per collection, and a stored message
    outlives the young generations, so the record must hold no container at all.
    """
    store = Store()
    for i in range(50):
        store.add_message(make_message(f"m{i}")._replace(timeline=(("queued", 1000.0, None),)))
        store.set_status(f"m{i}", "sent", 1000.2)
        store.set_status(f"m{i}", "delivered", 1000.7)
        attempt = make_attempt(f"a{i}", f"m{i}")
        attempt.request_headers = {"Date": "Tue, 14 Nov 2023 22:13:20 GMT", "Digest": "SHA-256=x"}
        store.add_attempt(attempt)
        store.add_attempt(make_attempt(f"b{i}", f"m{i}"))
    gc.collect(0)
    kept = [*store._messages.values(), *store._attempts.values(), *store._callbacks.values()]
    assert len(kept) == 50 * 4
    assert [row for row in kept if gc.is_tracked(row)] == []
    # and what was stored comes back whole, in order
    assert store.attempt("a49") == attempt
    message = store.message("m49")
    assert message is not None
    assert [a["id"] for a in message["callbacks"]] == ["a49", "b49"]
    assert message["callbacks"][0]["requestHeaders"] == attempt.request_headers


def test_oldest_messages_are_evicted_first() -> None:
    """Past max_messages the oldest go first; the newest max_messages stay, in order."""
    store = Store(max_messages=3)
    for i in range(1, 6):
        store.add_message(make_message(f"m{i}"))
    assert sids(store.messages()) == ["m3", "m4", "m5"]
    assert store.message("m1") is None
    assert store.message_count() == 3


def test_eviction_forgets_callback_attempts() -> None:
    """An evicted message takes its callback attempts with it."""
    store = Store(max_messages=1)
    store.add_message(make_message("m1"))
    store.add_attempt(make_attempt("a1", "m1"))
    assert store.attempt("a1") is not None
    store.add_message(make_message("m2"))
    assert store.attempt("a1") is None
    assert store.attempts() == []


def test_attempt_for_a_gone_message_is_not_kept() -> None:
    """An attempt for a message that no longer exists is not journaled."""
    store = Store()
    store.add_attempt(make_attempt("a1", "nope"))
    assert store.attempt("a1") is None


def test_rejected_requests_are_bounded() -> None:
    """The rejected-request log keeps only the newest max_rejected entries."""
    store = Store(max_rejected=2)
    for i in range(4):
        store.add_rejected(
            RejectedRequest(id=f"r{i}", at="", method="POST", path="/x", status=400, error={})
        )
    assert [r["id"] for r in store.rejected()] == ["r2", "r3"]


# -- projects ---------------------------------------------------------------------------


def test_duplicate_project_is_a_conflict() -> None:
    """Adding a project whose id exists raises Conflict and keeps the first one."""
    store = Store()
    store.add_project(make_project(api_key="first"))
    with pytest.raises(Conflict, match="p1"):
        store.add_project(make_project(api_key="second"))
    assert store.projects()[0]["apiKey"] == "first"


def test_delete_project_removes_its_messages_and_attempts() -> None:
    """Deleting a project drops its messages and their callback attempts, nobody else's."""
    store = Store()
    store.add_project(make_project("p1"))
    store.add_project(make_project("p2"))
    store.add_message(make_message("m1", "p1"))
    store.add_message(make_message("m2", "p2"))
    store.add_message(make_message("m3", "p1"))
    store.add_attempt(make_attempt("a1", "m1", "p1"))
    store.add_attempt(make_attempt("a2", "m2", "p2"))
    assert store.delete_project("p1") is True
    assert store.project("p1") is None
    assert sids(store.messages()) == ["m2"]
    assert store.attempt("a1") is None
    assert store.attempt("a2") is not None
    assert [a["id"] for a in store.attempts()] == ["a2"]
    assert store.delete_project("p1") is False


def test_authenticate() -> None:
    """Only the right key for an existing project authenticates."""
    store = Store()
    store.add_project(make_project("p1", "secret"))
    project = store.authenticate("p1", "secret")
    assert project is not None
    assert project.project_id == "p1"
    assert store.authenticate("p1", "Secret") is None
    assert store.authenticate("p1", "") is None
    assert store.authenticate("p2", "secret") is None
    assert store.authenticate("", "") is None


# -- messages ---------------------------------------------------------------------------


@pytest.fixture
def filled() -> Store:
    """Four messages across two projects, senders, numbers, statuses and times."""
    store = Store()
    store.add_message(make_message("m1", "p1", to="+111111111", status="delivered", epoch=10))
    store.add_message(make_message("m2", "p1", to="+222222222", from_="TAXI", epoch=20))
    store.add_message(make_message("m3", "p2", to="+111111111", status="failed", epoch=30))
    store.add_message(make_message("m4", "p2", to="+222222222", epoch=40, batch_id="b1"))
    return store


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (MessageFilter(), ["m1", "m2", "m3", "m4"]),
        (MessageFilter(project_id="p1"), ["m1", "m2"]),
        (MessageFilter(project_id="nope"), []),
        (MessageFilter(to="+111111111"), ["m1", "m3"]),
        (MessageFilter(from_="TAXI"), ["m2"]),
        (MessageFilter(status="queued"), ["m2", "m4"]),
        (MessageFilter(status="failed"), ["m3"]),
        (MessageFilter(batch_id="b1"), ["m4"]),
        (MessageFilter(since=30), ["m3", "m4"]),  # inclusive
        (MessageFilter(since=30.5), ["m4"]),
        (MessageFilter(project_id="p2", to="+222222222", status="queued"), ["m4"]),
        (MessageFilter(project_id="p1", status="failed"), []),
    ],
)
def test_message_filters(filled: Store, flt: MessageFilter, expected: list[str]) -> None:
    """Each filter narrows the list; combined filters all apply; `since` is inclusive."""
    assert sids(filled.messages(flt)) == expected


def test_clear_messages_by_project(filled: Store) -> None:
    """Clearing with a project id removes only that project's messages."""
    assert filled.clear_messages("p1") == 2
    assert sids(filled.messages()) == ["m3", "m4"]
    assert filled.clear_messages() == 2
    assert filled.messages() == []


def test_reads_are_snapshots(filled: Store) -> None:
    """Changing a returned snapshot does not change the store."""
    snapshot = filled.message("m1")
    assert snapshot is not None
    snapshot["status"] = "tampered"
    snapshot["timeline"].append({"status": "x"})
    filled.messages()[0]["to"] = "tampered"
    fresh = filled.message("m1")
    assert fresh is not None
    assert fresh["status"] == "delivered"
    assert fresh["timeline"] == []
    assert fresh["to"] == "+111111111"


def test_set_status_appends_to_timeline(filled: Store) -> None:
    """set_status changes the status and appends a step (with the error code, if any)."""
    assert filled.set_status("m2", "sent", 1.0)
    assert filled.set_status("m2", "undelivered", 2.5, error_code="30003")
    changed = filled.message("m2")
    assert changed is not None
    assert changed["status"] == "undelivered"
    assert changed["errorCode"] == "30003"
    assert changed["timeline"] == [
        {"status": "sent", "at": "1970-01-01T00:00:01.000Z"},
        {"status": "undelivered", "at": "1970-01-01T00:00:02.500Z", "errorCode": "30003"},
    ]
    assert filled.set_status("gone", "sent", 3.0) is False


# -- rules ------------------------------------------------------------------------------


def test_rule_times_is_exact_under_racing_threads() -> None:
    """8 threads racing on a times=5 rule get exactly 5 hits, then the rule is gone."""
    store = Store()
    store.add_rule(parse_rule({"id": "five", "times": 5, "effect": {"finalStatus": "failed"}}))
    barrier = threading.Barrier(THREADS)
    hits: list[str] = []
    hits_lock = threading.Lock()

    def race() -> None:
        rng = random.Random(0)
        barrier.wait(timeout=10)
        for _ in range(50):
            rule = store.fire_rule(send(), rng)
            if rule is not None:
                with hits_lock:
                    hits.append(rule.id)

    threads = [threading.Thread(target=race) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert hits == ["five"] * 5
    assert store.rules() == []


def test_first_matching_rule_wins_then_fallbacks() -> None:
    """User rules are tried in order before the store's own (chaos) rules; a miss is None."""
    fallback = parse_rule({"id": "fb", "effect": {"sendDelay": 3}}, source="chaos")
    store, bare = Store(chaos_rules=[fallback]), Store()
    for s in (store, bare):
        s.add_rule(
            parse_rule({"id": "uk", "match": {"to": {"glob": "+44*"}}, "effect": {"sendDelay": 1}})
        )
        s.add_rule(
            parse_rule({"id": "all", "match": {"project": "p1"}, "effect": {"sendDelay": 2}})
        )
    rng = random.Random(0)
    rule = store.fire_rule(send(to="+447515650839"), rng)
    assert rule is not None
    assert rule.id == "uk"
    rule = store.fire_rule(send(to="+12025550123"), rng)
    assert rule is not None
    assert rule.id == "all"
    rule = store.fire_rule(send("p2", to="+12025550123"), rng)
    assert rule is not None
    assert rule.id == "fb"
    assert bare.fire_rule(send("p2", to="+12025550123"), rng) is None
    assert [r["hits"] for r in store.rules_json()] == [1, 1]


def test_magic_numbers_come_before_chaos_and_reset_zeroes_their_hits() -> None:
    """A magic number fires for its own `to` ahead of chaos; a reset zeroes both counts."""
    chaos = parse_rule({"id": "chaos", "effect": {"sendDelay": 3}}, source="chaos")
    store = Store(builtin_rules=builtin_rules(), chaos_rules=[chaos])
    rng = random.Random(0)
    magic = store.fire_rule(send(to="+447700900001"), rng)
    assert magic is not None
    assert magic.id == "builtin:+447700900001"
    assert store.fire_rule(send(to="+447515650839"), rng) is chaos
    assert (magic.hits, chaos.hits) == (1, 1)
    store.reset([], [])
    assert (magic.hits, chaos.hits) == (0, 0)
    assert store.fire_rule(send(to="+447700900001"), rng) is magic


def test_duplicate_rule_id_is_a_conflict() -> None:
    """Two rules with one id conflict; delete_rule and clear_rules remove them."""
    store = Store()
    store.add_rule(parse_rule({"id": "r", "effect": {"sendDelay": 1}}))
    with pytest.raises(Conflict):
        store.add_rule(parse_rule({"id": "r", "effect": {"sendDelay": 2}}))
    store.add_rule(parse_rule({"id": "s", "effect": {"sendDelay": 2}}))
    assert store.delete_rule("r") is True
    assert store.delete_rule("r") is False
    assert store.clear_rules() == 1
    assert store.rules() == []


# -- threads and reset ------------------------------------------------------------------


def test_add_message_is_thread_safe() -> None:
    """Messages added from 8 threads at once are all kept, with none lost or duplicated."""
    store = Store()
    barrier = threading.Barrier(THREADS)

    def add(worker: int) -> None:
        barrier.wait(timeout=10)
        for i in range(300):
            store.add_message(make_message(f"w{worker}-{i}"))
            if i % 50 == 0:
                store.messages(MessageFilter(project_id="none"))  # readers race writers too

    threads = [threading.Thread(target=add, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    assert store.message_count() == THREADS * 300
    assert len(set(sids(store.messages()))) == THREADS * 300


def test_eviction_is_exact_under_threads() -> None:
    """With 8 threads adding past max_messages, exactly max_messages remain."""
    store = Store(max_messages=100)
    barrier = threading.Barrier(THREADS)

    def add(worker: int) -> None:
        barrier.wait(timeout=10)
        for i in range(200):
            store.add_message(make_message(f"w{worker}-{i}"))
            store.add_attempt(make_attempt(f"a{worker}-{i}", f"w{worker}-{i}"))

    threads = [threading.Thread(target=add, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    kept = set(sids(store.messages()))
    assert len(kept) == 100
    # Oldest first: what each worker still has is a suffix of what it added, in order.
    for w in range(THREADS):
        mine = [i for i in range(200) if f"w{w}-{i}" in kept]
        assert mine == list(range(200 - len(mine), 200))
    assert {a["sid"] for a in store.attempts()} <= kept


def test_reset_restores_the_given_state() -> None:
    """reset replaces the projects and rules and forgets messages, attempts and rejections."""
    store = Store()
    store.add_project(make_project("p1"))
    store.add_message(make_message("m1"))
    store.add_attempt(make_attempt("a1", "m1"))
    store.add_rejected(
        RejectedRequest(id="r1", at="", method="POST", path="/x", status=400, error={})
    )
    store.add_rule(parse_rule({"id": "r", "effect": {"sendDelay": 1}}))
    startup_rule = parse_rule({"id": "cfg", "effect": {"sendDelay": 1}}, source="config")
    store.reset([make_project("p9")], [startup_rule])
    assert [p["projectId"] for p in store.projects()] == ["p9"]
    assert store.messages() == []
    assert store.attempt("a1") is None
    assert store.rejected() == []
    assert [r.id for r in store.rules()] == ["cfg"]
