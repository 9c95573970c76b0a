"""The price table: what one part costs, by destination prefix and encoding.

Pure and immutable. The longest prefix of `to` that the table names wins, `*`
matching every number. A message costs its parts times that per-part price, so a
curly apostrophe that doubles the parts doubles the cost. The server has a table
(`prices`), and a project may bring its own, which then replaces the server's for
that project.

Augnet publishes no price list: the default table is illustrative, documented in
the README, and meant to be replaced by the prices in one's own contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .validation import FieldError, number, shown, type_name

ENCODINGS = ("GSM-7", "UCS-2")
ANY = "*"
PREFIX = re.compile(r"\+[0-9]{1,15}")  # E.164 at most 15 digits, so no longer prefix matters
MAX_PRICE = 1_000.0  # per part: past any real tariff, so a typo (a cent as 100) stands out
MAX_ENTRIES = 10_000  # more prefixes than the numbering plans of every country together
COST_DIGITS = 6  # costs are rounded to micro-units: float sums would show 0.30000000000000004

# Illustrative, per part (README, "Cost ledger"): a flat rate, and the two prefixes of the
# provider's own examples (UK numbers) and of North America.
DEFAULT_PRICES: dict[str, float] = {ANY: 0.05, "+44": 0.04, "+1": 0.01}


@dataclass(frozen=True, slots=True)
class PriceTable:
    entries: dict[str, tuple[float, float]]  # prefix -> (GSM-7, UCS-2) per part

    def per_part(self, to: str, encoding: str) -> float:
        """The per-part price for `to`: the longest matching prefix, else `*`, else 0."""
        column = 1 if encoding == "UCS-2" else 0
        for end in range(min(len(to), 16), 1, -1):
            entry = self.entries.get(to[:end])
            if entry is not None:
                return entry[column]
        entry = self.entries.get(ANY)
        return 0.0 if entry is None else entry[column]

    def price(self, to: str, encoding: str, segments: int) -> float:
        return round(self.per_part(to, encoding) * segments, COST_DIGITS)

    def to_json(self) -> dict[str, Any]:
        """The table as it is written: a number where both encodings cost the same."""
        return {
            prefix: gsm if gsm == ucs else {"GSM-7": gsm, "UCS-2": ucs}
            for prefix, (gsm, ucs) in self.entries.items()
        }


def _price(field: str, raw: Any) -> float:
    return number(field, raw, maximum=MAX_PRICE)


def parse_prices(field: str, raw: Any) -> PriceTable:
    """A table from its JSON/TOML form (or JSON text, from a flag or the environment):
    `{"*": 0.05, "+44": 0.04, "+48": {"GSM-7": 0.03, "UCS-2": 0.05}}`."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise FieldError(field, f"must be a JSON object of prices (got {shown(raw)})") from exc
    if not isinstance(raw, dict):
        raise FieldError(field, f"must be an object of prefix -> price, got {type_name(raw)}")
    if len(raw) > MAX_ENTRIES:
        raise FieldError(field, f"must have at most {MAX_ENTRIES} prefixes")
    entries: dict[str, tuple[float, float]] = {}
    for prefix, value in raw.items():
        key = f"{field}.{prefix}"
        if prefix != ANY and not PREFIX.fullmatch(prefix):
            raise FieldError(
                key, f'a prefix must be "*" or "+" then 1 to 15 digits (got {shown(prefix)})'
            )
        if isinstance(value, dict):
            for name in value:
                if name not in ENCODINGS:
                    raise FieldError(f"{key}.{name}", "unknown encoding; expected GSM-7 or UCS-2")
            missing = [name for name in ENCODINGS if name not in value]
            if missing:
                raise FieldError(f"{key}.{missing[0]}", "is required")
            entries[prefix] = (
                _price(f"{key}.GSM-7", value["GSM-7"]),
                _price(f"{key}.UCS-2", value["UCS-2"]),
            )
        else:
            one = _price(key, value)
            entries[prefix] = (one, one)
    return PriceTable(entries)


DEFAULT_PRICE_TABLE = parse_prices("prices", DEFAULT_PRICES)


@dataclass(slots=True)
class Usage:
    """Messages, parts and cost summed over some records."""

    messages: int = 0
    parts: int = 0
    cost: float = 0.0

    def add(self, parts: int, price: float | None) -> None:
        self.messages += 1
        self.parts += parts
        self.cost += price or 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "parts": self.parts,
            "cost": round(self.cost, COST_DIGITS),
        }
