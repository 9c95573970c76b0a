"""Scenario rules: which sends fail, slow down or misbehave, and how.

Pure: parsing a rule from JSON/TOML, matching it against a send, and the built-in
magic-number table. Drawing `probability` uses an RNG the caller owns (seeded),
so the same seed and the same sends give the same outcomes.
"""

from __future__ import annotations

import fnmatch
import random
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .validation import FieldError, integer, number, require_string, type_name

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
)
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


@dataclass(frozen=True, slots=True)
class Matcher:
    kind: str
    pattern: str
    regex: re.Pattern[str] | None = None

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
        return Matcher("exact", value)
    spec = _object(path, value)
    if len(spec) != 1:
        raise FieldError(path, 'must be a string or one of {"exact"|"glob"|"regex": "..."}')
    kind, pattern = next(iter(spec.items()))
    if kind not in MATCH_KINDS:
        raise FieldError(
            f"{path}.{kind}", f"unknown match kind; expected one of {', '.join(MATCH_KINDS)}"
        )
    pattern = require_string(f"{path}.{kind}", pattern)
    if kind != "regex":
        return Matcher(kind, pattern)
    try:
        return Matcher(kind, pattern, re.compile(pattern))
    except re.error as exc:
        raise FieldError(f"{path}.regex", f"bad regular expression: {exc}") from exc


def _api_error(path: str, value: Any) -> ApiErrorEffect:
    spec = _object(path, value)
    _reject_unknown(path, spec, ("status", "message", "retryAfter"))
    status = integer(f"{path}.status", spec.get("status", 500), minimum=400, maximum=599)
    message = require_string(f"{path}.message", spec.get("message", "simulated error"))
    retry_after = spec.get("retryAfter", 1 if status == 429 else None)
    if retry_after is not None:
        retry_after = integer(f"{path}.retryAfter", retry_after, minimum=0)
    return ApiErrorEffect(status, message, retry_after)


def _latency(path: str, value: Any) -> tuple[float, float]:
    if isinstance(value, dict):
        _reject_unknown(path, value, ("min", "max"))
        low = number(f"{path}.min", value.get("min", 0))
        high = number(f"{path}.max", value.get("max", low))
        if high < low:
            raise FieldError(f"{path}.max", "must be at least min")
        return (low, high)
    seconds = number(path, value)
    return (seconds, seconds)


def _callback(path: str, value: Any) -> tuple[frozenset[str], frozenset[str]]:
    spec = _object(path, value)
    _reject_unknown(path, spec, CALLBACK_FAULTS)
    faults: set[str] = set()
    drops: frozenset[str] = frozenset()
    for key, flag in spec.items():
        if key == "drop":
            statuses = flag if isinstance(flag, list) else [flag]
            for i, s in enumerate(statuses):
                if s not in ("queued", "sent", "delivered", "undelivered", "failed"):
                    raise FieldError(f"{path}.drop[{i}]", f"unknown status {s!r}")
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
        send_delay=number(f"{path}.sendDelay", spec["sendDelay"]) if "sendDelay" in spec else None,
        delivery_delay=(
            number(f"{path}.deliveryDelay", spec["deliveryDelay"])
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
        times = integer(p("times"), times, minimum=1)
    probability = spec.get("probability")
    if probability is not None:
        probability = number(p("probability"), probability)
        if probability > 1:
            raise FieldError(p("probability"), "must be between 0 and 1")
    rule_id = spec.get("id")
    rule_id = require_string(p("id"), rule_id) if rule_id is not None else uuid.uuid4().hex[:12]
    if not rule_id:
        raise FieldError(p("id"), "must not be empty")
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


def builtin_rules() -> list[Rule]:
    return [
        parse_rule(
            {"id": f"builtin:{m.number}", "match": {"to": m.number}, "effect": m.effect},
            source="builtin",
        )
        for m in MAGIC_NUMBERS
    ]


def chaos_rules(api_error_rate: float, undelivered_rate: float) -> list[Rule]:
    """Chaos mode: match-all rules drawn from the seeded RNG, checked last."""
    rules = []
    if api_error_rate > 0:
        rules.append(
            parse_rule(
                {
                    "id": "chaos:api-error",
                    "probability": api_error_rate,
                    "effect": {"apiError": {"status": 503, "message": "chaos: simulated outage"}},
                },
                source="chaos",
            )
        )
    if undelivered_rate > 0:
        rules.append(
            parse_rule(
                {
                    "id": "chaos:undelivered",
                    "probability": undelivered_rate,
                    "effect": {"finalStatus": "undelivered", "errorCode": "30003"},
                },
                source="chaos",
            )
        )
    return rules
