"""The HTTP edge under hostile input: no 5xx from headers, a guarded mock surface, and
a deadline on request bodies. One regression test (at least) per defect of the probe.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

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
        logged = client.get("/_mock/requests").json()["requests"]
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
