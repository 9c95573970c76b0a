"""The `augnet` handle itself, driven through the installed plugin's fixtures against the
in-thread server, with a real webhook receiver where callbacks matter."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from typing import Any

import aiohttp
import httpx
import httpx2
import pytest

from augnet_mock import AugnetError, AugnetMock, LiveServer, MagicNumbers, verify
from augnet_mock.handle import fast_settings, find_code
from augnet_mock.transport import AsyncAugnetTransport, AugnetTransport

NUMBER = "+447700900123"
OTHER = "+447700900124"


def send(augnet: AugnetMock, body: str, to: str = NUMBER, **fields: Any) -> httpx2.Response:
    with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth, trust_env=False) as client:
        return client.post("/api/v2/message", json={"to": to, "body": body, **fields})


def test_each_handle_has_its_own_project_deleted_on_close(augnet_server: LiveServer) -> None:
    """create() makes a fresh project; close() deletes it with its messages and rules."""
    with AugnetMock.create(augnet_server) as first, AugnetMock.create(augnet_server) as second:
        assert first.project_id != second.project_id
        assert send(first, "one").status_code == 200
        rule = first.scenario(like="undelivered")
        assert [m.body for m in first.messages()] == ["one"]
        assert second.messages() == []
    with httpx2.Client(base_url=augnet_server.url, trust_env=False) as client:
        assert client.get(f"/_mock/projects/{first.project_id}").status_code == 404
        assert client.get("/_mock/messages", params={"projectId": first.project_id}).json() == {
            "messages": [],
            "nextCursor": None,
        }
        rules = [r["id"] for r in client.get("/_mock/scenarios").json()["scenarios"]]
        assert rule["id"] not in rules


def test_handle_sends_the_admin_token() -> None:
    """Against a server with an admin token, the handle carries it on every control
    request (its own server's without being told; a URL's when given) and the live
    waits work; without it, creation fails saying how to pass it."""
    token = "h4ndle-token"
    with LiveServer(fast_settings(admin_token=token)) as live:
        with AugnetMock.create(live) as augnet:  # in-process: the server's own token
            assert send(augnet, "one").status_code == 200
            assert augnet.wait_for_message(body="one", status="delivered").body == "one"
        with AugnetMock.create(live.url, token=token) as augnet:  # over HTTP
            assert send(augnet, "two").status_code == 200
            assert augnet.wait_for_message(body="two").body == "two"
            augnet.scenario(like="undelivered")
        with pytest.raises(AugnetError, match=r"401.*--augnet-token"):
            AugnetMock.create(live.url)


def test_handle_needs_no_pytest(tmp_path: Any) -> None:
    """The handle is a plain class: a script without pytest starts a server and asserts."""
    script = tmp_path / "script.py"
    script.write_text(
        "import sys, httpx2\n"
        "from augnet_mock import AugnetMock, LiveServer\n"
        "with LiveServer() as live, AugnetMock.create(live) as augnet:\n"
        "    httpx2.post(augnet.send_url, auth=augnet.auth, trust_env=False,\n"
        "                json={'to': '+447700900123', 'body': 'code 9876'})\n"
        "    assert augnet.extract_code() == '9876'\n"
        "assert 'pytest' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_credentials_send_and_record(augnet: AugnetMock) -> None:
    """auth and base_url are all a client needs; the message is recorded as sent."""
    response = send(augnet, "Your taxi ABC123", **{"from": "ABCTAXI"})
    assert response.status_code == 200, response.text
    message = augnet.last_message()
    assert message.sid == response.json()["sid"]
    assert (message.to, message.requested_from) == (NUMBER, "ABCTAXI")
    assert message.body == "Your taxi ABC123"
    assert augnet.message(message.sid).body == "Your taxi ABC123"


def test_webhook_url_and_signing_key_setters(augnet: AugnetMock, receiver: Any) -> None:
    """Setting webhook_url and signing_key changes where callbacks go and how they are signed."""
    augnet.webhook_url = receiver.url("/status")
    augnet.signing_key = "rotated-key"
    assert (augnet.webhook_url, augnet.signing_key) == (receiver.url("/status"), "rotated-key")
    send(augnet, "hello")
    received = receiver.wait_for(3, timeout=5)
    assert [r.json()["SmsStatus"] for r in received] == ["queued", "sent", "delivered"]
    for r in received:
        verify(method="POST", path=r.path, headers=r.headers, body=r.body, key="rotated-key")
    assert augnet.wait_for_callback(status="delivered").ok


def test_update_validates_like_create(augnet: AugnetMock) -> None:
    """PATCH refuses a bad field or a new projectId, naming the field."""
    with pytest.raises(AugnetError, match="400: webhookUrl: "):
        augnet.webhook_url = "not a url"
    with pytest.raises(AugnetError, match="projectId: cannot be changed"):
        augnet.update(projectId="another")
    assert augnet.webhook_url is None


def test_wait_for_message_wakes_on_events_not_polling(
    augnet: AugnetMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wait returns soon after the message arrives, having looked only on server events."""
    looks = 0
    original = augnet.messages

    def counting(**filters: Any) -> Any:
        nonlocal looks
        looks += 1
        return original(**filters)

    monkeypatch.setattr(augnet, "messages", counting)
    timer = threading.Timer(0.3, send, args=(augnet, "late"))
    started = time.monotonic()
    timer.start()
    try:
        message = augnet.wait_for_message(body="late", status="delivered", timeout=5)
    finally:
        timer.join()
    elapsed = time.monotonic() - started
    assert message.statuses == ["queued", "sent", "delivered"]
    assert 0.3 <= elapsed < 2.5
    assert looks <= 6, f"looked {looks} times: polling, not waiting on events"
    # A status the message has passed through still counts as reached.
    assert augnet.wait_for_message(status="sent", timeout=0.5).sid == message.sid


def test_wait_for_message_times_out_with_near_misses(augnet: AugnetMock) -> None:
    """A wait that fails is bounded by its timeout and shows what was sent instead."""
    send(augnet, "to someone else", to=OTHER)
    started = time.monotonic()
    with pytest.raises(AssertionError) as failure:
        augnet.wait_for_message(to=NUMBER, timeout=0.3)
    assert time.monotonic() - started < 2
    text = str(failure.value)
    assert "waited 0.3 s for a message to '+447700900123'; it did not come." in text
    assert "[1] to '+447700900124'" in text
    assert "to differs:" in text


def test_wait_for_callback_and_redeliver(augnet: AugnetMock, receiver: Any) -> None:
    """Failed attempts are retried; wait_for_callback sees them, and redeliver posts again."""
    receiver.answers.extend([500])
    augnet.webhook_url = receiver.url()
    send(augnet, "hi")
    failed = augnet.wait_for_callback(status="queued", ok=False)
    assert (failed.response_status, failed.error) == (500, "receiver answered 500")
    retried = augnet.wait_for_callback(status="queued", ok=True)
    assert retried.attempt == 2
    delivered = augnet.wait_for_callback(status="delivered")
    again = augnet.redeliver(delivered)
    assert again.redelivery
    assert again.ok
    assert again.request_body == delivered.request_body
    with pytest.raises(AssertionError, match=r"waited 0\.2 s for 1 callback attempt"):
        augnet.wait_for_callback(status="undelivered", timeout=0.2)


def test_strict_callbacks_check(augnet_server: LiveServer, receiver: Any) -> None:
    """With strict_callbacks, check() lists every attempt not acknowledged with a 2xx."""
    receiver.default_status = 503
    with AugnetMock.create(
        augnet_server, {"webhookUrl": receiver.url()}, strict_callbacks=True
    ) as handle:
        send(handle, "hi")
        handle.wait_for_callback(status="queued")
        with pytest.raises(AssertionError, match=r"strict_callbacks: .* not acknowledged"):
            handle.check()
        handle.strict_callbacks = False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("Your code is 482913", "482913"),
        ("Use 0042 to sign in", "0042"),
        ("Your verification code: X7K9Q2. It expires in 10 minutes.", "X7K9Q2"),
        ("OTP=AB12", "AB12"),
        ("Your code expires soon: 123-456", "123456"),
        ("Code: 987 654", "987654"),
        ("PIN 5521 for card ending 1234", "5521"),
        ("Your taxi ABC123 arrives at 12:30", None),
        ("Call +447700900123 now", None),
        ("Your code is ready", None),
    ],
)
def test_find_code(body: str, code: str | None) -> None:
    """One-time codes: alphanumeric after a keyword, else 4-8 standalone digits."""
    assert find_code(body) == code


def test_extract_code_reads_the_last_message(augnet: AugnetMock) -> None:
    """extract_code() reads the newest message (to a number), and says so when it has none."""
    send(augnet, "Your code is 1111")
    send(augnet, "Your code is 2222", to=OTHER)
    send(augnet, "Welcome aboard")
    assert augnet.extract_code(to=OTHER) == "2222"
    assert augnet.extract_code(pattern=r"code is (\d+)", to=OTHER) == "2222"
    with pytest.raises(AssertionError, match="no one-time code in the last message to "):
        augnet.extract_code()


def test_last_message_without_any_fails_clearly(augnet: AugnetMock) -> None:
    """last_message() with nothing sent is an assertion, not a None."""
    with pytest.raises(AssertionError, match="no message was sent to '\\+447700900123'"):
        augnet.last_message(to=NUMBER)


def test_assert_sent_counts_segments_and_absence(augnet: AugnetMock) -> None:
    """assert_sent checks segments and exact counts; assert_not_sent checks absence."""
    send(augnet, "x" * 200)
    send(augnet, "short")
    assert len(augnet.assert_sent(to=NUMBER, count=2)) == 2
    assert augnet.assert_sent(segments=2)[0].parts[1] == "x" * 47
    augnet.assert_not_sent(to=OTHER)
    with pytest.raises(AssertionError, match="expected 0 messages whose body contains 'short'"):
        augnet.assert_not_sent(body_contains="short")
    assert augnet.clear() == 2
    augnet.assert_sent(count=0)


def test_scenarios_are_scoped_to_the_project(augnet: AugnetMock) -> None:
    """A rule added through the handle never touches another project's sends."""
    augnet.scenario(to=NUMBER, api_error={"status": 503, "message": "down for a test"})
    assert send(augnet, "x").json()["message"] == "down for a test"
    with AugnetMock.create(augnet.server or augnet.base_url) as neighbour:
        assert send(neighbour, "x").status_code == 200
    assert augnet.rejected()[0]["status"] == 503


def test_scenario_like_a_magic_number_with_regex_match(augnet: AugnetMock) -> None:
    """like= borrows a magic number's outcome; a compiled regex matches the body."""
    augnet.scenario(like="undelivered", body=re.compile(r"^fail"), times=1)
    send(augnet, "fail me")
    send(augnet, "fail again")
    assert augnet.wait_for_message(body="fail me", status="undelivered").error_code == "30003"
    assert augnet.wait_for_message(body="fail again", status="delivered")


def test_magic_numbers_match_the_servers_table(augnet: AugnetMock) -> None:
    """Every named magic number is in the server's built-in table with the same effect."""
    with httpx2.Client(base_url=augnet.base_url, trust_env=False) as client:
        table = client.get("/_mock/scenarios/builtin").json()["numbers"]
    effects = {row["number"]: row["effect"] for row in table}
    assert set(MagicNumbers.names().values()) == set(effects)
    for name, number in MagicNumbers.names().items():
        assert MagicNumbers.effect(name) == effects[number]
    assert send(augnet, "x", to=augnet.magic.rate_limited).status_code == 429
    with pytest.raises(ValueError, match="unknown magic outcome 'sideways'"):
        augnet.scenario(like="sideways")


def test_advancing_a_real_clock_explains_the_marker(augnet: AugnetMock) -> None:
    """The shared server's clock is real; advancing it says how to get a manual one."""
    assert augnet.clock.mode == "real"
    with pytest.raises(AugnetError, match=r"@pytest.mark.augnet\(clock='manual'\)"):
        augnet.clock.advance(1)


@pytest.mark.augnet(clock="manual")
def test_manual_clock_marker_gives_a_dedicated_server(
    augnet: AugnetMock, augnet_server: LiveServer
) -> None:
    """clock='manual' runs the test on a server of its own, whose time moves only when told."""
    assert augnet.server is not augnet_server
    before = augnet.clock.now()
    send(augnet, "x")
    assert augnet.clock.pending >= 1
    assert augnet.clock.advance(60) >= 2  # sent, then delivered (no callback URL)
    assert augnet.clock.now() == pytest.approx(before + 60)
    assert augnet.last_message().status == "delivered"


# Both client libraries the transports serve; httpx2 is the runtime dependency, httpx
# comes with the test extra.
LIBRARIES = [pytest.param(httpx2, id="httpx2"), pytest.param(httpx, id="httpx")]
Library = Any  # the httpx2 or httpx module: one API


@pytest.mark.parametrize("lib", LIBRARIES)
def test_in_process_transport(augnet: AugnetMock, lib: Library) -> None:
    """The sync transport serves sends, errors, streams and dropped connections, no socket,
    answering with the client's own library's classes."""
    transport = augnet.transport()
    with lib.Client(base_url=augnet.base_url, auth=augnet.auth, transport=transport) as client:
        response = client.post("/api/v2/message", json={"to": NUMBER, "body": "in-process"})
        assert response.status_code == 200, response.text
        assert type(response) is lib.Response
        bad = client.post("/api/v2/message", json={"to": "07700", "body": "x"})
        assert bad.status_code == 400
        assert bad.json()["message"].startswith("to: ")
        dropped = {"to": augnet.magic.dropped_connection, "body": "x"}
        with pytest.raises(lib.RemoteProtocolError):
            client.post("/api/v2/message", json=dropped)
        with client.stream("GET", "/_mock/events", params={"projectId": augnet.project_id}) as s:
            assert s.headers["content-type"].startswith("text/event-stream")
            assert next(s.iter_lines()) == ": connected"
    augnet.assert_sent(body="in-process", count=1)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_in_process_async_transport(augnet: AugnetMock, lib: Library) -> None:
    """The async transport works from any event loop, e.g. the caller's own, with either
    library: sends, errors, streams and dropped connections."""

    async def main() -> list[int]:
        async with lib.AsyncClient(
            base_url=augnet.base_url, auth=augnet.auth, transport=augnet.async_transport()
        ) as client:
            sends = [
                client.post("/api/v2/message", json={"to": NUMBER, "body": f"async {i}"})
                for i in range(5)
            ]
            statuses = [r.status_code for r in await asyncio.gather(*sends)]
            bad = await client.post("/api/v2/message", json={"to": "07700", "body": "x"})
            assert (type(bad), bad.status_code) == (lib.Response, 400)
            dropped = {"to": augnet.magic.dropped_connection, "body": "x"}
            with pytest.raises(lib.RemoteProtocolError):
                await client.post("/api/v2/message", json=dropped)
            params = {"projectId": augnet.project_id}
            async with client.stream("GET", "/_mock/events", params=params) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                assert await anext(lines) == ": connected"
            return statuses

    assert asyncio.run(main()) == [200] * 5
    augnet.assert_sent(count=5)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_in_process_read_timeouts(augnet: AugnetMock, lib: Library) -> None:
    """A read timeout, waiting for the answer or for the next streamed chunk, raises the
    library's ReadTimeout, sync and async."""
    slow = {"to": augnet.magic.slow_api, "body": "x"}  # answered after 2 s
    params = {"projectId": augnet.project_id}
    short = lib.Timeout(5.0, read=0.2)
    with lib.Client(
        base_url=augnet.base_url, auth=augnet.auth, transport=augnet.transport(), timeout=short
    ) as client:
        with pytest.raises(lib.ReadTimeout):
            client.post("/api/v2/message", json=slow)
        with client.stream("GET", "/_mock/events", params=params) as stream:
            lines = stream.iter_lines()
            assert next(lines) == ": connected"
            with pytest.raises(lib.ReadTimeout):
                list(lines)  # no event comes: the stream stays open, silent

    async def main() -> None:
        async with lib.AsyncClient(
            base_url=augnet.base_url,
            auth=augnet.auth,
            transport=augnet.async_transport(),
            timeout=short,
        ) as client:
            with pytest.raises(lib.ReadTimeout):
                await client.post("/api/v2/message", json=slow)
            async with client.stream("GET", "/_mock/events", params=params) as stream:
                lines = stream.aiter_lines()
                assert await anext(lines) == ": connected"
                with pytest.raises(lib.ReadTimeout):
                    [line async for line in lines]  # read until the timeout

    asyncio.run(main())


@pytest.mark.parametrize("lib", LIBRARIES)
def test_transport_to_a_stopped_server_is_a_connect_error(lib: Library) -> None:
    """With the server's loop gone, a request fails as the library's ConnectError."""
    with LiveServer() as live:
        transport = AugnetTransport(live.app, live.loop)
    with lib.Client(transport=transport) as client, pytest.raises(lib.ConnectError):
        client.get(f"{live.url}/_mock/health")

    async def main() -> None:
        transport = AsyncAugnetTransport(live.app, live.loop)
        async with lib.AsyncClient(transport=transport) as client:
            with pytest.raises(lib.ConnectError):
                await client.get(f"{live.url}/_mock/health")

    asyncio.run(main())


@pytest.mark.parametrize("lib", LIBRARIES)
def test_external_server_transport_follows_the_callers_library(
    augnet_server: LiveServer, lib: Library
) -> None:
    """Against a server reached by URL, transport() and async_transport() send plain HTTP
    through the library the client belongs to."""
    with AugnetMock.create(augnet_server.url) as augnet:
        assert augnet.server is None
        with lib.Client(
            base_url=augnet.base_url, auth=augnet.auth, transport=augnet.transport()
        ) as client:
            response = client.post("/api/v2/message", json={"to": NUMBER, "body": "sync"})
            assert (type(response), response.status_code) == (lib.Response, 200)
            dropped = {"to": augnet.magic.dropped_connection, "body": "x"}
            with pytest.raises(lib.RemoteProtocolError):
                client.post("/api/v2/message", json=dropped)

        async def main() -> int:
            async with lib.AsyncClient(
                base_url=augnet.base_url, auth=augnet.auth, transport=augnet.async_transport()
            ) as client:
                sent = await client.post("/api/v2/message", json={"to": NUMBER, "body": "async"})
                assert type(sent) is lib.Response
                return sent.status_code

        assert asyncio.run(main()) == 200
        augnet.assert_sent(body="sync", count=1)
        augnet.assert_sent(body="async", count=1)


def test_transports_are_both_libraries_transports(augnet: AugnetMock) -> None:
    """With httpx imported, the transports are instances of both libraries' base classes,
    as their type hints say."""
    for transport in (augnet.transport(), AugnetTransport(augnet.server.app, None)):
        assert isinstance(transport, httpx2.BaseTransport)
        assert isinstance(transport, httpx.BaseTransport)
        assert isinstance(transport, AugnetTransport)
    for transport in (augnet.async_transport(), AsyncAugnetTransport(augnet.server.app, None)):
        assert isinstance(transport, httpx2.AsyncBaseTransport)
        assert isinstance(transport, httpx.AsyncBaseTransport)
        assert isinstance(transport, AsyncAugnetTransport)


def test_unsupported_clients_get_a_type_error(augnet: AugnetMock) -> None:
    """requests, aiohttp, a foreign request object or the wrong kind of client get a
    TypeError naming the supported clients, not an error from deep inside them."""
    supported = r"serve httpx2 and httpx clients only"
    transport: Any = augnet.transport()
    with pytest.raises(TypeError, match=supported + r".*got a builtins.object request"):
        transport.handle_request(object())
    requests = pytest.importorskip("requests")
    with requests.Session() as session:
        session.mount("http://", augnet.transport())
        with pytest.raises(TypeError, match=supported + r".*requests"):
            session.get(f"{augnet.base_url}/_mock/health")

    async def with_aiohttp() -> None:
        connector: Any = augnet.async_transport()
        with pytest.raises(TypeError, match=supported + r".*aiohttp"):
            aiohttp.ClientSession(connector=connector)

    asyncio.run(with_aiohttp())
    wrong: Any = augnet.async_transport()  # a type checker flags this already
    with pytest.raises(
        TypeError, match=r"serves an AsyncClient; a sync Client needs transport\(\)"
    ):
        httpx.Client(transport=wrong).get(f"{augnet.base_url}/_mock/health")

    async def wrong_kind() -> None:
        wrong: Any = augnet.transport()
        with pytest.raises(TypeError, match=r"serves a sync client; .* async_transport\(\)"):
            await httpx2.AsyncClient(transport=wrong).get(f"{augnet.base_url}/_mock/health")

    asyncio.run(wrong_kind())
