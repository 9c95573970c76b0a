"""augnet_mock.client.expectations: filter keywords, matching, the near-miss report and
why a callback wait cannot succeed. Pure: records are built from control-API JSON."""

from __future__ import annotations

from typing import Any

import pytest

from augnet_mock.client.expectations import (
    CallbackFilters,
    Expectation,
    MessageFilters,
    callback_timeout,
    callbacks_impossible,
    check_keywords,
    message_timeout,
    newest_of,
    no_message,
    own,
    sent_outcome,
)
from augnet_mock.client.records import Callback, SentMessage

PROJECT = "p-1"


def message(body: str, *, to: str = "+447700900123", **extra: Any) -> SentMessage:
    data = {
        "sid": extra.pop("sid", f"sid-{body}"),
        "projectId": extra.pop("projectId", PROJECT),
        "to": to,
        "from": "ABCTAXI",
        "body": body,
        "encoding": "GSM-7",
        "segments": 1,
        "parts": [body],
        "status": extra.pop("status", "delivered"),
        "timeline": [{"status": s, "at": ""} for s in ("queued", "sent", "delivered")],
    }
    return SentMessage.from_json(data | extra)


def test_filters_are_declared_once_and_misspellings_are_type_errors() -> None:
    """A keyword outside the declared filters is a TypeError naming the known ones."""
    check_keywords({"to": "+44", "body_contains": "x"}, MessageFilters, "messages")
    with pytest.raises(TypeError, match=r"assert_sent\(\) got .*'bodycontains'.*body_contains"):
        check_keywords({"bodycontains": "x"}, MessageFilters, "assert_sent")
    with pytest.raises(TypeError, match=r"'to'.*status, sid, ok"):
        check_keywords({"to": "+44"}, CallbackFilters, "callbacks")


def test_status_means_now_or_reached() -> None:
    """`status` is the status now for assertions, a status on the timeline for waits."""
    delivered = message("hi")
    assert not Expectation.of({"status": "sent"}).matches(delivered)
    assert Expectation.of({"status": "sent"}, status_reached=True).matches(delivered)


def test_assert_sent_outcome_counts_and_reports_near_misses() -> None:
    """Matches are returned; a miss raises with the closest message diffed first."""
    sent = [message("Your taxi ABC123 is here"), message("Welcome", to="+447700900999")]
    assert len(sent_outcome(Expectation.of({"body_contains": "ABC123"}), sent, 1)) == 1
    with pytest.raises(AssertionError) as failure:
        sent_outcome(Expectation.of({"body_contains": "ABC124"}), sent, None)
    text = str(failure.value)
    assert "expected a message whose body contains 'ABC124', but none was sent." in text
    assert text.index("ABC123 is here") < text.index("Welcome")
    assert "- ABC124" in text
    assert "+ ABC123" in text


def test_message_wait_result_and_timeout_report() -> None:
    """A wait returns the newest of `count` matches; its timeout names what it waited for."""
    sent = [message("one"), message("two")]
    expected = Expectation.of({"to": "+447700900123"})
    assert newest_of(expected, sent, 2) == sent[1]
    assert newest_of(expected, sent, 3) is None
    text = str(message_timeout(expected, [], 3, 0.5))
    assert "waited 0.5 s for 3 messages to '+447700900123'" in text
    assert "No messages were sent" in text


def test_callback_timeout_lists_attempts() -> None:
    """The timeout of a callback wait lists the attempts made so far, or says none."""
    attempt = Callback.from_json(
        {"id": "a", "sid": "s", "status": "queued", "url": "http://x/hook", "attempt": 1,
         "ok": False, "responseStatus": 500}
    )  # fmt: skip
    text = str(callback_timeout({"status": "delivered"}, [attempt], 1, 1.0))
    assert "with status='delivered'" in text
    assert "queued for s to http://x/hook (attempt 1): answered 500" in text
    assert "(none)" in str(callback_timeout({}, [], 1, 1.0))


@pytest.mark.parametrize(
    ("filters", "project", "sent", "reason"),
    [
        ({}, {"webhookUrl": "http://x"}, [], None),
        ({}, {}, [message("a", statusCallback="http://x")], None),
        ({}, {}, [message("a")], "the project has no webhookUrl and none of its 1 message"),
        ({"sid": "nope"}, {"webhookUrl": "http://x"}, [], "no message 'nope' was sent"),
        ({"sid": "sid-a"}, {}, [message("a")], "message sid-a has no statusCallback"),
        ({"sid": "sid-a"}, {}, [message("a", statusCallback="http://x")], None),
    ],
)
def test_callback_waits_that_cannot_succeed(
    filters: CallbackFilters, project: dict[str, Any], sent: list[SentMessage], reason: str | None
) -> None:
    """No webhook anywhere, or a sid never sent: the reason; otherwise None."""
    why = callbacks_impossible(filters, project, sent)
    if reason is None:
        assert why is None
    else:
        assert why is not None
        assert reason in why


def test_other_projects_messages_and_empty_results() -> None:
    """A sid of another project is not this project's; last_message names its filters."""
    assert own([message("a", projectId="other")], PROJECT) == []
    assert "no message was sent to '+4477' in this test" in str(no_message({"to": "+4477"}))
