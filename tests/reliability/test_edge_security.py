"""The HTTP edge under hostile input: no 5xx from headers, a guarded mock surface, and
a deadline on request bodies. One regression test (at least) per defect of the probe.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augnet_mock.handle import fast_settings
from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID
from augnet_mock.server import LiveServer

SEND = "/api/v2/message"
ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}
BASIC = b"Authorization: Basic %s\r\n" % base64.b64encode(
    f"{DEFAULT_PROJECT_ID}:{DEFAULT_API_KEY}".encode()
)
SOCKET_WAIT = 10.0  # seconds a raw-socket test waits for any answer before failing


def raw_exchange(live: LiveServer, request: bytes, *, wait: float = SOCKET_WAIT) -> bytes:
    """Send raw bytes and read until the server closes the connection (or `wait` ends)."""
    with socket.create_connection((live.host, live.port), timeout=wait) as sock:
        sock.sendall(request)
        answer = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                return answer
            answer += chunk
    raise AssertionError(f"the server kept the connection open; got {answer[:200]!r}")


def split(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return status, headers, json.loads(body) if body else None


# -- defect 5: headers never cause a 5xx ------------------------------------------------


def test_non_ascii_basic_credentials_get_401_and_are_logged(server: LiveServer) -> None:
    """defect 5: a raw non-ASCII Authorization value gets 401 with the Basic challenge,
    in the error shape, and shows up in the rejected-requests log."""
    answer = raw_exchange(
        server,
        b"POST /api/v2/message HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Basic \xc3\xa9\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    status, headers, body = split(answer)
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="augnet"'
    assert set(body) == ERROR_KEYS
    assert "Basic" in body["message"]
    with httpx2.Client(base_url=server.url, trust_env=False) as client:
        # Newest first: the shared server holds many tests' rejections, 100 to a page.
        logged = client.get("/_mock/requests", params={"order": "newest"}).json()["requests"]
    assert any(r["error"]["timestamp"] == body["timestamp"] and r["status"] == 401 for r in logged)


# -- defect 14: a request body has a deadline ---------------------------------------------


@pytest.mark.parametrize("path", [SEND, "/_mock/projects", "/_mock/demo"])
def test_stalled_body_gets_408_and_close(make_server: Callable[..., LiveServer], path: str) -> None:
    """defect 14: headers and half a body, then silence: 408 in the error shape,
    `Connection: close` and EOF, all within the body timeout (plus scheduling slack)."""
    live = make_server(body_timeout=0.5)
    headers = BASIC if path == SEND else b""
    started = time.monotonic()
    answer = raw_exchange(
        live,
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + headers
        + b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        + b'{"to": "+4475156',  # 16 of the 40 bytes announced
        wait=5.0,
    )
    took = time.monotonic() - started
    status, response_headers, body = split(answer)
    assert status == 408
    assert response_headers["connection"] == "close"
    assert set(body) == ERROR_KEYS
    assert "body_timeout" in body["message"]
    assert took >= 0.45, "answered before the deadline"
    assert took < 5.0


def test_trickled_body_still_times_out(make_server: Callable[..., LiveServer]) -> None:
    """defect 14: the deadline covers the whole body, so trickling a byte at a time
    (each well inside the deadline) still ends in 408."""
    live = make_server(body_timeout=0.6)
    with socket.create_connection((live.host, live.port), timeout=5.0) as sock:
        sock.sendall(
            b"POST /_mock/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        answer = b""
        for _ in range(40):  # bounded: 40 bytes at 0.1 s apart, far past the deadline
            try:
                sock.sendall(b" ")
            except OSError:
                break  # closed on us: what we want
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if answer:
                break
    assert split(answer)[0] == 408


def test_body_timeout_leaves_a_fast_body_alone(make_server: Callable[..., LiveServer]) -> None:
    """defect 14: a body that arrives in time is read as usual, across many requests on
    one connection, and later requests on the same server still get the full allowance."""
    live = make_server(body_timeout=0.3)
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        for _ in range(20):
            assert client.post("/_mock/projects", json={}).status_code == 201
        time.sleep(0.4)  # past the first reads' deadlines: the shared timer must move on
        assert client.post("/_mock/projects", json={}).status_code == 201


# -- defect 8: the mock surface is guarded ----------------------------------------------

TOKEN = "s3cret-t0ken"


def project_count(live: LiveServer) -> int:
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        response = client.get("/_mock/projects", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return len(response.json()["projects"])


def test_cross_site_text_plain_post_is_refused(make_server: Callable[..., LiveServer]) -> None:
    """defect 8: what a cross-site form can send (Origin of another site, text/plain)
    gets 403 and changes nothing."""
    live = make_server()
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        assert client.post("/_mock/projects", json={}).status_code == 201
        before = project_count(live)
        response = client.post(
            "/_mock/reset",
            headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
            content=b"x",
        )
        assert response.status_code == 403
        assert set(response.json()) == ERROR_KEYS
        assert "evil.example" in response.json()["message"]
        # A form without Origin (an older browser) still cannot post text/plain.
        response = client.post("/_mock/reset", headers={"Content-Type": "text/plain"}, content=b"x")
        assert response.status_code == 415
        assert set(response.json()) == ERROR_KEYS
        # The fetch metadata of a cross-site request is enough on its own.
        response = client.post("/_mock/reset", headers={"Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 403
    assert project_count(live) == before


def test_same_origin_and_non_browser_posts_still_work(
    make_server: Callable[..., LiveServer],
) -> None:
    """defect 8: the inbox's own requests (Origin equal to Host) and clients that send no
    Origin (curl, httpx) keep working."""
    live = make_server()
    origin = f"http://127.0.0.1:{live.port}"
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        response = client.post(
            "/_mock/projects",
            json={},
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        )
        assert response.status_code == 201, response.text
        assert client.post("/_mock/reset").status_code == 200
        demo = client.post("/_mock/demo", json={"count": 1}, headers={"Origin": origin})
        assert demo.status_code == 200, demo.text


def test_dns_rebinding_host_is_refused(server: LiveServer) -> None:
    """defect 8: a request whose Host is a foreign name (a DNS-rebinding page) gets 403
    naming the host and the option, and no API key; loopback names pass."""
    with httpx2.Client(base_url=server.url, trust_env=False) as client:
        for path in ("/_mock/projects", "/", "/static/app.js", "/openapi.json"):
            response = client.get(path, headers={"Host": f"attacker.example:{server.port}"})
            assert response.status_code == 403, path
            body = response.json()
            assert set(body) == ERROR_KEYS
            assert "'attacker.example'" in body["message"]
            assert "AUGNET_MOCK_ALLOWED_HOSTS" in body["message"]
            assert "apiKey" not in response.text
        for host in ("localhost", "LOCALHOST:1", "127.0.0.1", "127.3.4.5:80", "[::1]:8080"):
            assert client.get("/_mock/projects", headers={"Host": host}).status_code == 200
        # The Augnet surface answers any name: its own Basic credentials guard it.
        sent = client.post(
            SEND,
            auth=(DEFAULT_PROJECT_ID, DEFAULT_API_KEY),
            json={"to": "+447515650839", "body": "hi"},
            headers={"Host": "augnet-mock:8080"},
        )
        assert sent.status_code == 200, sent.text


def test_allowed_hosts_admits_more_names(make_server: Callable[..., LiveServer]) -> None:
    """defect 8: allowed_hosts adds names (a compose service), and "*" admits any."""
    live = make_server(allowed_hosts=("augnet-mock",))
    wild = make_server(allowed_hosts=("*",))
    with httpx2.Client(trust_env=False) as client:
        named = client.get(f"{live.url}/_mock/projects", headers={"Host": "augnet-mock:8080"})
        assert named.status_code == 200
        other = client.get(f"{live.url}/_mock/projects", headers={"Host": "other:8080"})
        assert other.status_code == 403
        anything = client.get(f"{wild.url}/_mock/projects", headers={"Host": "x.example"})
        assert anything.status_code == 200


def test_admin_token_is_required_when_set(make_server: Callable[..., LiveServer]) -> None:
    """defect 8: with admin_token, the control API and inbox answer 401 (Bearer
    challenge) without it or with a wrong one, and work with it."""
    live = make_server(admin_token=TOKEN)
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        for path in ("/_mock/projects", "/_mock/messages", "/", "/static/app.js"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == 'Bearer realm="augnet-mock"'
            assert set(response.json()) == ERROR_KEYS
        wrong = client.post("/_mock/reset", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/_mock/projects", headers=bearer).status_code == 200
        assert client.post("/_mock/projects", json={}, headers=bearer).status_code == 201
        assert client.get("/", headers=bearer).status_code == 200


def test_health_needs_no_token_and_no_local_host(make_server: Callable[..., LiveServer]) -> None:
    """defect 8: GET /_mock/health stays open (Docker HEALTHCHECK, probes by pod IP)."""
    live = make_server(admin_token=TOKEN)
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        response = client.get("/_mock/health", headers={"Host": "10.1.2.3:8080"})
        assert response.status_code == 200
        assert response.json()["status"] == "ok"


def test_inbox_token_sets_a_cookie_the_page_then_uses(
    make_server: Callable[..., LiveServer],
) -> None:
    """defect 8: opening /?token=<token> serves the inbox and sets an HttpOnly,
    SameSite=Strict cookie; the page's fetches and its event stream then carry it."""
    live = make_server(admin_token=TOKEN)
    with httpx2.Client(base_url=live.url, trust_env=False) as client:
        assert client.get("/", params={"token": "wrong"}).status_code == 401
        assert not client.cookies
        page = client.get("/", params={"token": TOKEN})
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        set_cookie = page.headers["set-cookie"]
        assert "HttpOnly" in set_cookie
        assert "SameSite=Strict" in set_cookie
        assert TOKEN not in set_cookie  # the browser keeps a derived value, not the token
        assert client.get("/_mock/projects").status_code == 200  # the cookie, sent back
        assert client.get("/static/app.js").status_code == 200
        with client.stream("GET", "/_mock/events", timeout=5.0) as events:
            assert events.status_code == 200
            assert next(events.iter_lines()).startswith(": connected")
        # The token in the query works for the page only, not for the control API.
    with httpx2.Client(base_url=live.url, trust_env=False) as fresh:
        assert fresh.get("/_mock/projects", params={"token": TOKEN}).status_code == 401


# -- defects 5 and 8, fuzzed: no header, query or body value gets a 5xx ------------------

ROUTES = [
    ("POST", SEND),
    ("GET", "/_mock/projects"),
    ("POST", "/_mock/projects"),
    ("GET", "/_mock/messages"),
    ("GET", "/_mock/callbacks"),
    ("GET", "/_mock/requests"),
    ("POST", "/_mock/scenarios"),
    ("POST", "/_mock/clock/advance"),
    ("GET", "/"),
    ("GET", "/_mock/health"),
]
HEADER_NAMES = [
    "Authorization",
    "Host",
    "Origin",
    "Sec-Fetch-Site",
    "Content-Type",
    "Cookie",
    "Accept",
    "X-Anything",
]
QUERY_KEYS = ["projectId", "status", "since", "ok", "to", "from", "sid", "token", "limit"]
# A header value is any bytes but CR and LF, which would end it (RFC 9112 §5).
header_values = st.one_of(
    st.binary(max_size=48).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from(
        [
            b"Basic \xc3\xa9",
            b"Bearer \xff\xfe",
            b"Bearer " + TOKEN.encode(),
            b"[",
            b"[::1",
            b"null",
            b"http://evil.example",
            b'augnet_mock_admin="\\777"',
            b"application/json; charset=\xff",
        ]
    ),
)
queries = st.lists(st.tuples(st.sampled_from(QUERY_KEYS), st.binary(max_size=24)), max_size=3).map(
    lambda pairs: "&".join(f"{k}={quote_from_bytes(v, safe='')}" for k, v in pairs)
)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=64),
    st.sampled_from([b"{}", b'{"to": "+447515650839", "body": "hi"}', b'{"seconds": 1e400}']),
)


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers to throw input at: one open, one with an admin token."""
    with (
        LiveServer(fast_settings(body_timeout=1.0)) as open_,
        LiveServer(fast_settings(body_timeout=1.0, admin_token=TOKEN)) as locked,
    ):
        yield open_, locked


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(ROUTES),
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values), max_size=4),
    query=queries,
    body=bodies,
    locked=st.booleans(),
)
def test_no_input_gets_a_server_error(
    fuzzed: tuple[LiveServer, LiveServer],
    route: tuple[str, str],
    headers: list[tuple[str, bytes]],
    query: str,
    body: bytes,
    locked: bool,
) -> None:
    """defects 5 and 8: arbitrary header bytes, query strings and bodies on the send
    route and control routes get an answer below 500, ours in the error shape."""
    live = fuzzed[locked]
    method, path = route
    target = path + ("?" + query if query else "")
    lines = [f"{method} {target} HTTP/1.1".encode()]
    if not any(name == "Host" for name, _ in headers):
        lines.append(b"Host: 127.0.0.1")
    lines += [name.encode() + b": " + value for name, value in headers]
    lines += [b"Content-Length: %d" % len(body), b"Connection: close"]
    answer = raw_exchange(live, b"\r\n".join(lines) + b"\r\n\r\n" + body)
    status, response_headers, raw_body = answer_parts(answer)
    assert status < 500, answer[:400]
    if status >= 400 and response_headers.get("content-type") == "application/json":
        assert set(json.loads(raw_body)) == ERROR_KEYS
    assert live.runtime.errors == []  # nothing failed inside the server either


def answer_parts(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body
