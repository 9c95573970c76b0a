"""The judging parts of bench/reliability.py, the harness that shows the hardening issue's
defects fixed: if these miscount, its PASS says nothing. The harness itself runs by hand
(`make reliability`); these run in the suite, with no server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `bench` is not installed

from bench.reliability import (
    CALLBACK_ATTEMPTS,
    StreamTally,
    abandoned_in_log,
    defect_rows,
    settled_pairs,
    suite_table,
)


def frame(event_id: int, kind: str = "status", data: Any = None) -> bytes:
    payload = json.dumps(data if data is not None else {"sid": "x"})
    return f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n".encode()


def test_skipped_ids_on_an_unfiltered_stream_count_as_lost_and_unannounced() -> None:
    """Events 3 and 4 missing from a whole stream are lost, and unannounced without a frame."""
    tally = StreamTally(reading=True, project=None)
    stream = b": connected\n\n" + frame(1) + frame(2) + frame(5)
    for i in range(0, len(stream), 7):  # frames split across reads
        tally.feed(stream[i : i + 7])
    assert tally.connected
    assert tally.events["status"] == 3
    assert (tally.lost, tally.unannounced) == (2, 2)


def test_a_missed_frame_announces_the_loss() -> None:
    """`event: missed` with {"missed": 2} covers a gap of two events."""
    tally = StreamTally(reading=False, project=None)
    tally.feed(frame(1) + b'event: missed\ndata: {"missed": 2}\n\n' + frame(4))
    assert (tally.lost, tally.missed_frames, tally.unannounced) == (2, 1, 0)


def test_a_filtered_stream_never_counts_other_projects_ids_as_lost() -> None:
    """On a projectId stream the ids of other projects' events are skipped, not lost."""
    tally = StreamTally(reading=True, project="p1")
    tally.feed(frame(1) + frame(9) + frame(30))
    assert tally.lost == 0


def test_settled_means_delivered_failed_for_good_abandoned_or_dropped() -> None:
    """Only the last try of a failing callback settles it; abandoned and dropped ones do too."""

    def attempt(sid: str, attempt: int, ok: bool, error: str | None = None) -> dict[str, Any]:
        return {"sid": sid, "status": "sent", "attempt": attempt, "ok": ok, "error": error}

    attempts = [
        attempt("delivered", 1, True),
        attempt("retrying", 1, False, "ReadTimeout"),
        attempt("failed", CALLBACK_ATTEMPTS, False, "ReadTimeout"),
        attempt("abandoned", 1, False, "abandoned: server shutting down"),
        attempt("dropped", 1, False, "dropped: over max_pending_callbacks"),
    ]
    settled = {sid for sid, _ in settled_pairs(attempts)}
    assert settled == {"delivered", "failed", "abandoned", "dropped"}


def test_the_shutdown_line_gives_the_abandoned_count() -> None:
    """The count comes from the log line that mentions abandoned callbacks, and only it."""
    log = (
        "INFO uvicorn.error: Shutting down\n"
        "WARNING augnet_mock.dispatcher: 37 pending callbacks abandoned at shutdown\n"
        "INFO uvicorn.error: Finished server process [4242]\n"
    )
    assert abandoned_in_log(log) == 37
    assert abandoned_in_log("INFO uvicorn.error: Finished server process [4242]\n") == 0


def test_the_report_table_lists_each_defect_once(tmp_path: Path) -> None:
    """Tests whose docstrings name a defect are grouped by number; others are left out."""
    folder = tmp_path / "tests" / "reliability"
    folder.mkdir(parents=True)
    (folder / "test_area.py").write_text(
        "def test_a() -> None:\n"
        '    """defect 7: a bad config exits 2\n    with one line."""\n\n'
        "def test_b(x: int = (1)) -> None:\n"
        '    """defect 7: another case."""\n\n'
        "async def test_c() -> None:\n"
        '    """defect 2: a dead webhook starves no one."""\n\n'
        "def test_d() -> None:\n"
        '    """Not about a defect."""\n'
    )
    table = suite_table(folder)
    assert [(n, text) for n, text, _ in table] == [
        (2, "a dead webhook starves no one."),
        (7, "a bad config exits 2 with one line."),
        (7, "another case."),
    ]
    assert table[0][2] == "tests/reliability/test_area.py::test_c"
    rows = defect_rows(table)
    assert len(rows) == 2
    assert rows[1].startswith("| 7 | a bad config exits 2 with one line. | 2 |")
