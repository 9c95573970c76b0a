"""Unit and property tests for augnet_mock.segmentation (GSM-7 / UCS-2 choice and splitting)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augnet_mock.segmentation import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_MULTI_PART,
    GSM7_SINGLE_PART,
    UCS2_MULTI_PART,
    UCS2_SINGLE_PART,
    Segmentation,
    is_gsm7,
    segment,
)

# --- Reference data written out independently of the module under test -------------------

# 3GPP TS 23.038 §6.2.1, default alphabet in septet order 0x00..0x7F. Position 0x1B is the
# escape to the extension table, not a character, so it is None here.
GSM_0338_TABLE: tuple[str | None, ...] = (
    *"@£$¥èéùìòÇ\nØø\rÅå",  # 0x00-0x0F
    *"Δ_ΦΓΛΩΠΨΣΘΞ",  # 0x10-0x1A
    None,  # 0x1B ESC
    *"ÆæßÉ",  # 0x1C-0x1F
    *" !\"#¤%&'()*+,-./",  # 0x20-0x2F
    *"0123456789:;<=>?",  # 0x30-0x3F
    *"¡ABCDEFGHIJKLMNO",  # 0x40-0x4F
    *"PQRSTUVWXYZÄÖÑÜ§",  # 0x50-0x5F
    *"¿abcdefghijklmno",  # 0x60-0x6F
    *"pqrstuvwxyzäöñüà",  # 0x70-0x7F
)
# 3GPP TS 23.038 §6.2.1.1, default extension table (each costs ESC + one septet).
GSM_0338_EXTENSION = "\f^{}\\[~]|€"

# Characters used to build bodies.
GSM_BASIC_CHARS = sorted(GSM7_BASIC)
GSM_EXT_CHARS = sorted(GSM7_EXTENSION)
LATIN1_NON_GSM = [
    chr(cp) for cp in range(0xA0, 0x100) if chr(cp) not in GSM7_BASIC | GSM7_EXTENSION
]
EMOJI = [chr(cp) for cp in range(0x1F600, 0x1F650)]  # Emoticons block: astral, 2 UTF-16 units
CJK = [chr(cp) for cp in range(0x4E00, 0x4E00 + 512)]  # CJK Unified Ideographs: BMP, 1 unit

CHAR_CLASSES: dict[str, list[str]] = {
    "gsm_basic": GSM_BASIC_CHARS,
    "gsm_extension": GSM_EXT_CHARS,
    "latin1": LATIN1_NON_GSM,
    "emoji": EMOJI,
    "cjk": CJK,
}


def septets(text: str) -> int:
    """Independent GSM-7 cost: extension characters take an escape septet plus their own."""
    return sum(2 if ch in GSM_0338_EXTENSION else 1 for ch in text)


def utf16_units(text: str) -> int:
    """Independent UCS-2 cost: UTF-16 code units, via the codec rather than ord()."""
    return len(text.encode("utf-16-le")) // 2


def cost_of(encoding: str, text: str) -> int:
    return septets(text) if encoding == "GSM-7" else utf16_units(text)


def limit_for(result: Segmentation) -> int:
    single = result.segments == 1
    if result.encoding == "GSM-7":
        return GSM7_SINGLE_PART if single else GSM7_MULTI_PART
    return UCS2_SINGLE_PART if single else UCS2_MULTI_PART


# --- Strategies --------------------------------------------------------------------------


@st.composite
def bodies(draw: st.DrawFn, max_len: int = 600) -> str:
    """A body drawn from a random non-empty mix of the character classes, of any length."""
    classes = draw(
        st.lists(st.sampled_from(sorted(CHAR_CLASSES)), min_size=1, max_size=5, unique=True)
    )
    alphabet = st.one_of(*(st.sampled_from(CHAR_CLASSES[name]) for name in classes))
    length = draw(st.integers(min_value=0, max_value=max_len))
    return draw(st.text(alphabet=alphabet, min_size=length, max_size=length))


@st.composite
def gsm_bodies(draw: st.DrawFn, max_len: int = 600) -> str:
    """A GSM-7-only body, extension characters included, so the GSM-7 path is well covered."""
    alphabet = st.one_of(st.sampled_from(GSM_BASIC_CHARS), st.sampled_from(GSM_EXT_CHARS))
    length = draw(st.integers(min_value=0, max_value=max_len))
    return draw(st.text(alphabet=alphabet, min_size=length, max_size=length))


any_body = st.one_of(bodies(), gsm_bodies())


# --- Alphabet ----------------------------------------------------------------------------


def test_basic_alphabet_matches_3gpp_table() -> None:
    """GSM7_BASIC is exactly the 127 characters of the TS 23.038 default table (ESC excluded)."""
    expected = {ch for ch in GSM_0338_TABLE if ch is not None}
    assert len(GSM_0338_TABLE) == 128
    assert len(expected) == 127
    assert set(GSM7_BASIC) == expected


def test_extension_table_matches_3gpp_table() -> None:
    """GSM7_EXTENSION is exactly the ten characters of the TS 23.038 extension table."""
    assert set(GSM7_EXTENSION) == set(GSM_0338_EXTENSION)
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_part_size_constants() -> None:
    """Part sizes follow 140 octets per SMS, less a 6-octet concatenation header when split."""
    assert GSM7_SINGLE_PART == 140 * 8 // 7 == 160
    assert GSM7_MULTI_PART == (140 - 6) * 8 // 7 == 153
    assert UCS2_SINGLE_PART == 140 // 2 == 70
    assert UCS2_MULTI_PART == (140 - 6) // 2 == 67


@pytest.mark.parametrize("ch", GSM_BASIC_CHARS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_every_basic_char_is_one_septet(ch: str) -> None:
    """Each default-alphabet character alone is GSM-7 and costs one septet."""
    assert is_gsm7(ch)
    assert segment(ch) == Segmentation("GSM-7", (ch,), (1,))


@pytest.mark.parametrize("ch", GSM_EXT_CHARS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_every_extension_char_is_two_septets(ch: str) -> None:
    """Each extension-table character alone is GSM-7 and costs two septets (ESC + code)."""
    assert is_gsm7(ch)
    assert segment(ch) == Segmentation("GSM-7", (ch,), (2,))


def test_whole_gsm_alphabet_in_one_body() -> None:
    """All basic plus all extension characters together fit one GSM-7 part of 147 septets."""
    body = "".join(GSM_BASIC_CHARS) + "".join(GSM_EXT_CHARS)
    result = segment(body)
    assert result.encoding == "GSM-7"
    assert result.units == (127 + 2 * 10,)


def test_latin1_char_outside_gsm_forces_ucs2() -> None:
    """A Latin-1 character missing from GSM 03.38 ('â') switches the whole body to UCS-2."""
    assert not is_gsm7("â")
    result = segment("hello â")
    assert result.encoding == "UCS-2"
    assert result.units == (7,)


def test_escape_control_char_forces_ucs2() -> None:
    """A literal U+001B is not a GSM character (0x1B is the escape septet), so it needs UCS-2."""
    assert not is_gsm7("\x1b")
    assert segment("a\x1b(").encoding == "UCS-2"


def test_extension_char_costs_one_unit_in_ucs2() -> None:
    """In a UCS-2 body an extension character is one UTF-16 unit, not an escape pair."""
    assert segment("€{あ").units == (3,)


def test_empty_body() -> None:
    """An empty body is one empty GSM-7 part of zero septets."""
    result = segment("")
    assert result == Segmentation("GSM-7", ("",), (0,))
    assert result.segments == 1
    assert result.total_units == 0


# --- GSM-7 boundaries --------------------------------------------------------------------


def test_gsm7_160_septets_is_one_part() -> None:
    """160 GSM-7 septets fit in a single part."""
    result = segment("a" * 160)
    assert result.encoding == "GSM-7"
    assert result.units == (160,)


def test_gsm7_161_septets_is_two_parts() -> None:
    """161 GSM-7 septets split into 153 + 8."""
    result = segment("a" * 161)
    assert result.units == (153, 8)
    assert result.parts == ("a" * 153, "a" * 8)


def test_gsm7_two_full_parts() -> None:
    """153 * 2 septets are exactly two full parts."""
    assert segment("a" * 306).units == (153, 153)


def test_gsm7_one_septet_past_two_parts() -> None:
    """153 * 2 + 1 septets need a third part holding one septet."""
    assert segment("a" * 307).units == (153, 153, 1)


def test_gsm7_400_chars_is_three_segments() -> None:
    """A 400-character GSM-7 body is billed as three segments of 153, 153 and 94."""
    result = segment("x" * 400)
    assert result.segments == 3
    assert result.units == (153, 153, 94)


def test_extension_char_filling_single_part_exactly() -> None:
    """158 septets plus one extension character make exactly 160 and stay one part."""
    assert segment("a" * 158 + "€").units == (160,)


def test_extension_char_tipping_into_multi_part() -> None:
    """159 septets plus one extension character make 161 and split into 153 + 8."""
    result = segment("a" * 159 + "€")
    assert result.units == (153, 8)
    assert result.parts[1] == "a" * 6 + "€"


def test_extension_char_straddling_boundary_moves_whole() -> None:
    """An extension character at septets 153-154 moves whole to the next part."""
    result = segment("a" * 152 + "€" + "b" * 10)
    assert result.parts == ("a" * 152, "€" + "b" * 10)
    assert result.units == (152, 12)


def test_all_extension_body_never_splits_an_escape() -> None:
    """81 extension characters (162 septets) split 76 + 5 characters, never mid-escape."""
    result = segment("€" * 81)
    assert result.parts == ("€" * 76, "€" * 5)
    assert result.units == (152, 10)


# --- UCS-2 boundaries --------------------------------------------------------------------


def test_ucs2_70_units_is_one_part() -> None:
    """70 UCS-2 units fit in a single part."""
    result = segment("あ" * 70)
    assert result.encoding == "UCS-2"
    assert result.units == (70,)


def test_ucs2_71_units_is_two_parts() -> None:
    """71 UCS-2 units split into 67 + 4."""
    assert segment("あ" * 71).units == (67, 4)


def test_ucs2_two_full_parts_and_one_more() -> None:
    """67 * 2 UCS-2 units are two parts; one more unit makes a third."""
    assert segment("漢" * 134).units == (67, 67)
    assert segment("漢" * 135).units == (67, 67, 1)


def test_emoji_counts_two_units() -> None:
    """An astral emoji is a surrogate pair: two UTF-16 code units."""
    assert segment("😀").units == (2,)
    assert segment("あ" * 68 + "😀").units == (70,)
    assert segment("あ" * 69 + "😀").units == (67, 4)


def test_emoji_straddling_67_boundary_moves_whole() -> None:
    """An emoji whose surrogate pair would occupy units 67-68 moves whole to the next part."""
    result = segment("あ" * 66 + "😀" + "い" * 10)
    assert result.parts == ("あ" * 66, "😀" + "い" * 10)
    assert result.units == (66, 12)


# --- Properties --------------------------------------------------------------------------


@given(any_body)
def test_parts_join_back_to_body(body: str) -> None:
    """Concatenating the parts gives back the original body."""
    assert "".join(segment(body).parts) == body


@given(any_body)
def test_parts_respect_encoding_limit(body: str) -> None:
    """Every part fits its limit: 160/70 when single, 153/67 when the body is split."""
    result = segment(body)
    limit = limit_for(result)
    assert all(u <= limit for u in result.units)


@given(any_body)
def test_units_match_independent_count(body: str) -> None:
    """Reported units equal septets / UTF-16 units recomputed by the test for each part."""
    result = segment(body)
    assert result.units == tuple(cost_of(result.encoding, part) for part in result.parts)
    assert result.total_units == cost_of(result.encoding, body)


@given(any_body)
def test_encoding_choice(body: str) -> None:
    """GSM-7 exactly when every character is in the default or extension table."""
    gsm = all(ch in GSM_0338_TABLE or ch in GSM_0338_EXTENSION for ch in body)
    assert segment(body).encoding == ("GSM-7" if gsm else "UCS-2")


@given(any_body)
def test_segments_equals_number_of_parts(body: str) -> None:
    """segments is the number of parts, and there is one unit count per part."""
    result = segment(body)
    assert result.segments == len(result.parts) == len(result.units)


@given(any_body)
def test_no_empty_part_for_non_empty_body(body: str) -> None:
    """A non-empty body never produces an empty part."""
    result = segment(body)
    if body:
        assert all(result.parts)


@given(any_body)
def test_single_part_exactly_when_body_fits(body: str) -> None:
    """The body is one part exactly when its total cost fits the single-part limit."""
    result = segment(body)
    single = GSM7_SINGLE_PART if result.encoding == "GSM-7" else UCS2_SINGLE_PART
    assert (result.segments == 1) == (cost_of(result.encoding, body) <= single)


@given(any_body)
def test_non_final_parts_are_full(body: str) -> None:
    """In a split body each part but the last is full: the next character would overflow it."""
    result = segment(body)
    if result.segments == 1:
        return
    limit = limit_for(result)
    for units, following in zip(result.units[:-1], result.parts[1:], strict=True):
        assert units + cost_of(result.encoding, following[0]) > limit
