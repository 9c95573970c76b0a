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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from .models import CallbackAttempt, Message, Project, RejectedRequest
from .pricing import Usage
from .scenarios import Rule, SendContext, choose

DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_REJECTED = 1_000
DEFAULT_MAX_RULES = 1_000

# A stored message is one flat tuple: the Message fields before `timeline`, then
# each step's (status, epoch, error code) as three more fields. Nothing nested, so
# CPython's collector untracks it at its first young collection. (It untracks
# nested tuples one level per collection, and a stored message outlives the young
# generations: nested, it would stay tracked and lengthen every full collection,
# which showed up as tail latency.)
Row = tuple[Any, ...]
_HEAD = Message._fields.index("timeline")
_STATUS, _ERROR_CODE = (Message._fields.index(name) for name in ("status", "error_code"))
_PROJECT, _SEGMENTS, _PRICE, _CREATED = (
    Message._fields.index(name) for name in ("project_id", "segments", "price", "created_epoch")
)


def _row(message: Message) -> Row:
    return (*message[:_HEAD], *(field for step in message.timeline for field in step))


def _message(row: Row) -> Message:
    steps = row[_HEAD:]
    timeline = tuple(zip(steps[0::3], steps[1::3], steps[2::3], strict=True))
    return Message._make((*row[:_HEAD], timeline))


# Callback attempts are kept flat the same way: every field but the headers, then
# each header's name and value. A message's attempts are a tuple of attempt ids.
_ATTEMPT_FIELDS = tuple(f.name for f in fields(CallbackAttempt) if f.name != "request_headers")
_ATTEMPT_HEAD = len(_ATTEMPT_FIELDS)


def _attempt_row(attempt: CallbackAttempt) -> Row:
    head = (getattr(attempt, name) for name in _ATTEMPT_FIELDS)
    return (*head, *(part for header in attempt.request_headers.items() for part in header))


def _attempt(row: Row) -> CallbackAttempt:
    headers = row[_ATTEMPT_HEAD:]
    return CallbackAttempt(
        **dict(zip(_ATTEMPT_FIELDS, row, strict=False)),
        request_headers=dict(zip(headers[0::2], headers[1::2], strict=True)),
    )


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
    ) -> None:
        self.max_messages = max_messages
        self.max_rejected = max_rejected
        self.max_rules = max_rules
        self._lock = threading.RLock()
        self._projects: dict[str, Project] = {}
        # Flat rows (`_row`), not Message objects: the collector untracks an exact
        # tuple of atoms, never a subclass. `_view` turns a row back into a Message.
        self._messages: OrderedDict[str, Row] = OrderedDict()
        self._attempts: dict[str, Row] = {}  # by attempt id (`_attempt_row`)
        self._callbacks: dict[str, tuple[str, ...]] = {}  # attempt ids, by message sid
        self._rejected: OrderedDict[str, RejectedRequest] = OrderedDict()
        self._rules: list[Rule] = []
        # Told the sids of messages the store let go of (evicted, cleared, deleted with
        # their project), after the lock is released: the runtime wires the dispatcher's
        # `forget` here, so a gone message's pending callbacks go with it.
        self.on_forget: Callable[[list[str]], None] | None = None

    # -- projects ---------------------------------------------------------------

    def add_project(self, project: Project) -> dict[str, Any]:
        with self._lock:
            if project.project_id in self._projects:
                raise Conflict(f"project {project.project_id!r} already exists")
            self._projects[project.project_id] = project
            return project.to_json()

    def project(self, project_id: str) -> Project | None:
        """The live project record; projects are not mutated after creation."""
        with self._lock:
            return self._projects.get(project_id)

    def projects(self) -> list[dict[str, Any]]:
        with self._lock:
            return [p.to_json() for p in self._projects.values()]

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
            self._messages[message.sid] = _row(message)
            evicted: list[str] = []
            while len(self._messages) > self.max_messages:
                sid, _ = self._messages.popitem(last=False)
                self._forget_attempts(sid)
                evicted.append(sid)
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

    def messages(self, flt: MessageFilter = MessageFilter()) -> list[dict[str, Any]]:
        with self._lock:
            return [
                m.to_json(self._attempts_of(m.sid))
                for m in map(_message, self._messages.values())
                if flt.matches(m)
            ]

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
                created = row[_CREATED]
                if (
                    (project_id is not None and row[_PROJECT] != project_id)
                    or (since is not None and created < since)
                    or (until is not None and created >= until)
                ):
                    continue
                per.setdefault(row[_PROJECT], Usage()).add(row[_SEGMENTS], row[_PRICE])
                total.add(row[_SEGMENTS], row[_PRICE])
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
            # Edit the stored row in place of building Message views: this runs
            # for every lifecycle step of every message.
            head = list(row[:_HEAD])
            head[_STATUS] = status
            if error_code is not None:
                head[_ERROR_CODE] = error_code
            self._messages[sid] = (*head, *row[_HEAD:], status, epoch, error_code)
            return True

    def _drop_messages(self, doomed: Callable[[Message], bool]) -> list[str]:
        sids = [sid for sid, row in self._messages.items() if doomed(_message(row))]
        for sid in sids:
            del self._messages[sid]
            self._forget_attempts(sid)
        return sids

    def _forgotten(self, sids: list[str]) -> None:
        if sids and self.on_forget is not None:
            self.on_forget(sids)

    def _view(self, sid: str) -> Message | None:
        row = self._messages.get(sid)
        return None if row is None else _message(row)

    def _attempts_of(self, sid: str) -> list[CallbackAttempt]:
        return [_attempt(self._attempts[i]) for i in self._callbacks.get(sid, ())]

    def _forget_attempts(self, sid: str) -> None:
        for attempt_id in self._callbacks.pop(sid, ()):
            self._attempts.pop(attempt_id, None)

    # -- callback attempts ------------------------------------------------------

    def add_attempt(self, attempt: CallbackAttempt) -> None:
        """Journal an attempt on its message; dropped if the message is gone."""
        with self._lock:
            if attempt.sid in self._messages:
                self._callbacks[attempt.sid] = (*self._callbacks.get(attempt.sid, ()), attempt.id)
                self._attempts[attempt.id] = _attempt_row(attempt)

    def attempt(self, attempt_id: str) -> CallbackAttempt | None:
        with self._lock:
            row = self._attempts.get(attempt_id)
            return None if row is None else _attempt(row)

    def attempts(
        self,
        *,
        project_id: str | None = None,
        sid: str | None = None,
        status: str | None = None,
        ok: bool | None = None,
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [
                a.to_json()
                for a in map(_attempt, self._attempts.values())
                if (project_id is None or a.project_id == project_id)
                and (sid is None or a.sid == sid)
                and (status is None or a.status == status)
                and (ok is None or a.ok == ok)
            ]

    # -- rejected requests ------------------------------------------------------

    def add_rejected(self, rejected: RejectedRequest) -> None:
        with self._lock:
            self._rejected[rejected.id] = rejected
            while len(self._rejected) > self.max_rejected:
                self._rejected.popitem(last=False)

    def rejected(self, project_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                r.to_json()
                for r in self._rejected.values()
                if project_id is None or r.project_id == project_id
            ]

    # -- scenario rules ---------------------------------------------------------

    def add_rule(self, rule: Rule) -> dict[str, Any]:
        with self._lock:
            if any(r.id == rule.id for r in self._rules):
                raise Conflict(f"scenario {rule.id!r} already exists")
            if len(self._rules) >= self.max_rules:
                raise RuleLimitReached(self.max_rules)
            self._rules.append(rule)
            return rule.to_json()

    def rules(self) -> list[Rule]:
        """The live rules, first match first."""
        with self._lock:
            return list(self._rules)

    def rules_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def delete_rule(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear_rules(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules = []
            return count

    def fire_rule(
        self, send: SendContext, rng: random.Random, fallbacks: Iterable[Rule] = ()
    ) -> Rule | None:
        """Pick the first matching rule (user rules, then `fallbacks`) and count the hit.

        Matching and counting happen under one lock so a `times` limit is exact
        even when sends race.
        """
        with self._lock:
            rule = choose([*self._rules, *fallbacks], send, rng)
            if rule is None:
                return None
            rule.hits += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules = [r for r in self._rules if r is not rule]
            return rule

    # -- whole-store ------------------------------------------------------------

    def reset(self, projects: Iterable[Project], rules: Iterable[Rule]) -> None:
        with self._lock:
            self._projects = {p.project_id: p for p in projects}
            self._messages.clear()
            self._attempts.clear()
            self._callbacks.clear()
            self._rejected.clear()
            self._rules = list(rules)
