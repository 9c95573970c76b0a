"""augnet_mock.client.scenarios: rules as a test writes them, and the magic numbers."""

from __future__ import annotations

import re

import pytest

from augnet_mock.client.scenarios import MagicNumbers, scenario_rule


def test_rule_is_scoped_to_the_project_and_camel_cased() -> None:
    """Matches, options and snake_case effect keywords become the JSON rule."""
    rule = scenario_rule(
        "p-1",
        None,
        like=None,
        matches={"to": re.compile(r"\+4477.*"), "from": {"glob": "AB*"}, "body": None},
        options={"times": 2, "probability": None, "name": "slow"},
        effect={"final_status": "undelivered", "error_code": "30003"},
    )
    assert rule == {
        "match": {"to": {"regex": r"\+4477.*"}, "from": {"glob": "AB*"}, "project": "p-1"},
        "effect": {"finalStatus": "undelivered", "errorCode": "30003"},
        "times": 2,
        "name": "slow",
    }


def test_like_adds_a_magic_outcome_to_a_spec() -> None:
    """`like` merges the named number's effect into a whole rule, project forced."""
    spec = {"match": {"project": "someone-else", "body": "x"}, "effect": {"latency": 0.1}}
    rule = scenario_rule("p-1", spec, like="undelivered", matches={}, options={}, effect={})
    assert rule["match"] == {"project": "p-1", "body": "x"}
    assert rule["effect"]["latency"] == 0.1
    assert rule["effect"]["finalStatus"] == "undelivered"


def test_unknown_magic_outcome() -> None:
    """An unknown outcome name lists the known ones."""
    assert MagicNumbers.names()["rate_limited"] == "+447700900429"
    with pytest.raises(ValueError, match="unknown magic outcome 'nope'; expected one of"):
        MagicNumbers.effect("nope")
