"""The encoding advisor: which characters forced UCS-2, and what fixing them saves.

Pure functions, no I/O. One character outside the GSM 03.38 alphabet (a curly
apostrophe pasted from a word processor, a non-breaking space) switches the whole
message to UCS-2, where a part holds 70 units instead of 160: a 100-character
message goes from 1 part to 2. `advise` names each such character (its code
point and first position, in code points), the customary GSM-7 replacement when
there is one, and how many parts the message needs once they are replaced.

Only UCS-2 bodies have anything to advise, so GSM-7 ones cost nothing here; the
mock runs it when a record is rendered, never on the send path.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from .segmentation import GSM7_ALL, Encoding, segment

# Customary GSM-7 stand-ins for characters that word processors, phones and CMSs put
# into text. The core comes from what carriers' "smart encoding" does (e.g. Twilio's
# Smart Encoding table, as shipped in the npm sms-segments-calculator the tests use),
# kept to the replacements a reader would not notice; the rest are seen in practice
# in templates copied from web pages and spreadsheets.
REPLACEMENTS: dict[str, str] = {
    # Quotes: typographic and prime marks, guillemets, the backtick (not in GSM 03.38).
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (the apostrophe of "don’t")
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2032": "'",  # ′ prime
    "\u00b4": "'",  # ´ acute accent
    "\u0060": "'",  # ` grave accent / backtick
    "\u02bc": "'",  # ʼ modifier letter apostrophe
    "\uff07": "'",  # ＇ fullwidth apostrophe
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u00ab": '"',  # « left guillemet
    "\u00bb": '"',  # » right guillemet
    "\uff02": '"',  # ＂ fullwidth quotation mark
    # Dashes and minus signs.
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u2212": "-",  # − minus sign
    "\uff0d": "-",  # － fullwidth hyphen-minus
    # Spaces: no-break, thin, figure, ideographic and the rest of the U+2000 block.
    "\u00a0": " ",  # NBSP
    "\u2000": " ",
    "\u2001": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2004": " ",
    "\u2005": " ",
    "\u2006": " ",
    "\u2007": " ",
    "\u2008": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",  # narrow no-break space (French before : ; ! ?)
    "\u205f": " ",
    "\u3000": " ",
    # Invisible characters: they only cost, so the fix drops them.
    "\u200b": "",  # zero-width space
    "\u2060": "",  # word joiner
    "\ufeff": "",  # byte-order mark / zero-width no-break space
    "\u00ad": "",  # soft hyphen
    # Punctuation and symbols.
    "\u2026": "...",  # … horizontal ellipsis
    "\u2022": "*",  # • bullet
    "\u00b7": ".",  # · middle dot
    "\u2024": ".",  # ․ one dot leader
    "\u2039": "<",  # ‹
    "\u203a": ">",  # ›
    "\u2044": "/",  # ⁄ fraction slash
    "\u00f7": "/",  # ÷
    "\u00d7": "x",  # ×
    "\u00bc": "1/4",
    "\u00bd": "1/2",
    "\u00be": "3/4",
    "\u2122": "TM",  # ™
    "\u00a9": "(C)",  # ©
    "\u00ae": "(R)",  # ®
    "\u02c6": "^",  # ˆ modifier circumflex (^ itself is in the extension table)
    "\u02dc": "~",  # ˜ small tilde
    "\uff01": "!",
    "\uff1f": "?",
    "\uff0c": ",",
    "\uff0e": ".",
    "\uff1a": ":",
    "\uff1b": ";",
    # Accented Latin letters GSM 03.38 lacks, where dropping the accent keeps the word
    # readable (the alphabet has é è ù ì ò à, Ç, and the umlauts and ñ).
    "\u00e1": "a",  # á
    "\u00e2": "a",  # â
    "\u00e3": "a",  # ã
    "\u00c1": "A",
    "\u00c0": "A",
    "\u00c2": "A",
    "\u00c3": "A",
    "\u00ea": "e",  # ê
    "\u00eb": "e",  # ë
    "\u00c8": "E",
    "\u00ca": "E",
    "\u00cb": "E",
    "\u00ed": "i",  # í
    "\u00ee": "i",  # î
    "\u00ef": "i",  # ï
    "\u00cd": "I",
    "\u00cc": "I",
    "\u00ce": "I",
    "\u00cf": "I",
    "\u00f3": "o",  # ó
    "\u00f4": "o",  # ô
    "\u00f5": "o",  # õ
    "\u00d3": "O",
    "\u00d2": "O",
    "\u00d4": "O",
    "\u00d5": "O",
    "\u00fa": "u",  # ú
    "\u00fb": "u",  # û
    "\u00da": "U",
    "\u00d9": "U",
    "\u00db": "U",
    "\u00e7": "\u00c7",  # ç -> Ç: GSM 03.38 has only the capital (position 0x09)
    "\u00fd": "y",
    "\u00ff": "y",
    "\u00dd": "Y",
}

# Every replacement must itself be GSM-7, or the advice could never reach GSM-7.
assert all(GSM7_ALL.issuperset(r) for r in REPLACEMENTS.values())


@dataclass(frozen=True, slots=True)
class Culprit:
    """One distinct character that forced UCS-2."""

    char: str
    position: int  # first position in the body, in code points (0-based)
    count: int  # how many times it occurs
    replacement: str | None  # the customary GSM-7 stand-in, or None when there is none

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.char):04X}"

    @property
    def name(self) -> str:
        return unicodedata.name(self.char, "")

    def to_json(self) -> dict[str, Any]:
        return {
            "char": self.char,
            "codePoint": self.code_point,
            "name": self.name,
            "position": self.position,
            "count": self.count,
            "replacement": self.replacement,
        }

    def describe(self) -> str:
        """`’ (U+2019 RIGHT SINGLE QUOTATION MARK) at 12, 2 times -> '`"""
        label = f"{self.char!r} ({self.code_point}{' ' + self.name if self.name else ''})"
        times = f", {self.count} times" if self.count > 1 else ""
        fix = "no GSM-7 replacement" if self.replacement is None else f"-> {self.replacement!r}"
        return f"{label} at {self.position}{times} {fix}"


@dataclass(frozen=True, slots=True)
class Advice:
    """What forced UCS-2 in one body, and the body with the customary replacements."""

    segments: int  # parts as it is
    culprits: tuple[Culprit, ...]
    fixed_body: str  # every culprit with a replacement replaced
    fixed_encoding: Encoding
    fixed_segments: int

    @property
    def replacements(self) -> int:
        """Characters replaced (each occurrence counts)."""
        return sum(c.count for c in self.culprits if c.replacement is not None)

    @property
    def summary(self) -> str:
        """`3 parts -> 1 part with 2 replacements`, as the inbox and CLI show it."""
        return (
            f"{_parts(self.segments)} \u2192 {_parts(self.fixed_segments)} "
            f"with {self.replacements} replacement{'' if self.replacements == 1 else 's'}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "culprits": [c.to_json() for c in self.culprits],
            "replacements": self.replacements,
            "fixedBody": self.fixed_body,
            "fixedEncoding": self.fixed_encoding,
            "fixedSegments": self.fixed_segments,
            "summary": self.summary,
        }


def _parts(n: int) -> str:
    return f"{n} part{'' if n == 1 else 's'}"


def culprits(body: str) -> tuple[Culprit, ...]:
    """Each distinct non-GSM-7 character, in order of first appearance."""
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    for index, ch in enumerate(body):
        if ch in GSM7_ALL:
            continue
        if ch not in first:
            first[ch] = index
            counts[ch] = 0
        counts[ch] += 1
    return tuple(Culprit(ch, first[ch], counts[ch], REPLACEMENTS.get(ch)) for ch in first)


def replace_culprits(body: str) -> str:
    """`body` with every character that has a customary replacement replaced."""
    return "".join(REPLACEMENTS.get(ch, ch) if ch not in GSM7_ALL else ch for ch in body)


def advise(body: str) -> Advice | None:
    """The advice for a body, or None when it is GSM-7 already (nothing to advise)."""
    found = culprits(body)
    if not found:
        return None
    fixed = replace_culprits(body)
    after = segment(fixed)
    return Advice(
        segments=segment(body).segments,
        culprits=found,
        fixed_body=fixed,
        fixed_encoding=after.encoding,
        fixed_segments=after.segments,
    )


def advice_json(body: str, encoding: str) -> dict[str, Any] | None:
    """The record's `advice` field: computed for UCS-2 bodies only, so GSM-7 pays nothing."""
    if encoding != "UCS-2":
        return None
    advice = advise(body)
    return None if advice is None else advice.to_json()


def fit_problem(
    body: str, *, encoding: str | None = None, max_segments: int | None = None
) -> str | None:
    """Why `body` does not fit (the wanted encoding, at most `max_segments` parts), naming
    each culprit and its position and the fix; None when it fits. The text of
    `assert_fits` and of `assert_sent(encoding=..., max_segments=...)`."""
    seg = segment(body)
    problems = []
    if encoding is not None and seg.encoding != encoding:
        problems.append(f"is {seg.encoding}, not {encoding}")
    if max_segments is not None and seg.segments > max_segments:
        problems.append(f"needs {_parts(seg.segments)} ({seg.encoding}), over {max_segments}")
    if not problems:
        return None
    lines = [f"the body {' and '.join(problems)}"]
    advice = advise(body)
    if advice is not None:
        lines.append("characters that forced UCS-2 (position in code points):")
        lines += [f"  {c.describe()}" for c in advice.culprits]
        lines.append(
            f"with the replacements: {advice.summary} ({advice.fixed_encoding}): "
            f"{advice.fixed_body!r}"
        )
    return "\n".join(lines)


def describe_split(body: str) -> str:
    """The split as the inbox shows it: encoding, each part, the culprits and the fix."""
    seg = segment(body)
    unit = "septets" if seg.encoding == "GSM-7" else "UTF-16 units"
    lines = [f"{seg.encoding}, {_parts(seg.segments)}, {seg.total_units} {unit}"]
    for i, (part, units) in enumerate(zip(seg.parts, seg.units, strict=True), 1):
        lines.append(f"part {i} ({units} {unit}): {part!r}")
    advice = advise(body)
    if advice is not None:
        lines.append("characters that forced UCS-2 (position in code points):")
        lines += [f"  {c.describe()}" for c in advice.culprits]
        lines.append(f"fix: {advice.summary} ({advice.fixed_encoding})")
        lines.append(f"fixed text: {advice.fixed_body!r}")
    return "\n".join(lines)
