"""Unknown send fields: the closest known field, warnings and the strict refusal."""

from __future__ import annotations

import pytest

from augnet_mock.strictness import MAX_REPORTED, closest, refusal, unknown_fields

KNOWN = ("to", "body", "from", "statusCallback")


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("statusCallBack", "statusCallback"),
        ("statusCalback", "statusCallback"),
        ("status_callback", "statusCallback"),
        ("callback_url", "statusCallback"),
        ("callbackUrl", "statusCallback"),
        ("From", "from"),
        ("TO", "to"),
        ("Body", "body"),
        ("text", "body"),
        ("sender", "from"),
        ("recipient", "to"),
        ("priority", None),
        ("x", None),
    ],
)
def test_closest_known_field(name: str, meant: str | None) -> None:
    """Typos, other casings and other APIs' names map to the field meant; the rest to None."""
    assert closest(name, KNOWN) == meant


def test_warnings_name_the_field_and_the_suggestion() -> None:
    """Each unknown field gives one warning line naming it and the closest known field."""
    unknown = unknown_fields({"to": "+1", "statusCallBack": "u", "priority": 1}, KNOWN)
    assert unknown.warnings() == [
        'unknown field "statusCallBack" ignored; did you mean "statusCallback"?',
        'unknown field "priority" ignored',
    ]


def test_known_fields_only_is_falsy() -> None:
    """A body with known fields only has nothing to report."""
    assert not unknown_fields({"to": "+1", "body": "x"}, KNOWN)


def test_refusal_names_the_first_field_and_counts_the_rest() -> None:
    """The strict 400 names the field, the suggestion and how many more there were."""
    unknown = unknown_fields({"From": "A", "callback_url": "u"}, KNOWN)
    message = refusal(unknown)
    assert message.startswith('From: unknown field; did you mean "from"? (and 1 more unknown)')


def test_many_unknown_fields_are_summarised() -> None:
    """Past MAX_REPORTED fields the rest are counted, not named (each costs a difflib run)."""
    unknown = unknown_fields({f"k{i}": i for i in range(50)}, KNOWN)
    lines = unknown.warnings()
    assert len(lines) == MAX_REPORTED + 1
    assert lines[-1] == f"...and {50 - MAX_REPORTED} more unknown fields ignored"


def test_field_names_are_escaped_for_a_header() -> None:
    """A field name with a newline or non-Latin text becomes one line of ASCII."""
    (line,) = unknown_fields({"a\nb€": 1}, KNOWN).warnings()
    assert "\n" not in line
    assert line.isascii()
    line.encode("latin-1")
