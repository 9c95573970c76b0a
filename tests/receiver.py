"""A real HTTP webhook receiver for tests: records every request it gets.

It runs `http.server` in a thread on 127.0.0.1 (or another loopback address) and a
free port. Tests script its answers (status codes, delays) and wait for requests
with a bounded timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request was read

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Received] = []
        self.answers: deque[int] = deque()  # scripted statuses, then `default_status`
        self.default_status = 200
        self.delay = 0.0  # seconds to wait before answering
        # Cleared by a test to hold every answer until it is set again (at most 10 s):
        # unlike `delay`, it does not depend on how fast the machine is.
        self.release = threading.Event()
        self.release.set()
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                got = Received(
                    self.command, self.path, dict(self.headers.items()), body, time.time()
                )
                with receiver._cond:
                    receiver.requests.append(got)
                    status = (
                        receiver.answers.popleft() if receiver.answers else receiver.default_status
                    )
                    receiver._cond.notify_all()
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver.release.wait(10.0)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self.host = host
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests arrived (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.requests)} requests, expected {count}"
                    )
                self._cond.wait(left)
            return list(self.requests)
