"""Scenario rules without a server: parsing, matching, limits, seeded draws, magic numbers.

Also the config-file side: rules in TOML load at startup, and a bad rule stops
startup with a one-line `ConfigError` naming the key.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augnet_mock.config import ConfigError, load_settings, read_config_file
from augnet_mock.scenarios import (
    CALLBACK_FAULTS,
    EFFECT_KEYS,
    MAGIC_NUMBERS,
    Rule,
    SendContext,
    builtin_rules,
    chaos_rules,
    choose,
    parse_effect,
    parse_rule,
)
from augnet_mock.store import Conflict, RuleLimitReached, Store
from augnet_mock.validation import E164, FieldError

SEND = SendContext("proj-1", "+447515650839", "ABCTAXI", "Your code is 123456")
UNDELIVERED = {"finalStatus": "undelivered", "errorCode": "30003"}
U = UNDELIVERED  # keeps the BAD_RULES table on one line per case


def send(**changes: Any) -> SendContext:
    fields = {"project_id": SEND.project_id, "to": SEND.to, "from_": SEND.from_, "body": SEND.body}
    return SendContext(**(fields | changes))


def rule(match: dict[str, Any] | None = None, **extra: Any) -> Rule:
    return parse_rule({"match": match or {}, "effect": UNDELIVERED, **extra})


# --- matching --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "spec", "hit", "miss"),
    [
        ("project", "proj-1", {"project_id": "proj-1"}, {"project_id": "proj-10"}),
        ("project", {"glob": "proj-*"}, {"project_id": "proj-7"}, {"project_id": "other"}),
        ("to", "+447515650839", {"to": "+447515650839"}, {"to": "+447515650830"}),
        ("to", {"exact": "+447515650839"}, {"to": "+447515650839"}, {"to": "+4475156508391"}),
        ("to", {"glob": "+4475*"}, {"to": "+447500000000"}, {"to": "+447400000000"}),
        ("to", {"glob": "+44751565083?"}, {"to": "+447515650831"}, {"to": "+4475156508310"}),
        ("to", {"regex": r"^\+1\d{10}$"}, {"to": "+12025550100"}, {"to": "+447515650839"}),
        ("from", "ABCTAXI", {"from_": "ABCTAXI"}, {"from_": "abctaxi"}),
        ("from", {"regex": "TAXI$"}, {"from_": "ABCTAXI"}, {"from_": "TAXIABC"}),
        ("body", {"glob": "*code*"}, {"body": "your code: 1"}, {"body": "your CODE: 1"}),
        ("body", {"regex": r"\b\d{6}\b"}, {"body": "pin 123456 ok"}, {"body": "pin 12345"}),
    ],
)
def test_each_field_matches_exact_glob_or_regex(
    field: str, spec: Any, hit: dict[str, Any], miss: dict[str, Any]
) -> None:
    """A match on project/to/from/body accepts the intended value and rejects a near miss."""
    r = rule({field: spec})
    assert r.matches(send(**hit))
    assert not r.matches(send(**miss))


def test_regex_searches_rather_than_fullmatches() -> None:
    """A regex matches anywhere in the value unless anchored (search semantics)."""
    assert rule({"body": {"regex": "code"}}).matches(send(body="your code is 1"))
    assert not rule({"body": {"regex": "^code"}}).matches(send(body="your code is 1"))


def test_glob_is_case_sensitive_and_exact_is_literal() -> None:
    """Glob matching does not fold case, and an exact match treats * literally."""
    assert not rule({"from": {"glob": "abc*"}}).matches(SEND)
    assert not rule({"to": {"exact": "+4475*"}}).matches(SEND)
    assert rule({"to": {"exact": "+4475*"}}).matches(send(to="+4475*"))


def test_every_match_field_must_hold() -> None:
    """Several match fields combine with AND."""
    r = rule({"to": SEND.to, "body": {"glob": "*code*"}})
    assert r.matches(SEND)
    assert not r.matches(send(body="hello"))
    assert not r.matches(send(to="+447000000000"))


def test_empty_match_matches_every_send() -> None:
    """A rule without a match applies to every send."""
    assert rule().matches(SEND)
    assert rule().matches(send(from_=None))


def test_from_match_never_hits_a_send_without_from() -> None:
    """A `from` matcher, even the glob `*`, does not match a send that gave no `from`."""
    assert not rule({"from": {"glob": "*"}}).matches(send(from_=None))


# --- parsing: good rules -----------------------------------------------------------------


def test_rule_json_echoes_what_was_given() -> None:
    """to_json shows id, name, match, effect as given, limits and counters."""
    r = parse_rule(
        {
            "id": "r1",
            "name": "flaky",
            "match": {"to": "+447515650839", "body": {"regex": "x+"}},
            "effect": {"apiError": {"status": 503}},
            "times": 2,
            "probability": 0.5,
        }
    )
    assert r.to_json() == {
        "id": "r1",
        "name": "flaky",
        "match": {"to": {"exact": "+447515650839"}, "body": {"regex": "x+"}},
        "effect": {"apiError": {"status": 503}},
        "times": 2,
        "remaining": 2,
        "probability": 0.5,
        "hits": 0,
        "source": "api",
    }
    assert r.label == "flaky"


def test_generated_id_labels_an_unnamed_rule() -> None:
    """Without a name the rule is labelled by its (generated, unique) id."""
    a, b = rule(), rule()
    assert a.name is None
    assert a.label == a.id
    assert a.id
    assert a.id != b.id


def test_api_error_defaults() -> None:
    """apiError defaults to 500; a 429 gets Retry-After 1 unless told otherwise."""
    assert parse_effect({"apiError": {}}).api_error == (
        parse_effect({"apiError": {"status": 500, "message": "simulated error"}}).api_error
    )
    err = parse_effect({"apiError": {"status": 429}}).api_error
    assert err is not None
    assert err.retry_after == 1
    err = parse_effect({"apiError": {"status": 503, "retryAfter": 7}}).api_error
    assert err is not None
    assert err.retry_after == 7
    err = parse_effect({"apiError": {"status": 500}}).api_error
    assert err is not None
    assert err.retry_after is None


def test_latency_is_fixed_or_a_range() -> None:
    """latency takes seconds (fixed) or {min, max} (a uniform range)."""
    assert parse_effect({"latency": 0.25}).latency == (0.25, 0.25)
    assert parse_effect({"latency": {"min": 0.1, "max": 0.3}}).latency == (0.1, 0.3)
    assert parse_effect({"latency": {"max": 0.3}}).latency == (0.0, 0.3)


@given(
    low=st.floats(0, 10, allow_nan=False),
    width=st.floats(0, 10, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_latency_draw_stays_within_its_range(low: float, width: float, seed: int) -> None:
    """The seeded draw the API uses for a latency range never leaves [min, max]."""
    effect = parse_effect({"latency": {"min": low, "max": low + width}})
    assert effect.latency is not None
    lo, hi = effect.latency
    rng = random.Random(seed)
    for _ in range(20):
        drawn = rng.uniform(lo, hi) if hi > lo else lo
        assert lo <= drawn <= hi


def test_callback_faults_parse() -> None:
    """Every callback fault is a boolean flag, except drop, which names statuses."""
    flags = {f: True for f in CALLBACK_FAULTS if f != "drop"}
    effect = parse_effect({"callback": flags | {"drop": ["sent", "queued"]}})
    assert effect.callback == frozenset(CALLBACK_FAULTS)
    assert effect.drop_statuses == {"sent", "queued"}
    assert parse_effect({"callback": {"drop": "sent"}}).drop_statuses == {"sent"}
    assert parse_effect({"callback": {"duplicate": False}}).callback == frozenset()


# --- parsing: bad rules name the failing field -----------------------------------------


BAD_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown effect", {"effect": {"explode": True}}, "effect.explode"),
    ("no effect", {"match": {"to": "+447515650839"}}, "effect"),
    ("empty effect", {"effect": {}}, "effect"),
    ("effect not an object", {"effect": "apiError"}, "effect"),
    ("bad regex", {"match": {"to": {"regex": "(+"}}, "effect": UNDELIVERED}, "match.to.regex"),
    ("unknown match field", {"match": {"sender": "x"}, "effect": UNDELIVERED}, "match.sender"),
    ("unknown match kind", {"match": {"to": {"like": "x"}}, "effect": U}, "match.to.like"),
    ("two match kinds", {"match": {"to": {"glob": "a", "regex": "b"}}, "effect": U}, "match.to"),
    ("probability above 1", {"effect": UNDELIVERED, "probability": 1.5}, "probability"),
    ("probability below 0", {"effect": UNDELIVERED, "probability": -0.1}, "probability"),
    ("probability not a number", {"effect": UNDELIVERED, "probability": "1"}, "probability"),
    ("times zero", {"effect": UNDELIVERED, "times": 0}, "times"),
    ("times fractional", {"effect": UNDELIVERED, "times": 1.5}, "times"),
    ("negative sendDelay", {"effect": {"sendDelay": -1}}, "effect.sendDelay"),
    ("negative deliveryDelay", {"effect": {"deliveryDelay": -0.5}}, "effect.deliveryDelay"),
    ("negative latency", {"effect": {"latency": -1}}, "effect.latency"),
    ("negative latency min", {"effect": {"latency": {"min": -1, "max": 1}}}, "effect.latency.min"),
    ("latency max below min", {"effect": {"latency": {"min": 2, "max": 1}}}, "effect.latency.max"),
    ("status 399", {"effect": {"apiError": {"status": 399}}}, "effect.apiError.status"),
    ("status 600", {"effect": {"apiError": {"status": 600}}}, "effect.apiError.status"),
    ("status 200", {"effect": {"apiError": {"status": 200}}}, "effect.apiError.status"),
    ("negative retryAfter", {"effect": {"apiError": {"retryAfter": -1}}},
     "effect.apiError.retryAfter"),
    ("unknown apiError key", {"effect": {"apiError": {"code": 1}}}, "effect.apiError.code"),
    ("finalStatus delivered", {"effect": {"finalStatus": "delivered"}}, "effect.finalStatus"),
    ("errorCode alone", {"effect": {"errorCode": "30003"}}, "effect.errorCode"),
    ("errorCode a number", {"effect": {"finalStatus": "failed", "errorCode": 1}},
     "effect.errorCode"),
    ("dropConnection not bool", {"effect": {"dropConnection": 1}}, "effect.dropConnection"),
    ("unknown callback fault", {"effect": {"callback": {"late": True}}}, "effect.callback.late"),
    ("callback fault not bool", {"effect": {"callback": {"duplicate": "yes"}}},
     "effect.callback.duplicate"),
    ("drop unknown status", {"effect": {"callback": {"drop": ["sent", "read"]}}},
     "effect.callback.drop[1]"),
    ("unknown rule key", {"effect": UNDELIVERED, "when": "now"}, "when"),
    ("empty id", {"effect": UNDELIVERED, "id": ""}, "id"),
    ("name not a string", {"effect": UNDELIVERED, "name": 5}, "name"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "field"), [(s, f) for _, s, f in BAD_RULES], ids=[n for n, _, _ in BAD_RULES]
)
def test_bad_rule_names_the_failing_field(spec: dict[str, Any], field: str) -> None:
    """Each malformed rule raises FieldError whose field is the exact offending key."""
    with pytest.raises(FieldError) as caught:
        parse_rule(spec)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_rule_that_is_not_an_object() -> None:
    """A rule given as a list is rejected as a whole."""
    with pytest.raises(FieldError, match=r"^rule: must be an object, got array"):
        parse_rule([])


@given(st.floats(0, 1))
def test_any_probability_in_unit_interval_is_accepted(p: float) -> None:
    """Every probability in [0, 1] parses."""
    assert rule(probability=p).probability == p


@given(st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1 + 1e-9), st.just(float("nan"))))
def test_any_probability_outside_unit_interval_is_rejected(p: float) -> None:
    """Probabilities outside [0, 1] (and NaN/inf) are rejected, naming `probability`."""
    with pytest.raises(FieldError) as caught:
        rule(probability=p)
    assert caught.value.field == "probability"


@given(st.integers(-1000, 2000))
def test_api_error_status_must_be_4xx_or_5xx(status: int) -> None:
    """apiError.status is accepted exactly when it lies in 400-599."""
    spec = {"effect": {"apiError": {"status": status}}}
    if 400 <= status <= 599:
        assert parse_rule(spec).effect.api_error is not None
    else:
        with pytest.raises(FieldError, match=r"^effect\.apiError\.status: "):
            parse_rule(spec)


def test_config_path_prefixes_the_field() -> None:
    """Parsed from the config file, the field is prefixed by the rule's position."""
    with pytest.raises(FieldError) as caught:
        parse_rule({"effect": {"sendDelay": -1}}, source="config", path="scenarios[3]")
    assert caught.value.field == "scenarios[3].effect.sendDelay"


# --- choosing: first match, times, probability ----------------------------------------


def test_first_matching_rule_wins() -> None:
    """Of several matching rules the earliest is chosen; non-matching ones are skipped."""
    other = rule({"to": "+440000000000"}, id="other")
    first = rule({"to": SEND.to}, id="first")
    second = rule(id="second")
    assert choose([other, first, second], SEND, random.Random(0)) is first
    assert choose([other], SEND, random.Random(0)) is None


def test_times_fires_n_times_then_expires() -> None:
    """With times=2 the store fires the rule twice, then falls through and drops it."""
    store = Store()
    store.reset([], [rule(id="twice", times=2), rule(id="always")])
    fired = [store.fire_rule(SEND, random.Random(0)) for _ in range(3)]
    assert [r.id if r else None for r in fired] == ["twice", "twice", "always"]
    assert [r["id"] for r in store.rules_json()] == ["always"]
    assert fired[0] is not None
    assert fired[0].hits == 2
    assert fired[0].remaining == 0


def test_hits_count_every_firing() -> None:
    """hits counts each time a rule fires, and shows in the JSON list."""
    store = Store()
    store.reset([], [rule({"to": SEND.to}, id="r")])
    for _ in range(3):
        store.fire_rule(SEND, random.Random(0))
    store.fire_rule(send(to="+440000000000"), random.Random(0))
    assert store.rules_json()[0]["hits"] == 3


def test_store_rules_come_before_fallbacks() -> None:
    """User rules are checked before the built-in (fallback) rules."""
    store = Store(builtin_rules=builtin_rules())
    user = rule({"to": "+447700900500"}, id="mine")
    store.reset([], [user])
    magic = send(to="+447700900500")
    assert store.fire_rule(magic, random.Random(0)) is user
    fallback = Store(builtin_rules=builtin_rules()).fire_rule(magic, random.Random(0))
    assert fallback is not None
    assert fallback.id == "builtin:+447700900500"


def _draws(seed: int, p: float, n: int = 200) -> list[bool]:
    rng = random.Random(seed)
    r = rule(probability=p)
    return [choose([r], SEND, rng) is r for _ in range(n)]


def test_probability_is_repeatable_for_a_seed() -> None:
    """The same seed gives the same fire/no-fire sequence; another seed a different one."""
    assert _draws(7, 0.3) == _draws(7, 0.3)
    assert _draws(7, 0.3) != _draws(8, 0.3)


def test_probability_fires_about_that_often() -> None:
    """p=0.3 over 2000 seeded draws fires close to 30% of the time; 0 and 1 are absolute."""
    share = sum(_draws(1, 0.3, 2000)) / 2000
    assert 0.25 < share < 0.35
    assert not any(_draws(1, 0.0))
    assert all(_draws(1, 1.0))


def test_losing_the_draw_falls_through_to_the_next_rule() -> None:
    """A rule that loses its probability draw lets later rules match."""
    never = rule(id="never", probability=0.0)
    after = rule(id="after")
    assert choose([never, after], SEND, random.Random(0)) is after


# --- magic numbers and chaos -------------------------------------------------------------


def test_magic_numbers_are_drama_range_and_unique() -> None:
    """Every magic number is a valid E.164 number in Ofcom's +447700900000-999 range, once."""
    numbers = [m.number for m in MAGIC_NUMBERS]
    assert len(set(numbers)) == len(numbers)
    for n in numbers:
        assert E164.fullmatch(n)
        assert re.fullmatch(r"\+447700900\d{3}", n)


def test_each_builtin_rule_matches_only_its_number() -> None:
    """A built-in rule fires for its own number and no other magic number."""
    rules = builtin_rules()
    assert len(rules) == len(MAGIC_NUMBERS)
    for r, m in zip(rules, MAGIC_NUMBERS, strict=True):
        assert r.label == f"builtin:{m.number}"
        assert r.source == "builtin"
        hits = [n.number for n in MAGIC_NUMBERS if r.matches(send(to=n.number))]
        assert hits == [m.number]
        assert set(m.effect) <= set(EFFECT_KEYS)


def test_chaos_rules_follow_the_rates() -> None:
    """Chaos adds a match-all 503 rule and an undelivered rule, each only when its rate > 0."""
    assert chaos_rules(0, 0) == []
    both = chaos_rules(0.2, 0.4)
    assert [(r.id, r.probability) for r in both] == [
        ("chaos:api-error", 0.2),
        ("chaos:undelivered", 0.4),
    ]
    assert both[0].effect.api_error is not None
    assert both[0].effect.api_error.status == 503
    assert both[1].effect.final_status == "undelivered"
    assert [r.id for r in chaos_rules(0, 0.5)] == ["chaos:undelivered"]


# --- the config file -----------------------------------------------------------------


GOOD_TOML = """
[server]
seed = 42
chaos_undelivered = 0.1

[[scenarios]]
name = "flaky-uk"
times = 2
match = { to = { glob = "+4475*" } }
effect = { apiError = { status = 503, message = "down for maintenance", retryAfter = 3 } }

[[scenarios]]
id = "slow-otp"
probability = 0.5
[scenarios.match]
body = { regex = "code \\\\d{6}" }
[scenarios.effect]
latency = { min = 0.1, max = 0.3 }
callback = { drop = ["sent"], badSignature = true }
"""


def test_config_file_declares_scenarios_and_seed(tmp_path: Path) -> None:
    """Rules in [[scenarios]] load into Settings; [server] seed and chaos rates too."""
    path = tmp_path / "mock.toml"
    path.write_text(GOOD_TOML)
    settings = load_settings(config_path=str(path))
    assert settings.seed == 42
    assert settings.chaos_undelivered == 0.1
    rules = [parse_rule(s, source="config") for s in settings.scenarios]
    assert [r.label for r in rules] == ["flaky-uk", "slow-otp"]
    assert rules[0].times == 2
    assert rules[0].effect.api_error is not None
    assert rules[0].effect.api_error.retry_after == 3
    assert rules[1].matches(send(body="your code 123456"))
    assert rules[1].effect.drop_statuses == {"sent"}


def test_cli_and_env_seed_override_the_file(tmp_path: Path) -> None:
    """--seed (and AUGNET_MOCK_SEED) set the RNG seed, the CLI winning over env and file."""
    path = tmp_path / "mock.toml"
    path.write_text(GOOD_TOML)
    assert load_settings(config_path=str(path), env={"AUGNET_MOCK_SEED": "5"}).seed == 5
    assert load_settings(env={"AUGNET_MOCK_SEED": "5"}, cli={"seed": "9"}).seed == 9
    with pytest.raises(ConfigError, match=r"^--seed: "):
        load_settings(cli={"seed": "-1"})


BAD_CONFIGS: list[tuple[str, str, str]] = [
    (
        "unknown effect",
        "[[scenarios]]\neffect = { boom = true }\n",
        "scenarios[0].effect.boom",
    ),
    (
        "bad regex",
        '[[scenarios]]\nmatch = { body = { regex = "(" } }\neffect = { finalStatus = "failed" }\n',
        "scenarios[0].match.body.regex",
    ),
    (
        "probability",
        '[[scenarios]]\neffect = { finalStatus = "failed" }\n'
        '[[scenarios]]\nprobability = 2\neffect = { finalStatus = "failed" }\n',
        "scenarios[1].probability",
    ),
    (
        "negative delay",
        "[[scenarios]]\neffect = { deliveryDelay = -3 }\n",
        "scenarios[0].effect.deliveryDelay",
    ),
    (
        "status",
        "[[scenarios]]\neffect = { apiError = { status = 302 } }\n",
        "scenarios[0].effect.apiError.status",
    ),
    ("missing effect", '[[scenarios]]\nname = "x"\n', "scenarios[0].effect"),
    ("not an array", 'scenarios = "x"\n', "scenarios"),
    ("chaos rate", "[server]\nchaos_api_errors = 1.5\n", "server.chaos_api_errors"),
]


@pytest.mark.parametrize(
    ("text", "key"), [(t, k) for _, t, k in BAD_CONFIGS], ids=[n for n, _, _ in BAD_CONFIGS]
)
def test_bad_rule_in_config_is_a_one_line_error_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    """read_config_file and load_settings raise ConfigError starting with the bad key."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for load in (lambda: read_config_file(path), lambda: load_settings(config_path=str(path))):
        with pytest.raises(ConfigError) as caught:
            load()
        message = str(caught.value)
        assert message.startswith(f"{key}: "), message
        assert "\n" not in message


# -- bounded cost: RE2, the pattern budget, the rule cap ------------------------------


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(a)\\1", "bad regular expression: invalid escape sequence"),
        ("(?<=a)b", "bad regular expression"),
        ("x{1001}", "invalid repetition size"),
        ("(x{30}){40}", "bad regular expression"),  # RE2 caps nested counts at 1,000 too
        (".{200}", "too complex"),  # any character is several UTF-8 byte ranges
        ("\\pL{200}", "too complex"),
        ("x" * 1001, "at most 1000 characters"),
    ],
)
def test_regex_outside_the_budget_is_refused(pattern: str, why: str) -> None:
    """A regex RE2 refuses, or over the size budget, is a FieldError naming the field."""
    with pytest.raises(FieldError) as info:
        parse_rule({"match": {"body": {"regex": pattern}}, "effect": UNDELIVERED})
    assert info.value.field == "match.body.regex"
    assert why in info.value.why


def test_glob_has_the_length_budget_and_exact_does_not() -> None:
    """Globs are capped at 1,000 characters; an exact body of any length is fine."""
    with pytest.raises(FieldError, match=r"^match\.body\.glob: must be at most 1000"):
        parse_rule({"match": {"body": {"glob": "*" * 1001}}, "effect": UNDELIVERED})
    long_body = "x" * 5000
    assert rule({"body": long_body}).matches(send(body=long_body))


def test_backtracking_pattern_matches_like_re() -> None:
    """(a+)+$ keeps its meaning on RE2: it matches a run of a's at the end, and only that."""
    r = rule({"body": {"regex": "(a+)+$"}})
    assert r.matches(send(body="xaaa"))
    assert not r.matches(send(body="a" * 5000 + "!"))  # linear: no 2**5000 steps


def test_user_rule_ids_use_the_safe_alphabet_and_builtins_keep_theirs() -> None:
    """User ids are letters, digits and ._- from a letter or digit; builtin ids stay internal."""
    assert parse_rule({"id": "a.b_c-1", "effect": UNDELIVERED}).id == "a.b_c-1"
    for bad in ["", ".", "..", "a/b", "builtin:+447700900001", "x" * 65]:
        with pytest.raises(FieldError, match=r"^id: must be 1 to 64 letters"):
            parse_rule({"id": bad, "effect": UNDELIVERED})
    assert {r.id for r in builtin_rules()} == {f"builtin:{m.number}" for m in MAGIC_NUMBERS}
    assert [r.id for r in chaos_rules(0.5, 0.5)] == ["chaos:api-error", "chaos:undelivered"]


def test_store_refuses_rules_past_max_rules() -> None:
    """The store holds at most max_rules rules; a duplicate id is still a Conflict first."""
    store = Store(max_rules=2)
    store.add_rule(parse_rule({"id": "a", "effect": UNDELIVERED}))
    store.add_rule(parse_rule({"id": "b", "effect": UNDELIVERED}))
    with pytest.raises(Conflict, match="already exists"):
        store.add_rule(parse_rule({"id": "a", "effect": UNDELIVERED}))
    with pytest.raises(RuleLimitReached, match="limit of 2 rules"):
        store.add_rule(parse_rule({"id": "c", "effect": UNDELIVERED}))
    store.delete_rule("a")
    store.add_rule(parse_rule({"id": "c", "effect": UNDELIVERED}))
