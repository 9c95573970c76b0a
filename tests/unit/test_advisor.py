"""The encoding advisor: culprits, their replacements, and the parts saved.

The parts counted after replacement are cross-checked against Twilio's npm
`sms-segments-calculator` (tests/calculator), the same independent calculator that
checks augnet_mock.segmentation.
"""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from test_segmentation_calculator import GSM_BASIC, GSM_EXT, _run_calculator

from augnet_mock.advisor import REPLACEMENTS, advice_json, advise, culprits, replace_culprits
from augnet_mock.segmentation import is_gsm7, segment

REPLACEABLE = sorted(REPLACEMENTS)
UNREPLACEABLE = ["あ", "😀", "ł", "Ж", "→"]


def test_gsm7_body_has_no_advice() -> None:
    """A body that is GSM-7 already gets no advice at all."""
    assert advise("Your code is 1234 {ok} €") is None
    assert advice_json("plain", "GSM-7") is None


def test_the_customary_replacements() -> None:
    """’ ‘ → ', “ ” → ", – — → -, … → ..., NBSP → space."""
    assert replace_culprits("‘don’t’ “say” a–b—c wait… a\u00a0b") == (
        "'don't' \"say\" a-b-c wait... a b"
    )


def test_culprits_name_each_distinct_character_once_with_its_first_position() -> None:
    """Each distinct culprit appears once, with its code point, first position and count."""
    found = culprits("It’s Zoë’s – ok あ")
    assert [(c.char, c.code_point, c.position, c.count) for c in found] == [
        ("’", "U+2019", 2, 2),
        ("ë", "U+00EB", 7, 1),
        ("–", "U+2013", 11, 1),
        ("あ", "U+3042", 16, 1),
    ]
    assert found[0].name == "RIGHT SINGLE QUOTATION MARK"
    assert [c.replacement for c in found] == ["'", "e", "-", None]


def test_positions_count_code_points_not_utf16_units() -> None:
    """An astral character before a culprit counts as one position, as Python and JS
    Array.from see it."""
    found = culprits("😀’")
    assert [(c.char, c.position) for c in found] == [("😀", 0), ("’", 1)]


def test_summary_reads_parts_before_and_after() -> None:
    """One curly apostrophe in a 100-character text: 2 parts -> 1 part with 1 replacement."""
    body = "a" * 99 + "’"
    advice = advise(body)
    assert advice is not None
    assert advice.segments == 2
    assert advice.fixed_segments == 1
    assert advice.fixed_encoding == "GSM-7"
    assert advice.summary == "2 parts \u2192 1 part with 1 replacement"
    three = advise("“" + "a" * 150 + "”")
    assert three is not None
    assert three.summary == "3 parts \u2192 1 part with 2 replacements"


def test_unreplaceable_culprit_leaves_ucs2() -> None:
    """A character with no stand-in keeps the fixed body in UCS-2, and says so."""
    advice = advise("Dziękuję’")
    assert advice is not None
    assert advice.fixed_encoding == "UCS-2"
    assert advice.fixed_body == "Dziękuję'"
    assert [c.char for c in advice.culprits if c.replacement is None] == ["ę"]
    assert advice.to_json()["culprits"][0]["codePoint"] == "U+0119"


def test_every_replacement_is_gsm7() -> None:
    """Each stand-in in the table is itself GSM-7, so a fully replaceable body becomes GSM-7."""
    for original, replacement in REPLACEMENTS.items():
        assert not is_gsm7(original), original
        assert is_gsm7(replacement), (original, replacement)


gsm_text = st.text(alphabet=st.sampled_from(GSM_BASIC + GSM_EXT), max_size=400)
mixed_text = st.text(
    alphabet=st.sampled_from(GSM_BASIC + GSM_EXT + REPLACEABLE + UNREPLACEABLE), max_size=400
)


@given(gsm_text, st.lists(st.tuples(st.integers(0, 400), st.sampled_from(REPLACEABLE))))
def test_replaceable_culprits_always_reach_gsm7(base: str, inserts: list[tuple[int, str]]) -> None:
    """A GSM body with replaceable culprits anywhere becomes GSM-7, in the parts advised."""
    chars = list(base)
    for where, ch in inserts:
        chars.insert(min(where, len(chars)), ch)
    body = "".join(chars)
    advice = advise(body)
    if not inserts:
        assert advice is None
        return
    assert advice is not None
    assert advice.fixed_encoding == "GSM-7"
    assert advice.fixed_segments == segment(advice.fixed_body).segments
    assert advice.replacements == len(inserts)
    assert {c.char for c in advice.culprits} == {ch for _, ch in inserts}


@given(mixed_text)
def test_advice_agrees_with_segmentation(body: str) -> None:
    """Advice exists exactly for UCS-2 bodies; its counts are segmentation's, before and after."""
    advice = advise(body)
    seg = segment(body)
    assert (advice is None) == (seg.encoding == "GSM-7")
    if advice is not None:
        assert advice.segments == seg.segments
        assert segment(advice.fixed_body).segments == advice.fixed_segments
        assert all(body[c.position] == c.char for c in advice.culprits)
        assert not any(c.char in body[: c.position] for c in advice.culprits)


def _culprit_corpus() -> list[str]:
    rng = random.Random(23_038)
    bodies = []
    for _ in range(600):
        length = rng.choice((60, 69, 70, 71, 140, 159, 160, 161, 300, 460, 700))
        chars = rng.choices(GSM_BASIC + GSM_EXT, k=length)
        for _ in range(rng.randint(1, 6)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(REPLACEABLE))
        if rng.random() < 0.2:
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(UNREPLACEABLE[:4]))
        bodies.append("".join(chars))
    return bodies


def test_advised_parts_match_the_independent_calculator() -> None:
    """What the advisor says a fixed body needs is what Twilio's calculator counts for it."""
    corpus = _culprit_corpus()
    advices = [advise(body) for body in corpus]
    assert all(a is not None for a in advices)
    fixed = [a.fixed_body for a in advices if a is not None]
    theirs = _run_calculator(fixed)
    mismatches = [
        (a.fixed_body[:40], a.fixed_encoding, a.fixed_segments, t)
        for a, t in zip([a for a in advices if a is not None], theirs, strict=True)
        if (a.fixed_encoding, a.fixed_segments) != (t["encoding"], t["segments"])
    ]
    assert not mismatches, mismatches[:5]
    # The corpus is worth something: many fixes save parts, some reach GSM-7 from 2+ parts.
    saved = [a for a in advices if a is not None and a.fixed_segments < a.segments]
    assert len(saved) > 100
