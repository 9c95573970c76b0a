"""Regression tests for the fault probe's defects in rules and input bounds (1, 6, 7, 11, 13):
scenario regexes with a bounded cost, bounds on every number, config errors that are one
line and exit 2, a cap on rules, and ids that can be addressed. Each test names its defect
and fails on the code before the fix. Hypothesis covers the config loader and the rule
parser: only their own error types may escape.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augnet_mock.config import ENV_PREFIX, OPTIONS, ConfigError, load_settings, read_config_file
from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from augnet_mock.scenarios import (
    CALLBACK_FAULTS,
    EFFECT_KEYS,
    MATCH_FIELDS,
    MATCH_KINDS,
    RULE_KEYS,
    Rule,
    parse_rule,
)
from augnet_mock.server import LiveServer
from augnet_mock.validation import FieldError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUTH = (DEFAULT_PROJECT_ID, DEFAULT_API_KEY)
TO = "+447515650839"
HUGE = 10**400  # a valid JSON and TOML integer that float() cannot hold
# Generous: what is checked is that an answer comes at all, where the old code took
# minutes (each extra "a" doubled the backtracking) and held every other request.
ANSWER_TIMEOUT = 10.0
CLI_TIMEOUT = 30.0  # a subprocess that starts serving instead of refusing is killed

MakeServer = Callable[..., LiveServer]


def rule_for(project: dict[str, Any], **rule: Any) -> dict[str, Any]:
    """A rule that only the given project's sends can trigger (the server is shared)."""
    match = {"project": project["projectId"], **rule.pop("match", {})}
    return {"match": match, **rule}


def error_message(response: httpx2.Response) -> str:
    body = response.json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"], body
    message: str = body["message"]
    return message


# -- defect 1: a scenario regex could freeze the whole server ----------------------------


def test_backtracking_regex_cannot_stall_a_send(make_server: MakeServer) -> None:
    """defect 1: a rule with (a+)+$ lets a send of "aaa…a!" answer at once, and health too."""
    # A server of its own: on the old engine this send held its event loop for minutes.
    live = make_server()
    with httpx2.Client(base_url=live.url, trust_env=False, timeout=ANSWER_TIMEOUT) as http:
        rule = {"match": {"body": {"regex": "(a+)+$"}}, "effect": {"sendDelay": 0}}
        assert http.post("/_mock/scenarios", json=rule).status_code == 201
        body = "a" * 30 + "!"  # the old engine needed about 2**30 steps to give up on this
        sent = http.post("/api/v2/message", auth=DEFAULT_AUTH, json={"to": TO, "body": body})
        assert sent.status_code == 200, sent.text
        assert http.get("/_mock/health").status_code == 200
        # And the rule still matches what it should.
        hit = http.post("/api/v2/message", auth=DEFAULT_AUTH, json={"to": TO, "body": "aaa"})
        scenario = http.get(f"/_mock/messages/{hit.json()['sid']}").json()["scenario"]
        assert scenario is not None


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(a)\\1", "backreferences"),  # RE2 has none: refused up front, not at match time
        ("(?=a)b", "lookaround"),
        ("(" * 500 + "a" + ")" * 500, "at most 1000 characters"),  # was a RecursionError
        ("x{1001}", "repetition"),
        (".{999}", "too complex"),  # valid RE2, but a program of ~8,000 instructions
    ],
)
def test_pathological_regex_is_refused_naming_the_field(
    client: httpx2.Client, project: dict[str, Any], pattern: str, why: str
) -> None:
    """defect 1: a regex RE2 cannot run or that is over budget is a 400 naming match.body.regex."""
    before = client.get("/_mock/scenarios").json()["scenarios"]
    rule = rule_for(project, match={"body": {"regex": pattern}}, effect={"sendDelay": 0})
    response = client.post("/_mock/scenarios", json=rule)
    assert response.status_code == 400, response.text
    message = error_message(response)
    assert message.startswith("match.body.regex: "), message
    assert why in message
    assert client.get("/_mock/scenarios").json()["scenarios"] == before


def test_huge_repetition_count_is_not_a_server_error(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """defect 1: a{4294967296} (an OverflowError before) is answered without a 5xx."""
    rule = rule_for(project, match={"body": {"regex": "a{4294967296}"}}, effect={"sendDelay": 0})
    response = client.post("/_mock/scenarios", json=rule)
    # RE2 reads a count it cannot hold as literal text, as Python's re reads "a{x}".
    assert response.status_code == 201, response.text
    assert response.json()["match"]["body"] == {"regex": "a{4294967296}"}


# -- defect 6: huge numbers in the control API were 500s ---------------------------------

EFFECT_NUMBERS = [
    ({"effect": {"sendDelay": HUGE}}, "effect.sendDelay"),
    ({"effect": {"deliveryDelay": HUGE}}, "effect.deliveryDelay"),
    ({"effect": {"latency": HUGE}}, "effect.latency"),
    ({"effect": {"latency": {"min": 0, "max": HUGE}}}, "effect.latency.max"),
    ({"effect": {"latency": {"min": -HUGE}}}, "effect.latency.min"),
    ({"effect": {"sendDelay": 86_401}}, "effect.sendDelay"),
    ({"effect": {"latency": 61}}, "effect.latency"),
    ({"effect": {"apiError": {"status": HUGE}}}, "effect.apiError.status"),
    ({"effect": {"apiError": {"retryAfter": HUGE}}}, "effect.apiError.retryAfter"),
    ({"effect": {"sendDelay": 0}, "probability": HUGE}, "probability"),
    ({"effect": {"sendDelay": 0}, "probability": 1e308}, "probability"),
    ({"effect": {"sendDelay": 0}, "times": HUGE}, "times"),
]


def post_raw(client: httpx2.Client, path: str, payload: dict[str, Any]) -> httpx2.Response:
    # json.dumps writes the 401-digit integer as the literal a client would send.
    return client.post(
        path, content=json.dumps(payload), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(("payload", "field"), EFFECT_NUMBERS, ids=[f for _, f in EFFECT_NUMBERS])
def test_huge_rule_number_is_400_and_the_connection_survives(
    client: httpx2.Client, project: dict[str, Any], payload: dict[str, Any], field: str
) -> None:
    """defect 6: an out-of-range rule number is a 400 naming it; the pooled connection stays."""
    response = post_raw(client, "/_mock/scenarios", rule_for(project, **payload))
    assert response.status_code == 400, response.text
    assert error_message(response).startswith(f"{field}: must be ")
    # A 500 used to close the keep-alive connection, failing the client's next request.
    assert client.get("/_mock/health").status_code == 200


@pytest.mark.parametrize("field", ["sendDelay", "deliveryDelay"])
def test_huge_project_delay_is_400(client: httpx2.Client, field: str) -> None:
    """defect 6: a project sendDelay/deliveryDelay of 10**400 is a 400 naming the field."""
    response = post_raw(client, "/_mock/projects", {field: HUGE})
    assert response.status_code == 400, response.text
    assert error_message(response) == f"{field}: must be between 0 and 86400"
    assert client.get("/_mock/health").status_code == 200


@pytest.mark.parametrize("seconds", [HUGE, 1e300, -HUGE])
def test_huge_clock_advance_is_400(make_server: MakeServer, seconds: float) -> None:
    """defect 6: clock seconds beyond the span a timestamp can show are a 400 naming seconds."""
    live = make_server(clock="manual")
    with httpx2.Client(base_url=live.url, trust_env=False) as http:
        before = http.get("/_mock/clock").json()
        response = post_raw(http, "/_mock/clock/advance", {"seconds": seconds})
        assert response.status_code == 400, response.text
        assert error_message(response).startswith("seconds: must be between 0 and ")
        assert http.get("/_mock/clock").json() == before


# -- defect 7: config files that ended in a traceback ------------------------------------

BAD_CONFIGS = {
    "huge integer": ("[server]\nsend_delay = " + "9" * 400 + "\n", "server.send_delay"),
    "huge project delay": (
        "[[projects]]\nsendDelay = " + "9" * 400 + "\n",
        "projects[0].sendDelay",
    ),
    "huge latency": (
        "[[scenarios]]\neffect = { latency = " + "9" * 400 + " }\n",
        "scenarios[0].effect.latency",
    ),
    "huge probability": (
        "[[scenarios]]\nprobability = " + "9" * 400 + "\neffect = { sendDelay = 1 }\n",
        "scenarios[0].probability",
    ),
    "deep nesting": ("[server]\nport = " + "[" * 5000 + "]" * 5000 + "\n", "config"),
    "bad regex": (
        '[[scenarios]]\nmatch = { body = { regex = "(a)\\\\1" } }\neffect = { sendDelay = 1 }\n',
        "scenarios[0].match.body.regex",
    ),
    "NUL in host": ('[server]\nhost = "a\\u0000b"\n', "server.host"),
    "newline in a key": ('[server]\n"a\\nb" = 1\n', "server.a\\nb"),
    "duplicate scenario ids": (
        '[[scenarios]]\nid = "x"\neffect = { sendDelay = 1 }\n'
        '[[scenarios]]\nid = "x"\neffect = { sendDelay = 2 }\n',
        "scenarios[1].id",
    ),
    "too many rules": (
        "[server]\nmax_rules = 1\n" + "[[scenarios]]\neffect = { sendDelay = 1 }\n" * 2,
        "scenarios",
    ),
}


def serve(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env["PYTHONPATH"] = str(REPO)  # the source tree, not an older installed copy
    return subprocess.run(
        [sys.executable, "-m", "augnet_mock", "serve", "--config", str(config), "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(("toml", "key"), BAD_CONFIGS.values(), ids=list(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line(tmp_path: Path, toml: str, key: str) -> None:
    """defect 7: `serve` with a bad config exits 2 with one stderr line naming the key."""
    config = tmp_path / "mock.toml"
    config.write_text(toml, encoding="utf-8")
    done = serve(config)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"augnet-mock: config error: {key}"), lines[0]
    assert "Traceback" not in done.stderr


def test_duplicate_config_scenario_ids_name_both_indexes(tmp_path: Path) -> None:
    """defect 7: two config scenarios with one id are refused, naming both indexes."""
    config = tmp_path / "mock.toml"
    config.write_text(BAD_CONFIGS["duplicate scenario ids"][0], encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_config_file(config)
    assert str(info.value) == "scenarios[1].id: duplicate 'x', as scenarios[0].id"


def test_duplicate_api_scenario_id_is_409_and_delete_removes_one(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """defect 7: a second rule with a taken id is a 409; deleting the id leaves no rule behind."""
    rule = rule_for(project, id=f"dup-{project['projectId']}", effect={"sendDelay": 0})
    assert client.post("/_mock/scenarios", json=rule).status_code == 201
    again = client.post("/_mock/scenarios", json=rule)
    assert again.status_code == 409, again.text
    assert client.delete(f"/_mock/scenarios/{rule['id']}").status_code == 204
    assert client.delete(f"/_mock/scenarios/{rule['id']}").status_code == 404


# -- defect 11: no limit on the number of rules ------------------------------------------


def test_rules_past_max_rules_are_refused(make_server: MakeServer) -> None:
    """defect 11: past max_rules a new rule is a 409 naming the limit and how to raise it."""
    live = make_server(max_rules=2)
    with httpx2.Client(base_url=live.url, trust_env=False) as http:
        for i in range(2):
            made = http.post("/_mock/scenarios", json={"effect": {"sendDelay": i}})
            assert made.status_code == 201, made.text
        refused = http.post("/_mock/scenarios", json={"effect": {"sendDelay": 9}})
        assert refused.status_code == 409, refused.text
        message = error_message(refused)
        assert "limit of 2 rules" in message
        assert "--max-rules" in message
        assert "AUGNET_MOCK_MAX_RULES" in message
        assert len(http.get("/_mock/scenarios").json()["scenarios"]) == 2
        # Deleting one makes room again.
        http.delete("/_mock/scenarios")
        assert http.post("/_mock/scenarios", json={"effect": {"sendDelay": 1}}).status_code == 201


def test_config_rules_count_towards_max_rules(make_server: MakeServer) -> None:
    """defect 11: rules from the config file take their share of max_rules."""
    live = make_server(max_rules=2, scenarios=({"effect": {"sendDelay": 1}},))
    with httpx2.Client(base_url=live.url, trust_env=False) as http:
        assert http.post("/_mock/scenarios", json={"effect": {"sendDelay": 2}}).status_code == 201
        assert http.post("/_mock/scenarios", json={"effect": {"sendDelay": 3}}).status_code == 409


def test_max_rules_option_from_every_source(tmp_path: Path) -> None:
    """defect 11: max_rules is read from the file, the environment and the flag; 1000 by default."""
    config = tmp_path / "mock.toml"
    config.write_text("[server]\nmax_rules = 5\n", encoding="utf-8")
    assert load_settings().max_rules == 1000
    assert load_settings(config_path=str(config)).max_rules == 5
    assert load_settings(config_path=str(config), env={"AUGNET_MOCK_MAX_RULES": "6"}).max_rules == 6
    assert load_settings(env={"AUGNET_MOCK_MAX_RULES": "6"}, cli={"max_rules": "7"}).max_rules == 7


# -- defect 13: ids that were accepted but could not be addressed ------------------------


@pytest.mark.parametrize("project_id", [".", "..", "-x", ".hidden", "a/b", "a b", "é"])
def test_unaddressable_project_id_is_refused(client: httpx2.Client, project_id: str) -> None:
    """defect 13: a project id outside the safe alphabet (e.g. "..") is a 400 naming projectId."""
    response = client.post("/_mock/projects", json={"projectId": project_id})
    assert response.status_code == 400, response.text
    assert error_message(response).startswith("projectId: must be 1 to 64 letters")


@pytest.mark.parametrize("rule_id", ["a/b", "a%2Fb", ".", "..", "builtin:x", "a?b", ""])
def test_unaddressable_scenario_id_is_refused(
    client: httpx2.Client, project: dict[str, Any], rule_id: str
) -> None:
    """defect 13: a scenario id outside the safe alphabet (e.g. "a/b") is a 400 naming id."""
    response = client.post(
        "/_mock/scenarios", json=rule_for(project, id=rule_id, effect={"sendDelay": 0})
    )
    assert response.status_code == 400, response.text
    assert error_message(response).startswith("id: must be 1 to 64 letters")


def test_every_safe_id_can_be_deleted_by_its_path(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    """defect 13: project and scenario ids with '.', '_' and '-' are addressable in the path."""
    suffix = project["projectId"][:8]
    project_id = f"a.b_c-{suffix}"
    assert client.post("/_mock/projects", json={"projectId": project_id}).status_code == 201
    assert client.get(f"/_mock/projects/{project_id}").status_code == 200
    assert client.delete(f"/_mock/projects/{project_id}").status_code == 204
    rule_id = f"r.1_x-{suffix}"
    made = client.post(
        "/_mock/scenarios", json=rule_for(project, id=rule_id, effect={"sendDelay": 0})
    )
    assert made.status_code == 201, made.text
    assert client.delete(f"/_mock/scenarios/{rule_id}").status_code == 204


def test_builtin_rules_keep_their_internal_ids(client: httpx2.Client) -> None:
    """defect 13: magic numbers still fire and are recorded as builtin:<number>."""
    sent = client.post(
        "/api/v2/message", auth=DEFAULT_AUTH, json={"to": "+447700900400", "body": "hi"}
    )
    assert sent.status_code == 400
    newest = {"projectId": DEFAULT_PROJECT_ID, "order": "newest", "limit": 1}
    rejected = client.get("/_mock/requests", params=newest).json()
    assert rejected["requests"][0]["scenario"] == "builtin:+447700900400"


# -- hypothesis: only the loader's and the parser's own errors escape --------------------

SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.sampled_from([HUGE, -HUGE, 2**64, 0, 1, -1, 65536, 86_401]),
    st.floats(),  # nan and inf included
    st.text(max_size=30),
    st.sampled_from(
        ["real", "manual", "127.0.0.1", "::1", "a\x00b", "(a+)+$", "*", "+447700900001"]
    ),
)
KNOWN_KEYS = [o.name for o in OPTIONS] + list(RULE_KEYS) + list(EFFECT_KEYS) + list(MATCH_FIELDS)
KNOWN_KEYS += list(MATCH_KINDS) + list(CALLBACK_FAULTS) + ["projectId", "sendDelay", "min", "max"]
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=8))


def tree(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
        max_leaves=12,
    )


TOML_LEAVES = st.one_of(SCALARS.filter(lambda v: not _has_surrogate(v)), st.datetimes(), st.dates())
CONFIG_DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "server": st.dictionaries(
            st.sampled_from([o.name for o in OPTIONS]) | KEYS, tree(TOML_LEAVES), max_size=4
        ),
        "projects": st.lists(st.dictionaries(KEYS, tree(TOML_LEAVES), max_size=5), max_size=3),
        "scenarios": st.lists(st.dictionaries(KEYS, tree(TOML_LEAVES), max_size=5), max_size=3),
    },
)


def config_error(load: Callable[[], object]) -> str:
    """The ConfigError's message, or "" if it loads; any other exception fails the test."""
    try:
        load()
    except ConfigError as exc:
        return str(exc)
    return ""


def _has_surrogate(value: Any) -> bool:
    return isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=CONFIG_DOCUMENTS)
def test_config_file_raises_only_config_error(
    tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any]
) -> None:
    """Any TOML document loads or raises ConfigError with one line, never another exception."""
    path = tmp_path_factory.mktemp("cfg") / "mock.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    assert "\n" not in config_error(lambda: load_settings(config_path=str(path)))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=string.printable + "[]{}=\"'\x00é", max_size=200))
def test_config_text_raises_only_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Arbitrary text as a config file loads or raises ConfigError, never another exception."""
    path = tmp_path_factory.mktemp("cfg") / "mock.toml"
    path.write_text(text, encoding="utf-8")
    assert "\n" not in config_error(lambda: read_config_file(path))


@settings(max_examples=300, deadline=None)
@given(
    env=st.dictionaries(
        st.sampled_from([o.env for o in OPTIONS]),
        st.text(
            alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
            max_size=60,
        )
        | st.integers().map(str)
        | st.sampled_from(["9" * 5000, "1e999", "-0", "nan", " 5", "0x10", "1_0"]),
        max_size=4,
    )
)
def test_environment_raises_only_config_error(env: dict[str, str]) -> None:
    """Any AUGNET_MOCK_* values load or raise ConfigError with one line, never another exception."""
    assert "\n" not in config_error(lambda: load_settings(env=env))


JSON_LEAVES = st.one_of(st.none(), SCALARS)
# Numbers at and past every bound, weighted up: most rule fields are numbers.
NUMBERS = st.one_of(
    st.sampled_from([HUGE, -HUGE, 2**64, 1e308, -1e308, 86_401, 61, 600, 1.5, 0.5, 0, -1]),
    st.integers(),
    st.floats(),
)
VALUES = st.one_of(NUMBERS, tree(JSON_LEAVES))
PATTERNS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["(a+)+$", "(a)\\1", "(?=x)", "a{4294967296}", "(" * 600, ".{999}", "\\Z"]),
)
MATCHERS = st.one_of(
    st.text(max_size=10),
    st.dictionaries(st.sampled_from(MATCH_KINDS), PATTERNS | tree(JSON_LEAVES), max_size=2),
    tree(JSON_LEAVES),
)
EFFECTS = st.fixed_dictionaries(
    {},
    optional={
        **{key: VALUES for key in EFFECT_KEYS},
        "latency": NUMBERS | st.fixed_dictionaries({}, optional={"min": NUMBERS, "max": NUMBERS}),
        "apiError": st.fixed_dictionaries(
            {}, optional={"status": NUMBERS, "retryAfter": NUMBERS, "message": VALUES}
        ),
        "callback": st.dictionaries(st.sampled_from(CALLBACK_FAULTS), VALUES, max_size=3),
    },
)
RULE_SHAPES = st.one_of(
    tree(JSON_LEAVES),
    st.fixed_dictionaries(
        {"effect": EFFECTS},
        optional={
            "id": VALUES,
            "name": VALUES,
            "times": NUMBERS,
            "probability": NUMBERS,
            "match": st.dictionaries(st.sampled_from(MATCH_FIELDS), MATCHERS, max_size=3),
        },
    ),
)


@settings(max_examples=500, deadline=None)
@given(value=RULE_SHAPES)
def test_rule_parser_raises_only_field_error(value: Any) -> None:
    """Any JSON value parses to a rule or raises FieldError, never another exception."""
    try:
        rule = parse_rule(value)
    except FieldError:
        return
    assert isinstance(rule, Rule)
    json.dumps(rule.to_json())  # and what it echoes back can be rendered
