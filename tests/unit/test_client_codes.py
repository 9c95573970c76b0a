"""augnet_mock.client.codes: the one-time code in a message body."""

from __future__ import annotations

import pytest

from augnet_mock.client.codes import find_code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("Your code is 482913", "482913"),
        ("Your verification code: X7K9Q2. It expires in 10 minutes.", "X7K9Q2"),
        ("Your code expires soon: 123-456", "123456"),
        ("Your taxi ABC123 arrives at 12:30", None),
        ("Your code is ready", None),
    ],
)
def test_built_in_rules(body: str, code: str | None) -> None:
    """Keyword codes, standalone digits and grouped digits; times and words are not codes."""
    assert find_code(body) == code


def test_pattern_replaces_the_rules() -> None:
    """A pattern's first group (or whole match) is the code; no match is None."""
    assert find_code("ref AB-77 code 1234", r"ref (\w+-\d+)") == "AB-77"
    assert find_code("ref AB-77", r"AB-\d+") == "AB-77"
    assert find_code("nothing here", r"ref (\d+)") is None
