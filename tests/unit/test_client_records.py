"""augnet_mock.client.records: control-API JSON as typed records."""

from __future__ import annotations

from augnet_mock.client.records import Callback, SentMessage


def test_message_from_json_with_its_callbacks() -> None:
    """Camel-case JSON becomes fields; optional ones default; raw keeps the rest."""
    data = {
        "sid": "s",
        "to": "+447700900123",
        "from": "+441743581416",
        "requestedFrom": "NOTLISTED",
        "body": "hi",
        "encoding": "GSM-7",
        "segments": 1,
        "status": "sent",
        "timeline": [{"status": "queued"}, {"status": "sent"}],
        "callbacks": [{"id": "c", "sid": "s", "status": "queued", "url": "u", "attempt": 1,
                       "ok": True, "responseStatus": 204}],
        "future": 1,
    }  # fmt: skip
    m = SentMessage.from_json(data)
    assert (m.from_, m.requested_from, m.parts, m.error_code) == (
        "+441743581416",
        "NOTLISTED",
        (),
        None,
    )
    assert m.statuses == ["queued", "sent"]
    assert m.callbacks[0].response_status == 204
    assert m.callbacks[0].request_headers == {}
    assert m.raw["future"] == 1
    assert "1 segment (GSM-7), status 'sent'" in m.describe()


def test_callback_describes_its_answer() -> None:
    """An attempt reads as what it reported, where, and what came back."""
    c = Callback.from_json(
        {"id": "c", "sid": "s", "status": "sent", "url": "u", "attempt": 2, "ok": False,
         "error": "ConnectError: refused"}
    )  # fmt: skip
    assert c.describe() == "sent for s to u (attempt 2): ConnectError: refused"
