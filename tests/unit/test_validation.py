"""Field rules: each returns the clean value or a FieldError naming the field and why."""

from __future__ import annotations

from typing import Any

import pytest

from augnet_mock.validation import (
    FieldError,
    http_url,
    integer,
    number,
    optional_url,
    phone_number,
    require_string,
    safe_id,
    sender,
    shown,
    string_list,
    type_name,
)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (False, "boolean"),
        (0, "number"),
        (1.5, "number"),
        ("", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_type_name_uses_json_names(value: Any, name: str) -> None:
    """Error messages name JSON types, and a bool is a boolean, not a number."""
    assert type_name(value) == name


def test_field_error_reads_field_then_why() -> None:
    """str(FieldError) is `<field>: <why>` and keeps both parts."""
    err = FieldError("to", "is required")
    assert str(err) == "to: is required"
    assert (err.field, err.why) == ("to", "is required")


@pytest.mark.parametrize("value", [1, True, None, [], {}])
def test_require_string_rejects_other_types(value: Any) -> None:
    """A non-string names the field and the type it got."""
    with pytest.raises(FieldError, match=rf"^x: must be a string, got {type_name(value)}$"):
        require_string("x", value)


@pytest.mark.parametrize("value", ["\ud83d", "a\udc00", "\udfff\ud800"])
def test_require_string_rejects_unpaired_surrogates(value: str) -> None:
    """A string with an unpaired surrogate cannot be stored: FieldError."""
    with pytest.raises(FieldError, match="surrogate"):
        require_string("body", value)


def test_require_string_keeps_astral_characters() -> None:
    """Proper astral characters (emoji) are fine."""
    assert require_string("body", "😀 ok") == "😀 ok"


@pytest.mark.parametrize(
    "value", ["+12345678", "+123456789012345", "+447515650839", "+19999999999"]
)
def test_phone_number_accepts_e164(value: str) -> None:
    """ "+" then 8 to 15 digits, the first not 0."""
    assert phone_number("to", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "447515650839",
        "+1234567",
        "+1234567890123456",
        "+44751565083a",
        "+0447515650839",
        "+44 7515650839",
        "+",
        "",
        "++447515650839",
        "+447515650839\n",
        "+４４７５１５６５０８３９",  # fullwidth digits match \d but not [0-9]
    ],
)
def test_phone_number_rejects_non_e164(value: str) -> None:
    """Anything else is a FieldError naming the field and E.164."""
    with pytest.raises(FieldError, match=r"^to: must be an E\.164 number"):
        phone_number("to", value)


@pytest.mark.parametrize(
    "value", ["ABCTAXI", "ABCDEFGHIJK", "My Shop", "A&B_C-D.E", "123", "+441743581416", "T1"]
)
def test_sender_accepts_ids_codes_and_numbers(value: str) -> None:
    """Alphanumeric IDs up to 11 characters, short codes and numbers are valid senders."""
    assert sender("from", value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ABCDEFGHIJKL", "at most 11 characters (got 12)"),
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("TAXI!", "alphanumeric sender ID"),
        ("12", "alphanumeric sender ID"),  # too short for a short code, and no letter
        ("ÄBC", "alphanumeric sender ID"),
    ],
)
def test_sender_rejects(value: str, why: str) -> None:
    """Senders that are too long, empty or oddly spelled are refused, saying why."""
    with pytest.raises(FieldError, match=r"^from: ") as info:
        sender("from", value)
    assert why in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "http://example.com",
        "https://example.com/hook?x=1#f",
        "http://127.0.0.1:8080/a",
        "http://[::1]:9/x",
        "HTTPS://EXAMPLE.COM/",
    ],
)
def test_http_url_accepts_absolute_http_urls(value: str) -> None:
    """Absolute http and https URLs pass unchanged."""
    assert http_url("statusCallback", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "/relative",
        "example.com/x",
        "ftp://example.com/x",
        "http:///x",
        "https://",
        "http://exa mple.com/",
        "http://example.com/\tx",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://[::1/x",
        "javascript:alert(1)",
        "",
        "http://example.com/" + "a" * 2048,
    ],
)
def test_http_url_rejects(value: str) -> None:
    """Relative, non-http, hostless, spaced or over-long URLs are refused."""
    with pytest.raises(FieldError, match=r"^statusCallback: "):
        http_url("statusCallback", value)


def test_optional_url_allows_null() -> None:
    """null means no URL."""
    assert optional_url("webhookUrl", None) is None
    with pytest.raises(FieldError, match=r"^webhookUrl: must be a string"):
        optional_url("webhookUrl", 5)


def test_number() -> None:
    """Numbers must be finite, at least the minimum, and not booleans."""
    assert number("n", 2) == 2.0
    assert number("n", 0.5, minimum=0.5) == 0.5
    for bad, why in [
        (True, "must be a number, got boolean"),
        ("1", "must be a number, got string"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (-1, "at least 0"),
    ]:
        with pytest.raises(FieldError, match=r"^n: ") as info:
            number("n", bad)
        assert why in str(info.value)


def test_number_bounds_hold_for_integers_too_big_for_a_float() -> None:
    """A maximum is checked before float(), so 10**400 is a FieldError, not OverflowError."""
    assert number("n", 86_400, maximum=86_400) == 86_400.0
    for bad in [10**400, 86_401, 1e300]:
        with pytest.raises(FieldError, match=r"^n: must be between 0 and 86400$"):
            number("n", bad, maximum=86_400)
    with pytest.raises(FieldError, match=r"^n: must be between 0 and 86400$"):
        number("n", -(10**400), maximum=86_400)
    with pytest.raises(FieldError, match=r"^n: must be a finite number: it is too large$"):
        number("n", 10**400)  # no maximum given: still no OverflowError


@pytest.mark.parametrize("value", ["a", "A1", "9", "a.b", "a_b-c", "x" * 64, "326488d2-f853"])
def test_safe_id_accepts_the_alphabet(value: str) -> None:
    """Letters, digits and ._- starting with a letter or digit, 1 to 64 characters."""
    assert safe_id("id", value) == value


@pytest.mark.parametrize(
    "value", ["", ".", "..", ".a", "-a", "_a", "a/b", "a b", "a:b", "é", "a\n", "x" * 65]
)
def test_safe_id_refuses_what_a_path_cannot_carry(value: str) -> None:
    """Anything else, `.` and `..` included, is a FieldError naming the field."""
    with pytest.raises(FieldError, match=r"^id: must be 1 to 64 letters"):
        safe_id("id", value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "'abc'"),
        ("a\nb", "'a\\nb'"),
        (5, "5"),
        (1.5, "1.5"),
        (10**400, "an integer of 1329 bits"),
        ([[[]]], "an array"),
        ({"a": 1}, "an object"),
        (True, "a boolean"),
        (None, "null"),
    ],
)
def test_shown_is_short_and_one_line(value: Any, text: str) -> None:
    """Client input in a message is quoted short, and a nested value only by its type."""
    assert shown(value) == text


def test_shown_cuts_long_strings() -> None:
    """A long string is cut to 40 characters, the last one an ellipsis."""
    assert shown("x" * 100) == "'" + "x" * 38 + "…"


def test_integer() -> None:
    """Integers must be whole, not booleans, and inside the bounds."""
    assert integer("i", 5, minimum=1, maximum=5) == 5
    for bad, why in [
        (1.0, "must be an integer, got number"),
        (False, "got boolean"),
        (0, "between 1 and 5"),
        (6, "between 1 and 5"),
    ]:
        with pytest.raises(FieldError, match=r"^i: ") as info:
            integer("i", bad, minimum=1, maximum=5)
        assert why in str(info.value)
    with pytest.raises(FieldError, match=">= 3"):
        integer("i", 2, minimum=3)


def test_string_list_names_the_bad_item() -> None:
    """A list of strings; a bad item is named by its index."""
    assert string_list("senders", ["a", "b"]) == ["a", "b"]
    with pytest.raises(FieldError, match=r"^senders: must be an array, got string"):
        string_list("senders", "a")
    with pytest.raises(FieldError, match=r"^senders\[1\]: must be a string, got number"):
        string_list("senders", ["a", 2])
