"""Status callbacks on the real server, received by a real HTTP receiver (SPEC §1.4).

Covers the lifecycle's three POSTs, the exact body bytes and headers, the signature
(checked with the independent `httpsig` package and with `augnet_mock.verify`), where
callbacks go, retries with backoff, the journal, redelivery, and that callbacks never
hold up the API.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx2
import pytest
from httpsig.verify import HeaderVerifier
from receiver import Received, Receiver

from augnet_mock import verify
from augnet_mock.dispatcher import callback_body
from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_SIGNING_KEY
from augnet_mock.server import LiveServer
from augnet_mock.signing import digest, http_date

T = TypeVar("T")

TO = "+447515650839"
STATUSES = ["queued", "sent", "delivered"]
KEY_ORDER = ["SmsSid", "SmsStatus", "AccountSid", "From", "To", "MessageStatus", "MessageSid"]
SIGNED = ["(request-target)", "date", "digest", "host"]
# RFC 7231 §7.1.1.1 IMF-fixdate, e.g. "Wed, 08 Jan 2020 17:24:57 GMT".
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT"
)
WAIT = 10.0  # upper bound for any condition wait; tests normally finish far sooner


# -- helpers ----------------------------------------------------------------------


def wait_until(probe: Callable[[], T | None], timeout: float = WAIT) -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def send(http: httpx2.Client, project: dict[str, Any], **fields: Any) -> str:
    payload = {"to": TO, "body": "hello"} | fields
    response = http.post(
        "/api/v2/message", auth=(project["projectId"], project["apiKey"]), json=payload
    )
    assert response.status_code == 200, response.text
    sid: str = response.json()["sid"]
    return sid


def journal(http: httpx2.Client, sid: str) -> list[dict[str, Any]]:
    response = http.get("/_mock/callbacks", params={"sid": sid})
    assert response.status_code == 200, response.text
    callbacks: list[dict[str, Any]] = response.json()["callbacks"]
    return callbacks


def wait_journal(
    http: httpx2.Client,
    sid: str,
    count: int = 1,
    *,
    until: Callable[[list[dict[str, Any]]], bool] | None = None,
    timeout: float = WAIT,
) -> list[dict[str, Any]]:
    """The message's journal once it holds `count` attempts (or once `until` holds)."""

    def probe() -> list[dict[str, Any]] | None:
        attempts = journal(http, sid)
        done = until(attempts) if until else len(attempts) == count
        return attempts if done else None

    return wait_until(probe, timeout)


def message(http: httpx2.Client, sid: str) -> dict[str, Any]:
    response = http.get(f"/_mock/messages/{sid}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def new_project(http: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = http.post("/_mock/projects", json=fields)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def closed_port_url(path: str = "/dead") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def expected_body(sid: str, status: str, project_id: str, from_: str, to: str = TO) -> bytes:
    """The callback body written out by hand (not via the code under test)."""
    return (
        f'{{"SmsSid":"{sid}","SmsStatus":"{status}","AccountSid":"{project_id}",'
        f'"From":"{from_}","To":"{to}","MessageStatus":"{status}","MessageSid":"{sid}"}}'
    ).encode()


def httpsig_accepts(got: Received, key: str) -> bool:
    """The independent httpsig package's verdict on a received request."""
    verifier = HeaderVerifier(
        headers=got.headers, secret=key, required_headers=SIGNED, method="POST", path=got.path
    )
    return bool(verifier.verify())


def assert_signed(got: Received, *, key: str, key_id: str, now: float | None = None) -> None:
    assert httpsig_accepts(got, key), "httpsig rejected the signature"
    verify(
        method=got.method,
        path=got.path,
        headers=got.headers,
        body=got.body,
        key=key,
        key_id=key_id,
        now=now,
    )


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def for_sid(received: list[Received], sid: str) -> list[Received]:
    return [r for r in received if r.json()["SmsSid"] == sid]


@pytest.fixture
def signed_project(client: httpx2.Client) -> dict[str, Any]:
    return new_project(client, signingKey="callback-test-key")


# -- lifecycle and ordering -------------------------------------------------------


def test_lifecycle_posts_queued_sent_delivered_once_each(
    client: httpx2.Client, project: dict[str, Any], receiver: Receiver
) -> None:
    """A message goes queued -> sent -> delivered: one POST per step, in order, on the timeline."""
    before = time.time()
    sid = send(client, project, statusCallback=receiver.url("/hook"))
    got = receiver.wait_for(3)
    after = time.time()
    assert [r.method for r in got] == ["POST"] * 3
    assert [r.path for r in got] == ["/hook"] * 3
    assert [r.json()["SmsStatus"] for r in got] == STATUSES

    attempts = wait_journal(client, sid, 3)
    assert [a["status"] for a in attempts] == STATUSES
    assert all(a["attempt"] == 1 and a["ok"] and a["responseStatus"] == 200 for a in attempts)
    assert len(receiver.requests) == 3  # nothing extra arrived once the journal was complete

    view = message(client, sid)
    assert view["status"] == "delivered"
    steps = view["timeline"]
    assert [s["status"] for s in steps] == STATUSES
    times = [epoch(s["at"]) for s in steps]
    assert times == sorted(times)
    assert before - 0.01 <= times[0]
    assert times[-1] <= after + 0.01
    # Each callback was attempted at or after the step it reports.
    for step, attempt in zip(steps, attempts, strict=True):
        assert epoch(attempt["at"]) >= epoch(step["at"])


def test_body_is_exact_compact_json_and_headers_are_complete(
    client: httpx2.Client, signed_project: dict[str, Any], receiver: Receiver
) -> None:
    """Raw body bytes are compact JSON in Augnet's key order; headers are the documented set."""
    sid = send(client, signed_project, statusCallback=receiver.url("/cb"))
    got = receiver.wait_for(3)
    for status, r in zip(STATUSES, got, strict=True):
        assert r.body == expected_body(sid, status, signed_project["projectId"], "+441743581416")
        assert list(r.json()) == KEY_ORDER
        h = lower(r.headers)
        assert h["content-type"] == "application/json"
        assert h["accept"] == "application/json, application/*+json"
        assert IMF_FIXDATE.fullmatch(h["date"]), h["date"]
        assert h["host"] == f"127.0.0.1:{receiver.port}"
        sha = base64.b64encode(hashlib.sha256(r.body).digest()).decode()
        assert h["digest"] == f"SHA-256={sha}"
        assert int(h["content-length"]) == len(r.body)
        assert h["authorization"].startswith(
            f'Signature keyId="{signed_project["projectId"]}",algorithm="hmac-sha256",'
            'headers="(request-target) date digest host",signature="'
        )
        # As the provider's example headers: its Java client's Accept-Encoding and name.
        assert h["accept-encoding"] == "gzip,deflate"
        assert h["user-agent"] == "Apache-HttpClient/4.5.10 (Java/11.0.5)"


def test_callback_user_agent_is_configurable(make_server: Any, receiver: Receiver) -> None:
    """--callback-user-agent names the callbacks' client instead of the provider's."""
    live = make_server(callback_user_agent="my-receiver-test/1.0")
    with httpx2.Client(base_url=live.url, trust_env=False) as c:
        send(c, new_project(c), statusCallback=receiver.url())
        assert {lower(r.headers)["user-agent"] for r in receiver.wait_for(3)} == {
            "my-receiver-test/1.0"
        }


def test_project_callback_to_false_omits_to(client: httpx2.Client, receiver: Receiver) -> None:
    """callbackTo false: every callback body leaves `To` out, still signed over its Digest."""
    project = new_project(client, signingKey="k", callbackTo=False)
    assert project["callbackTo"] is False
    sid = send(client, project, statusCallback=receiver.url())
    for status, r in zip(STATUSES, receiver.wait_for(3), strict=True):
        assert list(r.json()) == [k for k in KEY_ORDER if k != "To"]
        assert r.json()["SmsStatus"] == status
        assert_signed(r, key="k", key_id=project["projectId"])
    assert all(a["fault"] is None for a in wait_journal(client, sid, 3))


def test_omit_to_fault(client: httpx2.Client, receiver: Receiver) -> None:
    """The omitTo callback fault sends bodies without `To`, journalled as that fault."""
    project = new_project(client, signingKey="k")
    rule = {"match": {"project": project["projectId"]}, "effect": {"callback": {"omitTo": True}}}
    assert client.post("/_mock/scenarios", json=rule).status_code == 201
    sid = send(client, project, statusCallback=receiver.url())
    try:
        got = receiver.wait_for(3)
        assert all("To" not in r.json() for r in got)
        assert [a["fault"] for a in wait_journal(client, sid, 3)] == ["omitTo"] * 3
    finally:
        client.delete("/_mock/scenarios")


@pytest.mark.parametrize(
    "path",
    [
        "/hook?token=a%20b&x=1",
        "/hooks/catch/7128601/o5rp4yj/?sig=abc%3D%3D&empty=",
        '/hook?name=café&q="quoted"',  # sent percent-encoded; the signature must follow
    ],
)
def test_signature_verifies_with_httpsig_and_our_verify(
    client: httpx2.Client, signed_project: dict[str, Any], receiver: Receiver, path: str
) -> None:
    """Every callback verifies with httpsig and augnet_mock.verify over the path and query."""
    send(client, signed_project, statusCallback=receiver.url(path))
    got = receiver.wait_for(3)
    for r in got:
        assert "?" in r.path
        assert_signed(r, key="callback-test-key", key_id=signed_project["projectId"])
    # The check can fail: the wrong key, or the path without its query, is rejected.
    assert not httpsig_accepts(got[0], "not-the-key")
    stripped = Received(got[0].method, got[0].path.split("?")[0], got[0].headers, got[0].body, 0)
    assert not httpsig_accepts(stripped, "callback-test-key")


def test_project_without_signing_key_sends_no_authorization(
    client: httpx2.Client, receiver: Receiver
) -> None:
    """signingKey null: callbacks carry Date and Digest but no Authorization header."""
    unsigned = new_project(client, signingKey=None)
    assert unsigned["signingKey"] is None
    send(client, unsigned, statusCallback=receiver.url())
    for r in receiver.wait_for(3):
        h = lower(r.headers)
        assert "authorization" not in h
        assert IMF_FIXDATE.fullmatch(h["date"])
        assert (
            h["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(r.body).digest()).decode()
        )


def test_seed_example_callback(client: httpx2.Client, receiver: Receiver) -> None:
    """The provider's example send on the default project yields the documented callback."""
    response = client.post(
        "/api/v2/message",
        auth=(DEFAULT_PROJECT_ID, DEFAULT_API_KEY),
        json={
            "body": "Your Taxi will arrive in 2 minutes registration ABC123",
            "from": "ABCTAXI",
            "statusCallback": receiver.url("/hooks/catch/7128601/o5rp4yj/"),
            "to": "+447515650839",
        },
    )
    assert response.status_code == 200, response.text
    sid = response.json()["sid"]
    got = receiver.wait_for(3)
    first = got[0].json()
    assert list(first) == KEY_ORDER
    assert first == {
        "SmsSid": sid,
        "SmsStatus": "queued",
        "AccountSid": DEFAULT_PROJECT_ID,
        "From": "+441743581416",
        "To": "+447515650839",
        "MessageStatus": "queued",
        "MessageSid": sid,
    }
    for status, r in zip(STATUSES, got, strict=True):
        assert r.body == expected_body(sid, status, DEFAULT_PROJECT_ID, "+441743581416")
        assert_signed(r, key=DEFAULT_SIGNING_KEY, key_id=DEFAULT_PROJECT_ID)


def test_seed_captured_callback_had_no_to() -> None:
    """The seed's example callback, rebuilt from its own values without `To`, has exactly
    the seed's Content-Length (222) and Digest; with `To` it has neither."""
    values = {
        "sid": "ca4d1566-323b-11ea-8326-cbeec6a8845a",
        "status": "queued",
        "project_id": "326488d2-f853-4dd6-8610-93f9011ac4e5",
        "from_": "+441743581416",
    }
    without_to = callback_body(**values, to=None)
    assert len(without_to) == 222
    assert digest(without_to) == "SHA-256=cBKyFixddU/laPEgFth2Goyv3UnvcxjvXWwYjv2jH8g="
    with_to = callback_body(**values, to="+447515650839")
    assert len(with_to) == 243
    assert digest(with_to) != digest(without_to)


# -- where callbacks go -----------------------------------------------------------


def test_status_callback_wins_over_project_webhook(
    client: httpx2.Client, receiver: Receiver
) -> None:
    """A message's statusCallback gets its callbacks even when the project has a webhookUrl."""
    proj = new_project(client, webhookUrl=receiver.url("/project"))
    sid = send(client, proj, statusCallback=receiver.url("/message"))
    got = receiver.wait_for(3)
    assert [r.path for r in got] == ["/message"] * 3
    assert {a["url"] for a in wait_journal(client, sid, 3)} == {receiver.url("/message")}


def test_project_webhook_used_without_status_callback(
    client: httpx2.Client, receiver: Receiver
) -> None:
    """With no statusCallback (absent or null) the project's webhookUrl gets the callbacks."""
    proj = new_project(client, webhookUrl=receiver.url("/project"))
    first = send(client, proj)
    second = send(client, proj, statusCallback=None)
    got = receiver.wait_for(6)
    assert {r.path for r in got} == {"/project"}
    for sid in (first, second):
        assert [r.json()["SmsStatus"] for r in for_sid(got, sid)] == STATUSES


def test_no_callback_url_posts_nothing_but_records_statuses(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """With neither URL nothing is posted (empty journal), yet every status is recorded."""
    live = make_server(clock="manual")
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        proj = new_project(http)
        sid = send(http, proj)
        http.post("/_mock/clock/advance", json={"seconds": 60}).raise_for_status()
        view = message(http, sid)
        assert [s["status"] for s in view["timeline"]] == STATUSES
        assert view["callbacks"] == []
        assert journal(http, sid) == []
    assert receiver.requests == []


# -- retries and the journal ------------------------------------------------------


def test_dead_receiver_retries_with_backoff_then_gives_up(
    make_server: Callable[..., LiveServer],
) -> None:
    """Connection refused: retried with doubling backoff, every try journalled, then given up."""
    live = make_server(callback_attempts=4, callback_backoff=0.1, send_delay=1.2)
    dead = closed_port_url("/dead?x=1")
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        proj = new_project(http)
        sid = send(http, proj, statusCallback=dead)
        # `sent` is only attempted once `queued` was given up, so seeing it proves the give-up.
        attempts = wait_journal(http, sid, until=lambda j: any(a["status"] == "sent" for a in j))
        queued = [a for a in attempts if a["status"] == "queued"]
        assert [a["attempt"] for a in queued] == [1, 2, 3, 4]
        for a in queued:
            assert a["url"] == dead
            assert a["responseStatus"] is None
            assert a["ok"] is False
            assert a["error"]
            assert "ConnectError" in a["error"]
            assert set(a["requestHeaders"]) >= {"Content-Type", "Date", "Digest", "Host"}
            assert a["redelivery"] is False
        # The wait between the end of one try and the start of the next: 0.1, 0.2, 0.4 s.
        # Never early; late only by scheduling noise (the manual-clock test pins it exactly).
        waits = [
            epoch(b["at"]) - epoch(a["at"]) - a["durationMs"] / 1000
            for a, b in itertools.pairwise(queued)
        ]
        for i, wait in enumerate(waits):
            nominal = 0.1 * 2**i
            assert nominal - 0.005 <= wait <= nominal * 1.5 + 0.25, waits
        # The message view journals the same attempts.
        view_ids = [a["id"] for a in message(http, sid)["callbacks"]]
        assert view_ids[: len(attempts)] == [a["id"] for a in attempts]


def test_receiver_errors_then_success_keeps_order(
    client: httpx2.Client, project: dict[str, Any], receiver: Receiver
) -> None:
    """500, 503 then 200: queued is retried, and sent (due meanwhile) waits behind it."""
    receiver.answers.extend([500, 503])
    sid = send(client, project, statusCallback=receiver.url())
    got = receiver.wait_for(5)
    assert [r.json()["SmsStatus"] for r in got] == ["queued"] * 3 + ["sent", "delivered"]
    attempts = wait_journal(client, sid, 5)
    assert [(a["status"], a["attempt"], a["responseStatus"]) for a in attempts] == [
        ("queued", 1, 500),
        ("queued", 2, 503),
        ("queued", 3, 200),
        ("sent", 1, 200),
        ("delivered", 1, 200),
    ]
    assert attempts[0]["error"] == "receiver answered 500"
    assert attempts[2]["error"] is None
    # `sent` happened (0.01 s) while queued was still retrying (0.05 s + 0.1 s): it waited.
    sent_at = epoch(message(client, sid)["timeline"][1]["at"])
    assert sent_at < epoch(attempts[2]["at"])


class RudeReceiver:
    """A TCP listener that reads each request and answers `reply` (maybe nothing), then hangs up."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2.0)
                conn.recv(65536)
                self.requests += 1
                conn.sendall(self.reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.mark.parametrize(
    "reply",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b"SMTP ready\r\n\r\n"],
    ids=["hangs-up", "cut-body", "not-http"],
)
def test_receiver_that_breaks_http_is_journalled_as_protocol_error(
    make_server: Callable[..., LiveServer], reply: bytes
) -> None:
    """A receiver that hangs up or answers garbage: a failed attempt, named, and retried."""
    rude = RudeReceiver(reply)
    live = make_server(callback_attempts=2, callback_backoff=0.01, send_delay=60)
    try:
        with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
            sid = send(http, new_project(http), statusCallback=rude.url)
            attempts = wait_journal(http, sid, 2)
    finally:
        rude.close()
    assert [a["attempt"] for a in attempts] == [1, 2]
    for a in attempts:
        assert a["ok"] is False
        assert a["responseStatus"] is None
        assert a["error"].startswith("RemoteProtocolError"), a["error"]
    assert rude.requests == 2
    assert live.runtime.errors == []


def test_slow_receiver_times_out_and_is_retried(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """A receiver slower than callback_timeout counts as a failure and is retried."""
    live = make_server(
        callback_timeout=0.2, callback_attempts=2, callback_backoff=0.05, send_delay=60
    )
    receiver.delay = 1.0
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        sid = send(http, new_project(http), statusCallback=receiver.url())
        attempts = wait_journal(http, sid, 2)
    assert [a["attempt"] for a in attempts] == [1, 2]
    for a in attempts:
        assert a["responseStatus"] is None
        assert a["error"] == "ReadTimeout"
        assert a["durationMs"] >= 150
    assert len(receiver.requests) == 2


def test_dead_receiver_does_not_delay_other_messages(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """One message's retrying callbacks do not hold up another message's callbacks."""
    live = make_server(callback_attempts=3, callback_backoff=1.0)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        proj = new_project(http)
        stuck = send(http, proj, statusCallback=closed_port_url())
        wait_journal(http, stuck)  # the dead one is retrying now
        healthy = send(http, proj, statusCallback=receiver.url())
        got = receiver.wait_for(3)
        assert [r.json()["SmsSid"] for r in got] == [healthy] * 3
        # The stuck message is still on its queued callback: not given up, nothing later tried.
        stuck_attempts = journal(http, stuck)
        assert {a["status"] for a in stuck_attempts} == {"queued"}
        assert len(stuck_attempts) < 3


def test_slow_callbacks_never_delay_the_api_response(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """With the receiver taking 1 s per callback, POST /api/v2/message still answers at once."""
    live = make_server(send_delay=60)
    receiver.delay = 1.0
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        proj = new_project(http)
        started = time.perf_counter()
        sid = send(http, proj, statusCallback=receiver.url())
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, f"API took {elapsed:.3f} s"
        # The queued callback was in flight meanwhile and took the receiver's full second.
        receiver.wait_for(1)
        (attempt,) = wait_journal(http, sid, timeout=5.0)
        assert attempt["ok"]
        assert attempt["durationMs"] >= 900


# -- redelivery -------------------------------------------------------------------


def test_redeliver_reposts_freshly_signed(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """Redelivery re-posts the same body, freshly dated and signed, journalled as a redelivery."""
    live = make_server(clock="manual")
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        proj = new_project(http, signingKey="redeliver-key")
        sid = send(http, proj, statusCallback=receiver.url("/hook?n=1"))
        http.post("/_mock/clock/advance", json={"seconds": 60}).raise_for_status()
        first = journal(http, sid)[0]
        assert len(receiver.requests) == 3
        # Move the clock on so a fresh Date is visible.
        clock = http.post("/_mock/clock/advance", json={"seconds": 120}).json()
        response = http.post(f"/_mock/callbacks/{first['id']}/redeliver")
        assert response.status_code == 200, response.text
        again = response.json()
        assert again["redelivery"] is True
        assert again["ok"] is True
        assert again["id"] != first["id"]
        assert again["status"] == "queued"
        assert again["sid"] == sid
        assert again["requestBody"] == first["requestBody"]

        got = receiver.wait_for(4)[3]
        assert got.body == receiver.requests[0].body
        assert got.path == "/hook?n=1"
        assert lower(got.headers)["date"] == http_date(clock["epoch"])
        assert lower(got.headers)["date"] != lower(receiver.requests[0].headers)["date"]
        assert_signed(got, key="redeliver-key", key_id=proj["projectId"], now=clock["epoch"])

        journalled = [a for a in journal(http, sid) if a["redelivery"]]
        assert [a["id"] for a in journalled] == [again["id"]]
        assert again["id"] in [a["id"] for a in message(http, sid)["callbacks"]]


def test_redeliver_unknown_id_is_404(client: httpx2.Client) -> None:
    """Redelivering an attempt id that does not exist answers 404 in the error shape."""
    response = client.post("/_mock/callbacks/cb-nope/redeliver")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["status"] == 404
    assert "cb-nope" in body["message"]
    assert body["path"] == "/_mock/callbacks/cb-nope/redeliver"


def test_unsendable_callback_url_is_journalled_not_lost(
    make_server: Callable[..., LiveServer],
) -> None:
    """A URL httpx2 cannot send is refused up front (400) or journalled as a failed attempt."""
    live = make_server(callback_attempts=1)
    with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
        proj = new_project(http)
        response = http.post(
            "/api/v2/message",
            auth=(proj["projectId"], proj["apiKey"]),
            json={"to": TO, "body": "hi", "statusCallback": "http://a\u00ad.example/hook"},
        )
        if response.status_code == 400:  # the send API's URL check caught it: also fine
            assert response.json()["message"].startswith("statusCallback:")
            return
        assert response.status_code == 200, response.text
        attempts = wait_journal(http, response.json()["sid"], 3)
    assert [a["status"] for a in attempts] == STATUSES
    for a in attempts:
        assert a["responseStatus"] is None
        assert a["error"].startswith("InvalidURL")
    assert live.runtime.errors == []  # no clock job crashed on the way


def test_callbacks_held_back_by_a_burst_of_sends_all_arrive_in_order(
    make_server: Callable[..., LiveServer], receiver: Receiver
) -> None:
    """Sends racing from four threads narrow the callbacks' lane; none is lost or reordered."""
    live = make_server(send_delay=0.0, delivery_delay=0.0)
    sids: list[str] = []
    lock = threading.Lock()

    def sender() -> None:
        with httpx2.Client(base_url=live.url, timeout=10.0, trust_env=False) as http:
            project = {"projectId": DEFAULT_PROJECT_ID, "apiKey": DEFAULT_API_KEY}
            mine = [send(http, project, statusCallback=receiver.url()) for _ in range(100)]
        with lock:
            sids.extend(mine)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(sids) == 400

    def first_receipts() -> dict[str, list[str]] | None:
        # A retry after a timed-out attempt may repeat a status (at least once):
        # what counts is that every status arrived, first receipts in order.
        by_sid: dict[str, list[str]] = {}
        for request in list(receiver.requests):
            body = request.json()
            by_sid.setdefault(body["SmsSid"], []).append(body["SmsStatus"])
        firsts = {sid: list(dict.fromkeys(statuses)) for sid, statuses in by_sid.items()}
        done = sum(len(statuses) for statuses in firsts.values()) == 1200
        return firsts if done else None

    firsts = wait_until(first_receipts, timeout=30)
    assert sorted(firsts) == sorted(sids)
    assert all(statuses == STATUSES for statuses in firsts.values())
    assert live.runtime.dispatcher.lane.requests == 400
