"""Scenario rules as a test writes them, and the built-in magic numbers (SPEC §2.2).

`scenario_rule` turns the handle's keywords into the JSON body of
`POST /_mock/scenarios`; `MagicNumbers` names the numbers with a fixed outcome.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..scenarios import MAGIC_NUMBERS

Match = str | re.Pattern[str] | Mapping[str, str]


class MagicNumbers:
    """Built-in numbers with a fixed outcome, for every project (SPEC §2.2).

    They are in Ofcom's drama range, which no real phone has.
    `GET /_mock/scenarios/builtin` lists them with their effects.
    """

    undelivered = "+447700900001"  # undelivered, errorCode 30003
    unknown_destination = "+447700900002"  # undelivered, errorCode 30005
    failed = "+447700900003"  # failed, errorCode 30008
    invalid_number = "+447700900400"  # 400 from the API
    rate_limited = "+447700900429"  # 429 with Retry-After: 1
    server_error = "+447700900500"  # 500 from the API
    unavailable = "+447700900503"  # 503 with Retry-After: 5
    slow_api = "+447700900901"  # the API answers after 2 s
    slow_delivery = "+447700900902"  # delivered 30 s after sent
    dropped_connection = "+447700900903"  # the socket closes with no answer
    never_acknowledged = "+447700900904"  # every callback attempt counts as failed

    @classmethod
    def names(cls) -> dict[str, str]:
        """Outcome name -> number."""
        return {k: v for k, v in vars(cls).items() if isinstance(v, str) and v.startswith("+")}

    @classmethod
    def effect(cls, name: str) -> dict[str, Any]:
        """The scenario effect behind a named number, to apply it to any send."""
        number = cls.names().get(name)
        if number is None:
            known = ", ".join(cls.names())
            raise ValueError(f"unknown magic outcome {name!r}; expected one of {known}")
        for magic in MAGIC_NUMBERS:
            if magic.number == number:
                return dict(magic.effect)
        raise ValueError(f"{name!r} ({number}) is not in the server's magic-number table")


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(word.title() for word in rest)


def _matcher(value: Match) -> Any:
    if isinstance(value, re.Pattern):
        return {"regex": value.pattern}
    return value if isinstance(value, str) else dict(value)


def scenario_rule(
    project_id: str,
    spec: Mapping[str, Any] | None,
    *,
    like: str | None,
    matches: Mapping[str, Match | None],
    options: Mapping[str, Any],
    effect: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON rule for `POST /_mock/scenarios`, limited to `project_id`'s sends.

    `spec` is a whole rule in its JSON form; `like` a magic outcome whose effect is
    added; `matches` the to/from/body matchers (a string is exact, a compiled regex a
    regex, a mapping e.g. {"glob": ...}); `options` times/probability/name; `effect`
    keywords in snake_case (`final_status=...`), sent in camelCase.
    """
    rule: dict[str, Any] = dict(spec or {})
    match = dict(rule.get("match", {}))
    for key, value in matches.items():
        if value is not None:
            match[key] = _matcher(value)
    match["project"] = project_id
    rule["match"] = match
    rule_effect = dict(rule.get("effect", {}))
    if like is not None:
        rule_effect |= MagicNumbers.effect(like)
    rule_effect |= {_camel(k): v for k, v in effect.items()}
    rule["effect"] = rule_effect
    rule |= {k: v for k, v in options.items() if v is not None}
    return rule
