"""Cross-check augnet_mock.segmentation against Twilio's npm `sms-segments-calculator`.

The calculator lives in tests/calculator (exact version pinned in package.json and
package-lock.json); tests/calculator/count.js reads a JSON array of bodies on stdin and
prints [{"encoding": "GSM-7" | "UCS-2", "segments": n}, ...]. Node runs once for the corpus.

The calculator splits on grapheme clusters, so the corpus leaves out combining marks, ZWJ
sequences, emoji modifiers and regional-indicator flags; every generated character is its
own cluster (CR LF is a cluster, but the calculator splits it back into two characters).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from augnet_mock.segmentation import GSM7_BASIC, GSM7_EXTENSION, segment

CALCULATOR_DIR = Path(__file__).resolve().parents[1] / "calculator"
COUNT_JS = CALCULATOR_DIR / "count.js"
PACKAGE_DIR = CALCULATOR_DIR / "node_modules" / "sms-segments-calculator"

SEED = 23_038
N_BODIES = 2_400
MAX_LEN = 700
NODE_TIMEOUT_S = 60

GSM_BASIC = sorted(GSM7_BASIC)
GSM_EXT = sorted(GSM7_EXTENSION)
LATIN1 = [chr(cp) for cp in range(0xA1, 0x100) if chr(cp) not in GSM7_BASIC]
EMOJI = [chr(cp) for cp in range(0x1F600, 0x1F650)]  # Emoticons: no modifiers, no ZWJ
CJK = [chr(cp) for cp in range(0x4E00, 0x9FA6)]  # CJK Unified Ideographs (BMP)
CLASSES = {"basic": GSM_BASIC, "ext": GSM_EXT, "latin1": LATIN1, "emoji": EMOJI, "cjk": CJK}

# Relative character-class weights per body profile.
PROFILES: dict[str, dict[str, int]] = {
    "gsm": {"basic": 1},
    "gsm_ext": {"basic": 8, "ext": 2},
    "ext_heavy": {"basic": 1, "ext": 3},
    "latin1": {"basic": 6, "latin1": 2},
    "emoji": {"basic": 4, "emoji": 1},
    "emoji_heavy": {"cjk": 1, "emoji": 3},
    "cjk": {"cjk": 4, "basic": 1},
    "mix": {"basic": 5, "ext": 1, "latin1": 1, "emoji": 1, "cjk": 1},
}
# Character counts around the single/multi-part boundaries of both encodings.
BOUNDARY_LENGTHS = (67, 70, 71, 134, 135, 153, 160, 161, 201, 306, 307, 459, 460, 612, 613)
# Hand-picked bodies checked alongside the random corpus.
EDGE_BODIES = [
    "",
    "\x1b",  # a bare ESC control character is not a GSM character
    "a\x1b(b",
    "line\r\nbreak\rand\nmore",
    "a" * 160,
    "a" * 161,
    "a" * 158 + "€",
    "a" * 159 + "€",
    "a" * 152 + "€" + "b" * 10,
    "€" * 80,
    "€" * 81,
    "あ" * 70,
    "あ" * 71,
    "あ" * 68 + "😀",
    "あ" * 69 + "😀",
    "あ" * 66 + "😀" + "い" * 10,
    "😀" * 35,
    "😀" * 36,
    "hello â",
]


def _random_body(rng: random.Random) -> str:
    weights = PROFILES[rng.choice(sorted(PROFILES))]
    if rng.random() < 0.4:
        length = rng.choice(BOUNDARY_LENGTHS) + rng.randint(-3, 3)
    else:
        length = rng.randint(1, MAX_LEN)
    kinds = rng.choices(list(weights), weights=list(weights.values()), k=length)
    chars = [rng.choice(CLASSES[kind]) for kind in kinds]
    if rng.random() < 0.1:
        # A long GSM body with a single intruder anywhere must flip entirely to UCS-2.
        chars[rng.randrange(length)] = rng.choice(LATIN1 + EMOJI + CJK[:50])
    return "".join(chars)


def _corpus() -> list[str]:
    rng = random.Random(SEED)
    return EDGE_BODIES + [_random_body(rng) for _ in range(N_BODIES)]


def _run_calculator(bodies: list[str]) -> list[dict[str, Any]]:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; install Node.js to run the calculator cross-check")
    if not PACKAGE_DIR.is_dir():
        pytest.fail(
            "sms-segments-calculator is not installed; run `npm ci --prefix tests/calculator`"
        )
    proc = subprocess.run(
        ["node", str(COUNT_JS)],
        input=json.dumps(bodies),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"count.js exited with {proc.returncode}:\n{proc.stderr}")
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return _corpus()


@pytest.fixture(scope="module")
def calculator_results(corpus: list[str]) -> list[dict[str, Any]]:
    return _run_calculator(corpus)


def test_installed_calculator_is_the_pinned_version() -> None:
    """The installed calculator is the exact version pinned in tests/calculator/package.json."""
    if not PACKAGE_DIR.is_dir():
        pytest.fail(
            "sms-segments-calculator is not installed; run `npm ci --prefix tests/calculator`"
        )
    pinned = json.loads((CALCULATOR_DIR / "package.json").read_text(encoding="utf-8"))
    installed = json.loads((PACKAGE_DIR / "package.json").read_text(encoding="utf-8"))
    assert pinned["dependencies"]["sms-segments-calculator"] == installed["version"]


def test_corpus_is_deterministic_and_varied(corpus: list[str]) -> None:
    """The seeded corpus is reproducible and covers both encodings, single and multi-part."""
    assert corpus == _corpus()
    assert len(corpus) >= 2_000
    results = [segment(body) for body in corpus]
    for encoding in ("GSM-7", "UCS-2"):
        counts = {r.segments for r in results if r.encoding == encoding}
        assert {1, 2, 3} <= counts, (encoding, sorted(counts))
    assert any(r.encoding == "GSM-7" and r.segments >= 5 for r in results)
    assert any(r.encoding == "UCS-2" and r.segments >= 10 for r in results)


def test_encoding_and_segments_match_calculator(
    corpus: list[str], calculator_results: list[dict[str, Any]]
) -> None:
    """For every body our encoding and segment count equal Twilio's calculator."""
    assert len(calculator_results) == len(corpus)
    mismatches = []
    for index, (body, theirs) in enumerate(zip(corpus, calculator_results, strict=True)):
        ours = segment(body)
        if (ours.encoding, ours.segments) != (theirs["encoding"], theirs["segments"]):
            mismatches.append(
                f"#{index} len={len(body)} ours=({ours.encoding}, {ours.segments}, "
                f"units={list(ours.units)}) calculator=({theirs['encoding']}, "
                f"{theirs['segments']}) body={body[:60]!r}..."
            )
    assert not mismatches, f"{len(mismatches)} mismatches, first ones:\n" + "\n".join(
        mismatches[:5]
    )
