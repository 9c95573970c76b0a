"""Scenario rules: which sends fail, slow down or misbehave, and how.

Pure: parsing a rule from JSON/TOML, matching it against a send, and the built-in
magic-number table. Drawing `probability` uses an RNG the caller owns (seeded),
so the same seed and the same sends give the same outcomes.

Rules are matched on the event loop, under the store's lock, for every send, so
what a rule may cost is bounded when it is parsed: regexes run on RE2 (linear in
the text, no backtracking) within a size budget, and every number has limits.
"""

from __future__ import annotations

import fnmatch
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import re2

from .validation import (
    MAX_DELAY,
    FieldError,
    integer,
    number,
    require_string,
    safe_id,
    shown,
    type_name,
)

MatchField = Literal["project", "to", "from", "body"]
MATCH_FIELDS: tuple[MatchField, ...] = ("project", "to", "from", "body")
MATCH_KINDS = ("exact", "glob", "regex")
FINAL_FAULT_STATUSES = ("undelivered", "failed")
CALLBACK_FAULTS = (
    "duplicate",  # post each status twice
    "reorder",  # post the statuses last-first
    "drop",  # never post the listed statuses
    "badSignature",  # sign with the wrong key
    "staleDate",  # a Date an hour old, signed consistently
    "wrongDigest",  # a Digest that does not match the body
    "neverAcknowledged",  # treat every answer as a failure, so every retry is used
    "omitTo",  # a body without `To`, as the provider's captured callback (README)
)
DROPPABLE_STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")
RULE_KEYS = ("id", "name", "match", "effect", "times", "probability")
EFFECT_KEYS = (
    "apiError",
    "latency",
    "dropConnection",
    "sendDelay",
    "deliveryDelay",
    "finalStatus",
    "errorCode",
    "callback",
)
STALE_DATE_SECONDS = 3600.0

# -- bounds -------------------------------------------------------------------------
# A rule's cost is paid by every send, so each is bounded when the rule is added.
MAX_PATTERN_LENGTH = 1_000  # characters of a glob or regex; real ones are a few dozen
# RE2 program instructions (`programsize`). Matching costs at worst about text length
# times program size. On the longest default body (10 GSM-7 parts, 1,530 characters) the
# worst pattern found within this cap, (?:a|b)*a[ab]{310}c, costs 25-50 ms a send; an
# ordinary pattern costs about 2 us, mostly the binding's Python code.
MAX_REGEX_PROGRAM = 1_000
# Bytes RE2 may use per rule, program and DFA cache together (RE2's default is 8 MiB):
# enough for MAX_REGEX_PROGRAM, and it keeps max_rules regexes within a few hundred MB
# however the texts make their DFAs grow (past it RE2 falls back to its NFA, still linear).
REGEX_MAX_MEM = 256 * 1024
MAX_LATENCY = 60.0  # seconds an answer is held: past any client timeout worth testing
MAX_TIMES = 1_000_000  # more matches than a test run makes
MAX_RETRY_AFTER = 86_400  # seconds (a day), the longest wait worth telling a client


class Searcher(Protocol):
    """A compiled regex, as far as matching needs it (RE2's `_Regexp`)."""

    def search(self, text: str) -> object | None: ...


@dataclass(frozen=True, slots=True)
class Matcher:
    kind: str
    pattern: str
    regex: Searcher | None = None

    def matches(self, value: str | None) -> bool:
        if value is None:
            return False
        if self.kind == "exact":
            return value == self.pattern
        if self.kind == "glob":
            return fnmatch.fnmatchcase(value, self.pattern)
        assert self.regex is not None
        return self.regex.search(value) is not None

    def to_json(self) -> dict[str, str]:
        return {self.kind: self.pattern}


@dataclass(frozen=True, slots=True)
class ApiErrorEffect:
    status: int
    message: str
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    api_error: ApiErrorEffect | None = None
    latency: tuple[float, float] | None = None  # uniform range, seconds
    drop_connection: bool = False
    send_delay: float | None = None
    delivery_delay: float | None = None
    final_status: str | None = None
    error_code: str | None = None
    callback: frozenset[str] = frozenset()
    drop_statuses: frozenset[str] = frozenset()


@dataclass(slots=True)
class Rule:
    id: str
    match: dict[str, Matcher]
    effect: Effect
    spec: dict[str, Any]  # the effect as given, echoed back by the API
    name: str | None = None
    times: int | None = None
    remaining: int | None = None
    probability: float | None = None
    source: str = "api"
    hits: int = 0

    def matches(self, send: SendContext) -> bool:
        values = {"project": send.project_id, "to": send.to, "from": send.from_, "body": send.body}
        return all(m.matches(values[f]) for f, m in self.match.items())

    @property
    def label(self) -> str:
        """How records name the rule that fired."""
        return self.name or self.id

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "match": {f: m.to_json() for f, m in self.match.items()},
            "effect": self.spec,
            "times": self.times,
            "remaining": self.remaining,
            "probability": self.probability,
            "hits": self.hits,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class SendContext:
    project_id: str
    to: str | None
    from_: str | None
    body: str | None


def _object(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(path, f"must be an object, got {type_name(value)}")
    return value


def _reject_unknown(path: str, value: Mapping[str, Any], known: Iterable[str]) -> None:
    allowed = tuple(known)
    for key in value:
        if key not in allowed:
            prefix = f"{path}." if path else ""
            raise FieldError(f"{prefix}{key}", f"unknown key; expected one of {', '.join(allowed)}")


def _matcher(path: str, value: Any) -> Matcher:
    if isinstance(value, str):
        return Matcher("exact", require_string(path, value))
    spec = _object(path, value)
    if len(spec) != 1:
        raise FieldError(path, 'must be a string or one of {"exact"|"glob"|"regex": "..."}')
    kind, pattern = next(iter(spec.items()))
    if kind not in MATCH_KINDS:
        raise FieldError(
            f"{path}.{kind}", f"unknown match kind; expected one of {', '.join(MATCH_KINDS)}"
        )
    pattern = require_string(f"{path}.{kind}", pattern)
    if kind == "exact":
        return Matcher(kind, pattern)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FieldError(
            f"{path}.{kind}",
            f"must be at most {MAX_PATTERN_LENGTH} characters (got {len(pattern)})",
        )
    if kind == "glob":
        return Matcher(kind, pattern)
    return Matcher(kind, pattern, compile_regex(f"{path}.regex", pattern))


def _regex_options() -> Any:
    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.never_capture = True  # a rule only asks whether it matches: no groups to track
    options.log_errors = False  # the error goes back to the client, not to stderr
    return options


_REGEX_OPTIONS = _regex_options()


def compile_regex(field: str, pattern: str) -> Searcher:
    """`pattern` compiled by RE2, or a FieldError saying why it cannot be a rule's regex."""
    try:
        compiled: Searcher = re2.compile(pattern, _REGEX_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "cannot compile"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if "pattern too large" in reason:
            raise FieldError(field, _too_complex(f"over {REGEX_MAX_MEM // 1024} KiB")) from exc
        raise FieldError(
            field,
            f"bad regular expression: {reason} (rules use RE2 syntax, which has no "
            "backreferences or lookaround)",
        ) from exc
    size: int = compiled.programsize  # type: ignore[attr-defined]  # RE2's, not in Searcher
    if size > MAX_REGEX_PROGRAM:
        raise FieldError(field, _too_complex(f"{size} instructions"))
    return compiled


def _too_complex(size: str) -> str:
    return (
        f"too complex: its RE2 program is {size}, the limit is {MAX_REGEX_PROGRAM} "
        "instructions (use smaller repetition counts, or fewer of them)"
    )


def _api_error(path: str, value: Any) -> ApiErrorEffect:
    spec = _object(path, value)
    _reject_unknown(path, spec, ("status", "message", "retryAfter"))
    status = integer(f"{path}.status", spec.get("status", 500), minimum=400, maximum=599)
    message = require_string(f"{path}.message", spec.get("message", "simulated error"))
    retry_after = spec.get("retryAfter", 1 if status == 429 else None)
    if retry_after is not None:
        retry_after = integer(f"{path}.retryAfter", retry_after, minimum=0, maximum=MAX_RETRY_AFTER)
    return ApiErrorEffect(status, message, retry_after)


def _latency(path: str, value: Any) -> tuple[float, float]:
    if isinstance(value, dict):
        _reject_unknown(path, value, ("min", "max"))
        low = number(f"{path}.min", value.get("min", 0), maximum=MAX_LATENCY)
        high = number(f"{path}.max", value.get("max", low), maximum=MAX_LATENCY)
        if high < low:
            raise FieldError(f"{path}.max", "must be at least min")
        return (low, high)
    seconds = number(path, value, maximum=MAX_LATENCY)
    return (seconds, seconds)


def _delay(path: str, value: Any) -> float:
    return number(path, value, maximum=MAX_DELAY)


def _callback(path: str, value: Any) -> tuple[frozenset[str], frozenset[str]]:
    spec = _object(path, value)
    _reject_unknown(path, spec, CALLBACK_FAULTS)
    faults: set[str] = set()
    drops: frozenset[str] = frozenset()
    for key, flag in spec.items():
        if key == "drop":
            statuses = flag if isinstance(flag, list) else [flag]
            for i, s in enumerate(statuses):
                if s not in DROPPABLE_STATUSES:
                    raise FieldError(
                        f"{path}.drop[{i}]",
                        f"must be one of {', '.join(DROPPABLE_STATUSES)} (got {shown(s)})",
                    )
            drops = frozenset(statuses)
            faults.add("drop")
        elif flag is True:
            faults.add(key)
        elif flag is not False:
            raise FieldError(f"{path}.{key}", f"must be a boolean, got {type_name(flag)}")
    return frozenset(faults), drops


def parse_effect(value: Any, path: str = "effect") -> Effect:
    spec = _object(path, value)
    _reject_unknown(path, spec, EFFECT_KEYS)
    if not spec:
        raise FieldError(path, "must name at least one effect")
    final = spec.get("finalStatus")
    if final is not None and final not in FINAL_FAULT_STATUSES:
        raise FieldError(f"{path}.finalStatus", f"must be one of {', '.join(FINAL_FAULT_STATUSES)}")
    error_code = spec.get("errorCode")
    if error_code is not None:
        error_code = require_string(f"{path}.errorCode", error_code)
        if final is None:
            # An error code only shows on an undelivered or failed status; alone it would
            # silently do nothing.
            raise FieldError(f"{path}.errorCode", "needs finalStatus undelivered or failed")
    drop = spec.get("dropConnection", False)
    if not isinstance(drop, bool):
        raise FieldError(f"{path}.dropConnection", f"must be a boolean, got {type_name(drop)}")
    callback, drops = _callback(f"{path}.callback", spec.get("callback", {}))
    return Effect(
        api_error=_api_error(f"{path}.apiError", spec["apiError"]) if "apiError" in spec else None,
        latency=_latency(f"{path}.latency", spec["latency"]) if "latency" in spec else None,
        drop_connection=drop,
        send_delay=_delay(f"{path}.sendDelay", spec["sendDelay"]) if "sendDelay" in spec else None,
        delivery_delay=(
            _delay(f"{path}.deliveryDelay", spec["deliveryDelay"])
            if "deliveryDelay" in spec
            else None
        ),
        final_status=final,
        error_code=error_code,
        callback=callback,
        drop_statuses=drops,
    )


def parse_rule(value: Any, *, source: str = "api", path: str = "") -> Rule:
    """Build a rule from its JSON form, or raise FieldError naming the bad field."""
    p = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    spec = _object(path or "rule", value)
    _reject_unknown(path, spec, RULE_KEYS)
    match_spec = _object(p("match"), spec.get("match", {}))
    _reject_unknown(p("match"), match_spec, MATCH_FIELDS)
    match = {f: _matcher(p(f"match.{f}"), v) for f, v in match_spec.items()}
    if "effect" not in spec:
        raise FieldError(p("effect"), "is required")
    effect = parse_effect(spec["effect"], p("effect"))
    times = spec.get("times")
    if times is not None:
        times = integer(p("times"), times, minimum=1, maximum=MAX_TIMES)
    probability = spec.get("probability")
    if probability is not None:
        probability = number(p("probability"), probability, maximum=1.0)
    rule_id = spec.get("id")
    rule_id = safe_id(p("id"), rule_id) if rule_id is not None else uuid.uuid4().hex[:12]
    name = spec.get("name")
    if name is not None:
        name = require_string(p("name"), name)
    return Rule(
        id=rule_id,
        name=name,
        match=match,
        effect=effect,
        spec=dict(spec["effect"]),
        times=times,
        remaining=times,
        probability=probability,
        source=source,
    )


def choose(rules: Iterable[Rule], send: SendContext, rng: random.Random) -> Rule | None:
    """The first rule that matches and wins its probability draw, or None."""
    for rule in rules:
        if rule.remaining is not None and rule.remaining <= 0:
            continue
        if not rule.matches(send):
            continue
        if rule.probability is not None and rng.random() >= rule.probability:
            continue
        return rule
    return None


# -- built-in magic numbers ---------------------------------------------------------
# Ofcom reserves +44 7700 900000-900999 for drama: no real phone has these numbers.

MAGIC_RANGE = "+447700900000..+447700900999"


@dataclass(frozen=True, slots=True)
class MagicNumber:
    number: str
    outcome: str
    effect: dict[str, Any] = field(default_factory=dict)


MAGIC_NUMBERS: tuple[MagicNumber, ...] = (
    MagicNumber(
        "+447700900001",
        "undelivered, errorCode 30003 (handset unreachable)",
        {"finalStatus": "undelivered", "errorCode": "30003"},
    ),
    MagicNumber(
        "+447700900002",
        "undelivered, errorCode 30005 (unknown destination)",
        {"finalStatus": "undelivered", "errorCode": "30005"},
    ),
    MagicNumber(
        "+447700900003",
        "failed, errorCode 30008 (carrier error)",
        {"finalStatus": "failed", "errorCode": "30008"},
    ),
    MagicNumber(
        "+447700900400",
        "400 invalid number",
        {"apiError": {"status": 400, "message": "to: not a valid mobile number"}},
    ),
    MagicNumber(
        "+447700900429",
        "429 rate limited, Retry-After: 1",
        {"apiError": {"status": 429, "message": "rate limit exceeded", "retryAfter": 1}},
    ),
    MagicNumber(
        "+447700900500",
        "500 server error",
        {"apiError": {"status": 500, "message": "simulated server error"}},
    ),
    MagicNumber(
        "+447700900503",
        "503 service unavailable, Retry-After: 5",
        {
            "apiError": {
                "status": 503,
                "message": "service temporarily unavailable",
                "retryAfter": 5,
            }
        },
    ),
    MagicNumber("+447700900901", "slow API: the response takes 2 s", {"latency": 2.0}),
    MagicNumber(
        "+447700900902", "slow delivery: delivered 30 s after sent", {"deliveryDelay": 30.0}
    ),
    MagicNumber(
        "+447700900903",
        "dropped connection: the socket closes with no answer",
        {"dropConnection": True},
    ),
    MagicNumber(
        "+447700900904",
        "callback never acknowledged: every attempt counts as failed and is retried",
        {"callback": {"neverAcknowledged": True}},
    ),
)


def _internal_rule(rule_id: str, spec: dict[str, Any], source: str) -> Rule:
    """A rule the mock defines itself. Its id is outside the alphabet users may pick
    (`builtin:+44...`, `chaos:...`), so it can never clash with theirs."""
    rule = parse_rule(spec, source=source)
    rule.id = rule_id
    return rule


def builtin_rules() -> list[Rule]:
    return [
        _internal_rule(
            f"builtin:{m.number}", {"match": {"to": m.number}, "effect": m.effect}, "builtin"
        )
        for m in MAGIC_NUMBERS
    ]


def chaos_rules(api_error_rate: float, undelivered_rate: float) -> list[Rule]:
    """Chaos mode: match-all rules drawn from the seeded RNG, checked last."""
    rules = []
    if api_error_rate > 0:
        rules.append(
            _internal_rule(
                "chaos:api-error",
                {
                    "probability": api_error_rate,
                    "effect": {"apiError": {"status": 503, "message": "chaos: simulated outage"}},
                },
                "chaos",
            )
        )
    if undelivered_rate > 0:
        rules.append(
            _internal_rule(
                "chaos:undelivered",
                {
                    "probability": undelivered_rate,
                    "effect": {"finalStatus": "undelivered", "errorCode": "30003"},
                },
                "chaos",
            )
        )
    return rules
