"""The store's row codec (`rows.py`): flat rows round-trip to records and filter as they do."""

from __future__ import annotations

import gc

from hypothesis import given
from hypothesis import strategies as st

from augnet_mock import rows
from augnet_mock.models import SOURCES, CallbackAttempt, Message

TEXT = st.text(max_size=20)
STEPS = st.lists(
    st.tuples(st.sampled_from(["sent", "delivered", "undelivered"]), st.floats(0, 2e9), st.none()),
    max_size=4,
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    return Message(
        sid=draw(TEXT),
        project_id=draw(TEXT),
        to=draw(TEXT),
        from_=draw(TEXT),
        requested_from=draw(st.none() | TEXT),
        body=draw(TEXT),
        encoding=draw(st.sampled_from(["GSM-7", "UCS-2"])),
        segments=draw(st.integers(1, 10)),
        status_callback=draw(st.none() | TEXT),
        created_epoch=draw(st.floats(0, 2e9)),
        status=draw(st.sampled_from(["queued", "sent"])),
        scenario=draw(st.none() | TEXT),
        batch_id=draw(st.none() | TEXT),
        api=draw(st.sampled_from(SOURCES)),
        timeline=tuple(draw(STEPS)),
    )


@given(messages(), st.integers(0, 10**9))
def test_a_message_round_trips_through_its_row(message: Message, position: int) -> None:
    """Any message comes back equal from its row, which stays at its position."""
    row = rows.message_row(position, message)
    assert rows.message_of(row) == message
    assert rows.still_at(row, position) is row
    assert rows.still_at(row, position + 1) is None
    assert rows.still_at(None, position) is None


@given(messages(), st.sampled_from(["delivered", "failed"]), st.none() | st.just("30008"))
def test_a_step_appends_to_the_timeline_and_sets_the_status(
    message: Message, status: str, code: str | None
) -> None:
    """with_step adds (status, epoch, code), sets status, and sets errorCode only if given."""
    stepped = rows.message_of(rows.with_step(rows.message_row(1, message), status, 5.0, code))
    assert stepped.timeline == (*message.timeline, (status, 5.0, code))
    assert stepped.status == status
    assert stepped.error_code == (code if code is not None else message.error_code)
    assert stepped._replace(timeline=(), status="x", error_code=None) == message._replace(
        timeline=(), status="x", error_code=None
    )


@given(messages(), messages())
def test_message_matches_reads_the_same_fields_as_the_record(a: Message, b: Message) -> None:
    """Filtering a row by another message's values agrees with comparing the records."""
    row = rows.message_row(0, a)
    assert rows.message_matches(row, None, None, None, None, None, None)
    expected = (
        a.project_id == b.project_id
        and a.to == b.to
        and a.from_ == b.from_
        and a.status == b.status
        and (b.batch_id is None or a.batch_id == b.batch_id)  # None filters nothing
        and a.created_epoch >= b.created_epoch
    )
    got = rows.message_matches(
        row, b.project_id, b.to, b.from_, b.status, b.batch_id, b.created_epoch
    )
    assert got == expected


def test_rows_are_flat_so_the_collector_lets_them_go() -> None:
    """A message row with steps holds no nested tuple: one collection untracks it."""
    message = Message(
        "s", "p", "+447515650839", "F", None, "hi", "GSM-7", 1, None, 1.0,
        timeline=(("queued", 1.0, None), ("sent", 2.0, None)),
    )  # fmt: skip
    row = rows.with_step(rows.message_row(3, message), "delivered", 3.0, None)
    assert not any(isinstance(field, tuple) for field in row)
    gc.collect()
    assert not gc.is_tracked(row)


def test_an_attempt_round_trips_and_filters() -> None:
    """An attempt, headers and all, comes back equal; it filters by project, sid and status."""
    attempt = CallbackAttempt(
        id="a1",
        sid="s1",
        project_id="p1",
        status="sent",
        url="http://127.0.0.1/hook",
        attempt=2,
        request_headers={"Date": "x", "Digest": "SHA-256=y"},
        request_body="{}",
        at="2024-01-01T00:00:00.000Z",
        response_status=500,
        fault="duplicate",
    )
    row = rows.attempt_row(7, attempt)
    assert rows.attempt_of(row) == attempt
    assert rows.still_at(row, 7) is row
    assert rows.attempt_matches(row, "p1", "s1", "sent")
    assert rows.attempt_matches(row, None, None, None)
    assert not rows.attempt_matches(row, "p2", None, None)
    assert not rows.attempt_matches(row, None, "s2", None)
    assert not rows.attempt_matches(row, None, None, "delivered")
