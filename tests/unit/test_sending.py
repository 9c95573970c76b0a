"""The one send decision (`sending.py`): outcomes, what is recorded, and the send rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from augnet_mock.models import DEFAULT_PROJECT_ID, SOURCES, Project, Source
from augnet_mock.runtime import Runtime
from augnet_mock.scenarios import parse_rule
from augnet_mock.sending import Accepted, Dropped, Refused, SendRequest, make_send, parse_send
from augnet_mock.settings import Settings
from augnet_mock.validation import FieldError

TO = "+447515650839"


def runtime(**options: Any) -> tuple[Runtime, Project]:
    rt = Runtime(Settings(clock="manual", seed=1, **options))
    project = rt.store.project(DEFAULT_PROJECT_ID)
    assert project is not None
    return rt, project


def request(to: str = TO, body: str = "hello", **fields: Any) -> SendRequest:
    return make_send(to=to, body=body, max_segments=10, **fields)


def add_rule(rt: Runtime, effect: dict[str, Any], **spec: Any) -> None:
    rt.store.add_rule(parse_rule({"id": "r", "effect": effect, **spec}))


@pytest.mark.parametrize("source", SOURCES)
def test_accepted_send_is_stored_with_its_source_and_starts_its_lifecycle(source: Source) -> None:
    """An unmatched send is Accepted with no latency, stored with `api` = its source."""
    rt, project = runtime()
    outcome = rt.send(project, request(requested_from="TAXI"), source=source)
    assert isinstance(outcome, Accepted)
    assert (outcome.rule, outcome.latency) == (None, 0.0)
    stored = rt.store.message(outcome.message.sid)
    assert stored is not None
    assert stored["api"] == source
    assert (stored["to"], stored["requestedFrom"], stored["status"]) == (TO, "TAXI", "queued")
    assert rt.clock.pending == 1  # the step to `sent` waits on the clock
    assert rt.store.rejected() == []


def test_refused_send_is_logged_and_not_stored() -> None:
    """An apiError rule refuses: status, message and Retry-After, and one log entry."""
    rt, project = runtime()
    add_rule(rt, {"apiError": {"status": 429, "message": "slow down", "retryAfter": 7}})
    outcome = rt.send(
        project, request(), source="smpp", raw_body=b"pdu", method="submit_sm", path="smpp"
    )
    assert isinstance(outcome, Refused)
    assert (outcome.status, outcome.message, outcome.retry_after) == (429, "slow down", 7)
    assert outcome.rule.id == "r"
    assert outcome.error["status"] == 429
    assert outcome.error["message"] == "slow down"
    assert outcome.error["path"] == "smpp"
    [logged] = rt.store.rejected()
    assert logged["error"] == outcome.error
    assert (logged["method"], logged["path"], logged["body"]) == ("submit_sm", "smpp", "pdu")
    assert (logged["status"], logged["scenario"]) == (429, "r")
    assert logged["projectId"] == project.project_id
    assert rt.store.message_count() == 0


def test_dropped_send_is_logged_with_a_null_status() -> None:
    """A dropConnection rule gives Dropped; the log has status null and names the rule."""
    rt, project = runtime()
    add_rule(rt, {"dropConnection": True}, name="cut")
    outcome = rt.send(project, request(), source="rest")
    assert isinstance(outcome, Dropped)
    assert outcome.rule.label == "cut"
    [logged] = rt.store.rejected()
    assert logged["status"] is None
    assert logged["path"] == "/api/v2/message"
    assert logged["error"]["message"] == "scenario cut: closed with no response"
    assert rt.store.message_count() == 0


def test_latency_is_drawn_within_the_range_and_the_send_still_recorded() -> None:
    """A latency rule's outcome carries seconds in [min, max]; the message is stored."""
    rt, project = runtime()
    add_rule(rt, {"latency": {"min": 0.1, "max": 0.3}, "finalStatus": "failed"})
    outcome = rt.send(project, request(), source="rest")
    assert isinstance(outcome, Accepted)
    assert 0.1 <= outcome.latency <= 0.3
    assert outcome.message.scenario == "r"
    refused_later = parse_rule({"id": "e", "effect": {"latency": 0.2, "apiError": {}}})
    rt.store.clear_rules()
    rt.store.add_rule(refused_later)
    refused = rt.send(project, request(), source="rest")
    assert isinstance(refused, Refused)
    assert refused.latency == 0.2


def test_rule_effects_shape_the_lifecycle() -> None:
    """A finalStatus rule's send ends that way once the clock has run its jobs."""
    rt, project = runtime(send_delay=0.0, delivery_delay=0.0)
    add_rule(rt, {"finalStatus": "undelivered", "errorCode": "30007"})
    outcome = rt.send(project, request(), source="rest")
    assert isinstance(outcome, Accepted)
    asyncio.run(rt.clock.advance(1.0))
    stored = rt.store.message(outcome.message.sid)
    assert stored is not None
    assert (stored["status"], stored["errorCode"]) == ("undelivered", "30007")


def test_user_rules_then_magic_numbers_then_chaos() -> None:
    """The user's rule beats a magic number, which beats chaos; chaos takes the rest."""
    rt, project = runtime(chaos_api_errors=1.0)
    add_rule(rt, {"finalStatus": "failed"}, match={"to": "+447700900500"})
    mine = rt.send(project, request("+447700900500"), source="rest")
    assert isinstance(mine, Accepted)
    assert mine.message.scenario == "r"
    magic = rt.send(project, request("+447700900001"), source="rest")
    assert isinstance(magic, Accepted)
    assert magic.message.scenario == "builtin:+447700900001"
    chaos = rt.send(project, request(), source="rest")
    assert isinstance(chaos, Refused)
    assert (chaos.status, chaos.rule.id) == (503, "chaos:api-error")


def test_whitelisted_sender_goes_out_as_asked_else_the_fallback() -> None:
    """`from` on the project's whitelist is kept; any other goes out as the fallback."""
    rt, project = runtime()
    listed = Project(**{**_fields(project), "senders": ("TAXI",)})
    kept = rt.send(listed, request(requested_from="TAXI"), source="rest")
    other = rt.send(listed, request(requested_from="SHOP"), source="rest")
    assert isinstance(kept, Accepted)
    assert isinstance(other, Accepted)
    assert kept.message.from_ == "TAXI"
    assert other.message.from_ == project.fallback_sender


def _fields(project: Project) -> dict[str, Any]:
    return {name: getattr(project, name) for name in Project.__slots__}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "request body: must be a JSON object, got array"),
        ({"body": "x"}, "to: is required"),
        ({"to": TO}, "body: is required"),
        ({}, "to: is required"),
        ({"to": "07700900123", "body": "x"}, "to: must be an E.164 number"),
        ({"to": TO, "body": ""}, "body: must not be empty"),
        ({"to": TO, "body": 5}, "body: must be a string"),
        ({"to": TO, "body": "x", "from": "TOO LONG SENDER"}, "from:"),
        ({"to": TO, "body": "x", "statusCallback": "ftp://x"}, "statusCallback:"),
        ({"to": TO, "body": "x" * 161 * 3}, "body: needs 4 GSM-7 segments; the limit is 3"),
    ],
)
def test_parse_send_names_the_field_and_the_reason(payload: Any, message: str) -> None:
    """Each bad send body gets a FieldError that starts with its field and says why."""
    with pytest.raises(FieldError) as caught:
        parse_send(payload, max_segments=3)
    assert str(caught.value).startswith(message)


def test_parse_send_ignores_unknown_fields_and_segments_the_body() -> None:
    """Unknown fields are ignored; the request carries the body's segmentation."""
    req = parse_send({"to": TO, "body": "ж" * 71, "extra": 1, "from": None}, max_segments=10)
    assert (req.to, req.requested_from, req.status_callback) == (TO, None, None)
    assert (req.segmentation.encoding, req.segmentation.segments) == ("UCS-2", 2)


def test_warnings_go_on_the_message_and_in_the_log_with_its_sid() -> None:
    """An accepted send's warnings are kept on the message and logged as status 200."""
    rt, project = runtime()
    warning = 'unknown field "From" ignored; did you mean "from"?'
    outcome = rt.send(project, request(warnings=(warning,)), source="rest", raw_body=b"{}")
    assert isinstance(outcome, Accepted)
    stored = rt.store.message(outcome.message.sid)
    assert stored is not None
    assert stored["warnings"] == [warning]
    [logged] = rt.store.rejected()
    assert (logged["status"], logged["error"], logged["sid"]) == (200, None, outcome.message.sid)
    assert logged["warnings"] == [warning]


def test_a_refusal_by_a_rule_keeps_the_warnings() -> None:
    """A rule's refusal of a send with warnings logs them with the error."""
    rt, project = runtime()
    add_rule(rt, {"apiError": {"status": 503}})
    outcome = rt.send(project, request(warnings=("w",)), source="rest")
    assert isinstance(outcome, Refused)
    [logged] = rt.store.rejected()
    assert (logged["status"], logged["warnings"], logged["sid"]) == (503, ["w"], None)


def test_price_comes_from_the_project_table_else_the_servers() -> None:
    """Parts times the per-part price: the project's table wins, the server's otherwise."""
    from augnet_mock.pricing import parse_prices

    rt, project = runtime(prices=parse_prices("prices", {"*": 0.5}))
    served = rt.send(project, request(body="x" * 200), source="rest")
    own = Project(**{**_fields(project), "prices": parse_prices("prices", {"+44": 0.1})})
    owned = rt.send(own, request(body="x" * 200), source="rest")
    assert isinstance(served, Accepted)
    assert isinstance(owned, Accepted)
    assert (served.message.price, owned.message.price) == (1.0, 0.2)


def test_callbacks_leave_to_out_for_callback_to_false_and_the_omit_to_fault() -> None:
    """The plan's `to` is None when the project says callbackTo false or a rule omitTo."""
    rt, project = runtime()
    plans: list[Any] = []
    rt.lifecycle.start = plans.append  # type: ignore[method-assign]
    rt.send(project, request(), source="rest")
    rt.send(Project(**{**_fields(project), "callback_to": False}), request(), source="rest")
    add_rule(rt, {"callback": {"omitTo": True}})
    rt.send(project, request(), source="rest")
    assert [plan.to for plan in plans] == [TO, None, None]
