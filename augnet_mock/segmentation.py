"""SMS segmentation: pick GSM-7 or UCS-2 and split a body into billable parts.

Pure functions, no I/O. The rules follow 3GPP TS 23.038 (the GSM 7-bit default
alphabet and its extension table) and TS 23.040 (concatenated SMS, whose 6-octet
user-data header leaves 153 septets or 67 UCS-2 units per part).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE_PART = 160  # septets, 3GPP TS 23.040 §9.2.3.24 (140 octets * 8 / 7)
GSM7_MULTI_PART = 153  # septets once the 6-octet concatenation UDH takes its 7 septets
UCS2_SINGLE_PART = 70  # UTF-16 code units, 140 octets / 2
UCS2_MULTI_PART = 67  # UTF-16 code units once the UDH takes 6 octets (rounded to whole units)
DEFAULT_MAX_SEGMENTS = 10

# 3GPP TS 23.038 §6.2.1: the GSM 7-bit default alphabet, in septet order (the SMPP codec
# maps septets through it). Septet 0x1B is not a character but the escape to the
# extension table, so it stands here as U+001B and is left out of GSM7_BASIC: sending it
# as a bare ESC would make the handset read the next septet from the extension table.
GSM7_ESCAPE = 0x1B
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_BASIC = frozenset(GSM7_TABLE) - {"\x1b"}
# 3GPP TS 23.038 §6.2.1.1: the default extension table, reached by ESC (two septets each),
# by the septet that follows the escape.
GSM7_EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
GSM7_EXTENSION = frozenset(GSM7_EXTENSION_TABLE.values())
GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


@dataclass(frozen=True, slots=True)
class Segmentation:
    """How one body is encoded and split. `units` counts septets or UTF-16 units per part."""

    encoding: Encoding
    parts: tuple[str, ...]
    units: tuple[int, ...]

    @property
    def segments(self) -> int:
        return len(self.parts)

    @property
    def total_units(self) -> int:
        return sum(self.units)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 default alphabet or its extension."""
    return GSM7_ALL.issuperset(text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _ucs2_cost(ch: str) -> int:
    # Characters outside the BMP take a surrogate pair: two UTF-16 code units.
    return 2 if ord(ch) > 0xFFFF else 1


def segment(body: str) -> Segmentation:
    """Encode and split `body` the way a handset network would bill it.

    Splitting works on whole Python characters (code points), so an escape pair
    (one extension character) or a surrogate pair (one astral character) is
    never cut in two: a character that does not fit moves to the next part.
    """
    if is_gsm7(body):
        encoding: Encoding = "GSM-7"
        cost, single, multi = _gsm7_cost, GSM7_SINGLE_PART, GSM7_MULTI_PART
    else:
        encoding = "UCS-2"
        cost, single, multi = _ucs2_cost, UCS2_SINGLE_PART, UCS2_MULTI_PART

    # Counted with C-level string methods: this runs on every send and every render.
    if encoding == "GSM-7":
        total = len(body)
        if not GSM7_EXTENSION.isdisjoint(body):  # most bodies have none: skip the count
            total += sum(body.count(ch) for ch in GSM7_EXTENSION)
    else:
        total = len(body.encode("utf-16-le", "surrogatepass")) // 2
    if total <= single:
        return Segmentation(encoding, (body,), (total,))

    parts: list[str] = []
    units: list[int] = []
    start, used = 0, 0
    for index, ch in enumerate(body):
        c = cost(ch)
        if used + c > multi:
            parts.append(body[start:index])
            units.append(used)
            start, used = index, 0
        used += c
    parts.append(body[start:])
    units.append(used)
    return Segmentation(encoding, tuple(parts), tuple(units))
