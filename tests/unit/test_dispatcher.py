"""Unit tests for the pure parts of augnet_mock.dispatcher: the callback body and request target.

The request target is what gets signed, so it must match what the HTTP client puts on
the wire byte for byte; that is cross-checked against aiohttp building the real request.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from augnet_mock.dispatcher import callback_body, receiver_of, request_target

SID = "ca4d1566-323b-11ea-8326-cbeec6a8845a"
PROJECT_ID = "326488d2-f853-4dd6-8610-93f9011ac4e5"
KEY_ORDER = ["SmsSid", "SmsStatus", "AccountSid", "From", "To", "MessageStatus", "MessageSid"]


def _body(status: str = "queued", from_: str = "+441743581416") -> bytes:
    return callback_body(
        sid=SID, status=status, project_id=PROJECT_ID, from_=from_, to="+447515650839"
    )


def test_body_is_the_provider_example_compacted() -> None:
    """The provider's queued example, byte for byte, with no whitespace."""
    assert _body() == (
        b'{"SmsSid":"ca4d1566-323b-11ea-8326-cbeec6a8845a","SmsStatus":"queued",'
        b'"AccountSid":"326488d2-f853-4dd6-8610-93f9011ac4e5","From":"+441743581416",'
        b'"To":"+447515650839","MessageStatus":"queued",'
        b'"MessageSid":"ca4d1566-323b-11ea-8326-cbeec6a8845a"}'
    )


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "undelivered", "failed"])
def test_body_key_order_and_values(status: str) -> None:
    """Keys come in Augnet's order; both status keys carry the status, both sid keys the sid."""
    raw = _body(status)
    decoded = json.loads(raw)
    assert list(decoded) == KEY_ORDER
    assert decoded["SmsStatus"] == decoded["MessageStatus"] == status
    assert decoded["SmsSid"] == decoded["MessageSid"] == SID
    assert decoded["AccountSid"] == PROJECT_ID
    assert b" " not in raw
    assert b"\n" not in raw


def test_body_is_utf8_not_ascii_escaped() -> None:
    """Non-ASCII text is sent as UTF-8 bytes, which is what the Digest covers."""
    raw = _body(from_="Café")
    assert "Café".encode() in raw
    assert b"\\u" not in raw


@pytest.mark.parametrize(
    ("url", "host", "target"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1:8080", "/hook"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "/"),
        (
            "https://webhook.site/hooks/catch/7128601/o5rp4yj/",
            "webhook.site",
            "/hooks/catch/7128601/o5rp4yj/",
        ),
        ("http://127.0.0.1:9/h?token=a%20b&x=1", "127.0.0.1:9", "/h?token=a%20b&x=1"),
        ("http://127.0.0.1:9/h?x=1#fragment", "127.0.0.1:9", "/h?x=1"),
        ("http://[::1]:9/x", "[::1]:9", "/x"),
    ],
)
def test_request_target(url: str, host: str, target: str) -> None:
    """Host is host[:port]; the target is path plus query, never the fragment."""
    assert request_target(url)[1:] == (host, target)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook?name=café&x=a|b",  # non-ASCII gets percent-encoded
        'http://127.0.0.1:8080/h?q="quoted"',  # so do quotes
        "http://127.0.0.1:8080/x?",  # an empty query loses its "?"
        "http://127.0.0.1:80/default-port",  # the default port is left out of Host
        "http://bücher.example:8080/p",  # an IDN host goes out as punycode
        "http://user:pw@127.0.0.1:8080/userinfo",  # userinfo is never part of Host
    ],
)
def test_request_target_matches_what_aiohttp_sends(url: str) -> None:
    """The signed (host, target) is exactly the Host header and request line aiohttp sends."""
    target = request_target(url)

    async def build() -> aiohttp.ClientRequest:
        return aiohttp.ClientRequest("POST", target.url, loop=asyncio.get_running_loop())

    request = asyncio.run(build())
    assert (target.host, target.path) == (request.headers["Host"], request.url.raw_path_qs)
    assert request.auth is None  # userinfo never becomes Basic auth over the Signature


@pytest.mark.parametrize("url", ["http://a\u00ad.example/hook", "ftp://127.0.0.1/x", "/relative"])
def test_request_target_rejects_what_cannot_be_sent(url: str) -> None:
    with pytest.raises(ValueError, match="cannot send to"):
        request_target(url)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b?x=1", True),
        ("http://hooks.example/a", "http://hooks.example:80/b", True),  # the default port
        ("http://user:pw@hooks.example/a", "http://hooks.example/a", True),
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a", False),
        ("http://hooks.example/a", "https://hooks.example/a", False),
        ("http://a.example/a", "http://b.example/a", False),
    ],
)
def test_receivers_are_keyed_by_origin(a: str, b: str, same: bool) -> None:
    """Callbacks share a receiver (its fair turn and cap) exactly when their origins match."""
    assert (receiver_of(a) == receiver_of(b)) is same


def test_an_unsendable_url_is_a_receiver_of_its_own() -> None:
    """A URL that cannot be sent keys on itself rather than raising."""
    assert receiver_of("http://a\u00ad.example/hook") == "http://a\u00ad.example/hook"
