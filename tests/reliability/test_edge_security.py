"""The HTTP edge under hostile input: no 5xx from headers, a guarded mock surface, and
a deadline on request bodies. One regression test (at least) per defect of the probe.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any

import httpx2

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
