"""The one owner of the mock's state: projects, messages, callback attempts,
rejected requests and scenario rules.

It knows nothing of HTTP or time. Every public method takes the lock, so the
store is safe to share between the event loop and other threads (the pytest
plugin's server thread, in-process clients). Reads return JSON snapshots, never
live records, so callers cannot change state behind the lock.
"""

from __future__ import annotations

import hmac
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import rows
from .models import CallbackAttempt, Message, Project, RejectedRequest
from .paging import Order, Page, Paging, collect, every, small_walk
from .pricing import Usage
from .rows import Row
from .scenarios import Rule, SendContext, choose

DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_REJECTED = 1_000
DEFAULT_MAX_RULES = 1_000


class Conflict(ValueError):
    """The record already exists."""


class RuleLimitReached(Conflict):
    """The store holds `max_rules` rules already."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"scenarios: the limit of {limit} rules is reached; delete some, or raise "
            "max_rules (--max-rules, AUGNET_MOCK_MAX_RULES, or [server] max_rules)"
        )
        self.limit = limit


@dataclass(frozen=True, slots=True)
class MessageFilter:
    project_id: str | None = None
    to: str | None = None
    from_: str | None = None
    status: str | None = None
    batch_id: str | None = None
    since: float | None = None  # epoch seconds, inclusive

    def matches_row(self, row: Row) -> bool:
        """`matches` on a stored row, without building the Message (pages scan many)."""
        return rows.message_matches(
            row, self.project_id, self.to, self.from_, self.status, self.batch_id, self.since
        )

    def matches(self, m: Message) -> bool:
        return (
            (self.project_id is None or m.project_id == self.project_id)
            and (self.to is None or m.to == self.to)
            and (self.from_ is None or m.from_ == self.from_)
            and (self.status is None or m.status == self.status)
            and (self.batch_id is None or m.batch_id == self.batch_id)
            and (self.since is None or m.created_epoch >= self.since)
        )


class Store:
    def __init__(
        self,
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_rejected: int = DEFAULT_MAX_REJECTED,
        max_rules: int = DEFAULT_MAX_RULES,
        builtin_rules: Iterable[Rule] = (),
        chaos_rules: Iterable[Rule] = (),
    ) -> None:
        self.max_messages = max_messages
        self.max_rejected = max_rejected
        self.max_rules = max_rules
        self._lock = threading.RLock()
        self._projects: dict[str, Project] = {}
        # Flat rows (rows.py), not Message objects: the collector untracks an exact
        # tuple of atoms, never a subclass. `_view` turns a row back into a Message.
        self._messages: OrderedDict[str, Row] = OrderedDict()
        self._attempts: dict[str, Row] = {}  # by attempt id (rows.attempt_row)
        self._callbacks: dict[str, tuple[str, ...]] = {}  # attempt ids, by message sid
        self._rejected: OrderedDict[int, RejectedRequest] = OrderedDict()  # by position
        self._rules: list[Rule] = []  # the user's and the config file's, first match first
        # The mock's own rules, checked after those: the magic numbers, each matching one
        # `to` exactly, so looked up by it rather than scanned on every send; then chaos
        # (match-all, drawn from the RNG). They live as long as the store; resets zero
        # their hit counts.
        self._magic = {r.match["to"].pattern: r for r in builtin_rules}
        self._chaos = list(chaos_rules)
        # Told the sids of messages the store let go of (evicted, cleared, deleted with
        # their project), after the lock is released: the runtime wires the dispatcher's
        # `forget` here, so a gone message's pending callbacks go with it.
        self.on_forget: Callable[[list[str]], None] | None = None
        # Positions for paged reads (see paging.py). Messages and attempts are many,
        # so pages seek in an index; the short lists just carry their positions.
        self._message_order = Order()
        self._attempt_order = Order()
        self._small_order = Order()  # positions only: projects, rules, rejected requests
        self._project_positions: dict[str, int] = {}
        self._rule_positions: dict[str, int] = {}

    # -- projects ---------------------------------------------------------------

    def add_project(self, project: Project) -> dict[str, Any]:
        with self._lock:
            if project.project_id in self._projects:
                raise Conflict(f"project {project.project_id!r} already exists")
            self._projects[project.project_id] = project
            self._project_positions[project.project_id] = self._small_order.next_position()
            return project.to_json()

    def project(self, project_id: str) -> Project | None:
        """The live project record; projects are not mutated after creation."""
        with self._lock:
            return self._projects.get(project_id)

    def project_list(self) -> list[Project]:
        """The live project records (replaced on change, never mutated): SMPP binds scan them."""
        with self._lock:
            return list(self._projects.values())

    def projects(self) -> list[dict[str, Any]]:
        return self.projects_page(Paging.everything()).items

    def projects_page(self, paging: Paging) -> Page:
        """Projects in the order they were created."""
        with self._lock:
            positions = self._project_positions
            records = ((positions[k], p) for k, p in self._projects.items())
            return collect(small_walk(records, paging), every, Project.to_json, paging)

    def replace_project(self, project: Project) -> dict[str, Any] | None:
        """Swap in a new record for an existing project (records are replaced, never
        mutated, so holders of the old one keep a consistent view); None if it is gone."""
        with self._lock:
            if project.project_id not in self._projects:
                return None
            self._projects[project.project_id] = project
            return project.to_json()

    def delete_project(self, project_id: str) -> bool:
        """Delete a project together with its messages."""
        with self._lock:
            if self._projects.pop(project_id, None) is None:
                return False
            del self._project_positions[project_id]
            gone = self._drop_messages(lambda m: m.project_id == project_id)
        self._forgotten(gone)
        return True

    def authenticate(self, project_id: str, api_key: str) -> Project | None:
        """The project, if the key matches; compared in constant time either way."""
        with self._lock:
            project = self._projects.get(project_id)
        expected = project.api_key if project else "\0" * max(len(api_key), 1)
        ok = hmac.compare_digest(expected.encode(), api_key.encode())
        return project if ok and project else None

    # -- messages ---------------------------------------------------------------

    def add_message(self, message: Message) -> None:
        with self._lock:
            if message.sid in self._messages:  # stored again: it moves to the end
                del self._messages[message.sid]
                self._message_order.dropped(1, self._message_alive)
            position = self._message_order.add(message.sid)
            self._messages[message.sid] = rows.message_row(position, message)
            evicted: list[str] = []
            while len(self._messages) > self.max_messages:
                sid, _ = self._messages.popitem(last=False)
                self._forget_attempts(sid)
                evicted.append(sid)
            if evicted:
                self._message_order.dropped(len(evicted), self._message_alive)
        if evicted:
            self._forgotten(evicted)

    def has_message(self, sid: str) -> bool:
        with self._lock:
            return sid in self._messages

    def message(self, sid: str, *, with_callbacks: bool = True) -> dict[str, Any] | None:
        with self._lock:
            m = self._view(sid)
            if m is None:
                return None
            return m.to_json(self._attempts_of(sid) if with_callbacks else None)

    def view(self, sid: str) -> Message | None:
        """The message as it is now, without its callbacks: immutable, so it may be
        rendered later and still say what it says now (event streams do that)."""
        with self._lock:
            return self._view(sid)

    def render_later(self, sid: str) -> Callable[[], dict[str, Any]] | None:
        """The message's JSON as it is now, rendered only when called: the stored row
        is immutable, so an event stream that reads it later still gets this moment's
        state, and one that never reads costs no decoding (a status step's hot path)."""
        with self._lock:
            row = self._messages.get(sid)
        if row is None:
            return None
        return lambda: rows.message_of(row).to_json(None)

    def messages(self, flt: MessageFilter = MessageFilter()) -> list[dict[str, Any]]:
        """Every matching message, oldest first (in-process callers; HTTP pages)."""
        return self.messages_page(flt, Paging.everything()).items

    def messages_page(self, flt: MessageFilter, paging: Paging) -> Page:
        """One page of matching messages, in the order they were stored."""

        def keep(row: Row | None) -> bool:
            return row is not None and flt.matches_row(row)

        with self._lock:
            return collect(self._walk_messages(paging), keep, self._message_json, paging)

    def _walk_messages(self, paging: Paging) -> Iterator[tuple[int, Row | None]]:
        """(position, row), or None for a message deleted since it was indexed."""
        messages = self._messages
        for position, sid in self._message_order.walk(paging):
            row = messages.get(sid)
            yield position, rows.still_at(row, position)

    def _message_json(self, row: Row | None) -> dict[str, Any]:
        assert row is not None  # `keep` let it through
        m = rows.message_of(row)
        return m.to_json(self._attempts_of(m.sid))

    def _message_alive(self, sid: str, position: int) -> bool:
        return rows.still_at(self._messages.get(sid), position) is not None

    def usage(
        self,
        *,
        project_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> dict[str, Any]:
        """Messages, parts and cost per project (and in total) of the kept messages
        created in [since, until), read off the rows without building records."""
        with self._lock:
            per: dict[str, Usage] = {}
            total = Usage()
            for row in self._messages.values():
                pid, parts, price, created = rows.message_cost(row)
                if (
                    (project_id is not None and pid != project_id)
                    or (since is not None and created < since)
                    or (until is not None and created >= until)
                ):
                    continue
                per.setdefault(pid, Usage()).add(parts, price)
                total.add(parts, price)
        return {
            "projects": [{"projectId": pid, **u.to_json()} for pid, u in per.items()],
            "total": total.to_json(),
        }

    def message_count(self) -> int:
        with self._lock:
            return len(self._messages)

    def clear_messages(self, project_id: str | None = None) -> int:
        with self._lock:
            gone = self._drop_messages(lambda m: project_id is None or m.project_id == project_id)
        self._forgotten(gone)
        return len(gone)

    def set_status(
        self, sid: str, status: str, epoch: float, *, error_code: str | None = None
    ) -> bool:
        """Record a lifecycle step; False if the message is gone (cleared or evicted)."""
        with self._lock:
            row = self._messages.get(sid)
            if row is None:
                return False
            self._messages[sid] = rows.with_step(row, status, epoch, error_code)
            return True

    def _drop_messages(self, doomed: Callable[[Message], bool]) -> list[str]:
        sids = [sid for sid, row in self._messages.items() if doomed(rows.message_of(row))]
        for sid in sids:
            del self._messages[sid]
            self._forget_attempts(sid)
        self._message_order.dropped(len(sids), self._message_alive)
        return sids

    def _forgotten(self, sids: list[str]) -> None:
        if sids and self.on_forget is not None:
            self.on_forget(sids)

    def _view(self, sid: str) -> Message | None:
        row = self._messages.get(sid)
        return None if row is None else rows.message_of(row)

    def _attempts_of(self, sid: str) -> list[CallbackAttempt]:
        return [rows.attempt_of(self._attempts[i]) for i in self._callbacks.get(sid, ())]

    def _forget_attempts(self, sid: str) -> None:
        ids = self._callbacks.pop(sid, ())
        for attempt_id in ids:
            self._attempts.pop(attempt_id, None)
        if ids:
            self._attempt_order.dropped(len(ids), self._attempt_alive)

    def _attempt_alive(self, attempt_id: str, position: int) -> bool:
        return rows.still_at(self._attempts.get(attempt_id), position) is not None

    # -- callback attempts ------------------------------------------------------

    def add_attempt(self, attempt: CallbackAttempt) -> None:
        """Journal an attempt on its message; dropped if the message is gone."""
        with self._lock:
            if attempt.sid in self._messages and attempt.id not in self._attempts:
                self._callbacks[attempt.sid] = (*self._callbacks.get(attempt.sid, ()), attempt.id)
                position = self._attempt_order.add(attempt.id)
                self._attempts[attempt.id] = rows.attempt_row(position, attempt)

    def attempt(self, attempt_id: str) -> CallbackAttempt | None:
        with self._lock:
            row = self._attempts.get(attempt_id)
            return None if row is None else rows.attempt_of(row)

    def attempts(
        self,
        *,
        project_id: str | None = None,
        sid: str | None = None,
        status: str | None = None,
        ok: bool | None = None,
    ) -> list[dict[str, Any]]:
        page = self.attempts_page(
            project_id=project_id, sid=sid, status=status, ok=ok, paging=Paging.everything()
        )
        return page.items

    def attempts_page(
        self,
        *,
        project_id: str | None = None,
        sid: str | None = None,
        status: str | None = None,
        ok: bool | None = None,
        paging: Paging,
    ) -> Page:
        """One page of the callback journal, oldest attempt first."""

        def walk() -> Iterator[tuple[int, Row | None]]:
            attempts = self._attempts
            for position, attempt_id in self._attempt_order.walk(paging):
                yield position, rows.still_at(attempts.get(attempt_id), position)

        def keep(row: Row | None) -> bool:
            return (
                row is not None
                and rows.attempt_matches(row, project_id, sid, status)
                and (ok is None or rows.attempt_of(row).ok == ok)
            )

        def render(row: Row | None) -> dict[str, Any]:
            assert row is not None  # `keep` let it through
            return rows.attempt_of(row).to_json()

        with self._lock:
            return collect(walk(), keep, render, paging)

    # -- rejected requests ------------------------------------------------------

    def add_rejected(self, rejected: RejectedRequest) -> None:
        with self._lock:
            self._rejected[self._small_order.next_position()] = rejected
            while len(self._rejected) > self.max_rejected:
                self._rejected.popitem(last=False)

    def rejected(self, project_id: str | None = None) -> list[dict[str, Any]]:
        return self.rejected_page(project_id, Paging.everything()).items

    def rejected_page(self, project_id: str | None, paging: Paging) -> Page:
        """One page of the rejected-request log (at most max_rejected long), oldest first."""

        def keep(r: RejectedRequest) -> bool:
            return project_id is None or r.project_id == project_id

        with self._lock:
            walk = small_walk(self._rejected.items(), paging)
            return collect(walk, keep, RejectedRequest.to_json, paging)

    # -- scenario rules ---------------------------------------------------------

    def add_rule(self, rule: Rule) -> dict[str, Any]:
        with self._lock:
            if any(r.id == rule.id for r in self._rules):
                raise Conflict(f"scenario {rule.id!r} already exists")
            if len(self._rules) >= self.max_rules:
                raise RuleLimitReached(self.max_rules)
            self._rules.append(rule)
            self._rule_positions[rule.id] = self._small_order.next_position()
            return rule.to_json()

    def rules(self) -> list[Rule]:
        """The live rules, first match first."""
        with self._lock:
            return list(self._rules)

    def rules_json(self) -> list[dict[str, Any]]:
        return self.rules_page(Paging.everything()).items

    def rules_page(self, paging: Paging) -> Page:
        """One page of the scenario rules, first match first."""
        with self._lock:
            records = [(self._rule_positions[r.id], r) for r in self._rules]
            return collect(small_walk(records, paging), every, Rule.to_json, paging)

    def delete_rule(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            self._rule_positions.pop(rule_id, None)
            return len(self._rules) != before

    def clear_rules(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules = []
            self._rule_positions = {}
            return count

    def fire_rule(self, send: SendContext, rng: random.Random) -> Rule | None:
        """Pick the first matching rule (user rules, then the magic number for `to`, then
        chaos) and count the hit.

        Matching and counting happen under one lock so a `times` limit is exact
        even when sends race.
        """
        with self._lock:
            magic = self._magic.get(send.to) if send.to is not None else None
            fallbacks = [magic, *self._chaos] if magic is not None else self._chaos
            rule = choose([*self._rules, *fallbacks], send, rng)
            if rule is None:
                return None
            rule.hits += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0 and any(r is rule for r in self._rules):
                    self._rules = [r for r in self._rules if r is not rule]
                    self._rule_positions.pop(rule.id, None)
            return rule

    # -- whole-store ------------------------------------------------------------

    def reset(self, projects: Iterable[Project], rules: Iterable[Rule]) -> None:
        with self._lock:
            self._projects = {p.project_id: p for p in projects}
            self._project_positions = {p: self._small_order.next_position() for p in self._projects}
            self._messages.clear()
            self._attempts.clear()
            self._callbacks.clear()
            self._rejected.clear()
            self._message_order.clear()
            self._attempt_order.clear()
            self._rules = list(rules)
            for rule in [*self._magic.values(), *self._chaos]:
                rule.hits = 0
            self._rule_positions = {r.id: self._small_order.next_position() for r in self._rules}
