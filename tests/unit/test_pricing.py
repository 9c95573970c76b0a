"""The price table: longest prefix, per encoding, per part; and its parsing."""

from __future__ import annotations

import pytest

from augnet_mock.pricing import DEFAULT_PRICE_TABLE, DEFAULT_PRICES, Usage, parse_prices
from augnet_mock.validation import FieldError


def test_longest_prefix_wins_then_star() -> None:
    """+4477 beats +44, which beats *; a number no prefix names pays the * price."""
    table = parse_prices("prices", {"*": 0.05, "+44": 0.04, "+4477": 0.03})
    assert table.per_part("+447700900123", "GSM-7") == 0.03
    assert table.per_part("+441743581416", "GSM-7") == 0.04
    assert table.per_part("+33612345678", "GSM-7") == 0.05


def test_price_per_encoding_and_parts() -> None:
    """A price may differ by encoding; a message costs parts times the per-part price."""
    table = parse_prices("prices", {"+48": {"GSM-7": 0.03, "UCS-2": 0.05}})
    assert table.price("+48600100200", "GSM-7", 3) == 0.09
    assert table.price("+48600100200", "UCS-2", 3) == 0.15
    assert table.price("+33612345678", "GSM-7", 3) == 0.0  # no prefix and no "*": free


def test_default_table_is_the_documented_one() -> None:
    """The default table is DEFAULT_PRICES, and writes back as given."""
    assert DEFAULT_PRICE_TABLE.to_json() == DEFAULT_PRICES
    assert DEFAULT_PRICE_TABLE.price("+447515650839", "UCS-2", 2) == 0.08


def test_json_text_from_a_flag_or_the_environment() -> None:
    """A flag or environment variable gives the table as JSON text."""
    table = parse_prices("--prices", '{"*": 1, "+1": {"GSM-7": 0.5, "UCS-2": 0.7}}')
    assert table.to_json() == {"*": 1.0, "+1": {"GSM-7": 0.5, "UCS-2": 0.7}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "prices: must be an object of prefix -> price, got array"),
        ("{", "prices: must be a JSON object of prices"),
        ({"44": 1}, 'prices.44: a prefix must be "*" or "+" then 1 to 15 digits'),
        ({"+44": -1}, "prices.+44: must be between 0 and 1000"),
        ({"+44": "1"}, "prices.+44: must be a number, got string"),
        ({"+44": {"GSM-7": 1}}, "prices.+44.UCS-2: is required"),
        ({"+44": {"GSM7": 1}}, "prices.+44.GSM7: unknown encoding"),
    ],
)
def test_bad_tables_name_the_key(raw: object, message: str) -> None:
    """Each mistake is a FieldError naming the exact key."""
    with pytest.raises(FieldError) as exc:
        parse_prices("prices", raw)
    assert str(exc.value).startswith(message)


def test_usage_sums_without_float_noise() -> None:
    """Costs add up to the rounded sum: 0.1 + 0.2 shows as 0.3."""
    usage = Usage()
    usage.add(1, 0.1)
    usage.add(2, 0.2)
    usage.add(1, None)
    assert usage.to_json() == {"messages": 3, "parts": 4, "cost": 0.3}
