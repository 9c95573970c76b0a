"""`augnet-mock check-webhook` and `audit_webhook` against three real receivers written
here: a correct one, one that skips signature checks, and one that is not idempotent.
Also `augnet-mock segments` as a CI step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from augnet_mock import verify
from augnet_mock.signing import SignatureError
from augnet_mock.webhook_audit import audit_webhook

KEY = "audit-test-key"
PROJECT = "audit-project"
Judge = Callable[[str, dict[str, str], bytes], int]


class Hook:
    """A webhook receiver on 127.0.0.1 whose answers `judge(path, headers, body)` decides."""

    def __init__(self, judge: Judge) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = judge(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook?tenant=a%20b"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verified(path: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        verify(method="POST", path=path, headers=headers, body=body, key=KEY, key_id=PROJECT)
    except SignatureError:
        return False
    return True


def correct(path: str, headers: dict[str, str], body: bytes) -> int:
    """Verifies every callback; reads To only if present; a repeat is acknowledged."""
    if not verified(path, headers, body):
        return 401
    json.loads(body).get("To")
    return 200


def no_signature_check(path: str, headers: dict[str, str], body: bytes) -> int:
    """Accepts anything that parses: forged, stale and tampered callbacks included."""
    json.loads(body)
    return 200


def not_idempotent() -> Judge:
    """Verifies, but inserts each (sid, status) once: a repeat is a unique-key error (500),
    and a status older than the one stored is refused (409)."""
    seen: set[tuple[str, str]] = set()
    rank = {"queued": 0, "sent": 1, "delivered": 2}
    latest: dict[str, int] = {}
    lock = threading.Lock()

    def judge(path: str, headers: dict[str, str], body: bytes) -> int:
        if not verified(path, headers, body):
            return 403
        data = json.loads(body)
        key = (data["SmsSid"], data["SmsStatus"])
        with lock:
            if key in seen:
                return 500
            seen.add(key)
            if rank[data["SmsStatus"]] < latest.get(data["SmsSid"], -1):
                return 409
            latest[data["SmsSid"]] = rank[data["SmsStatus"]]
        return 200

    return judge


def reads_to(path: str, headers: dict[str, str], body: bytes) -> int:
    """Verifies, then reads data["To"]: a body without To crashes it."""
    if not verified(path, headers, body):
        return 401
    return 200 if "To" in json.loads(body) else 500


@pytest.fixture
def hook() -> Iterator[Callable[[Judge], Hook]]:
    started: list[Hook] = []

    def start(judge: Judge) -> Hook:
        started.append(Hook(judge))
        return started[-1]

    yield start
    for h in started:
        h.close()


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUGNET_MOCK_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "augnet_mock", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
        env=env,
        check=False,
    )


def check_webhook(url: str) -> subprocess.CompletedProcess[str]:
    return cli("check-webhook", url, "--signing-key", KEY, "--project-id", PROJECT, "--json")


def verdicts(out: str) -> dict[str, bool]:
    return {row["case"]: row["safe"] for row in json.loads(out)["rows"]}


CASES = [
    "valid",
    "noTo",
    "badSignature",
    "staleDate",
    "wrongDigest",
    "missingSignature",
    "duplicate",
    "outOfOrder",
    "replay",
]


def test_correct_receiver_passes(hook: Callable[[Judge], Hook]) -> None:
    """A verifying, idempotent receiver that tolerates a missing To: every row safe, exit 0."""
    result = check_webhook(hook(correct).url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(CASES, True)


def test_receiver_that_skips_signature_checks_fails(hook: Callable[[Judge], Hook]) -> None:
    """Accepting forged, stale, tampered and unsigned callbacks marks those rows, exit 1."""
    result = check_webhook(hook(no_signature_check).url)
    assert result.returncode == 1
    unsafe = {case for case, safe in verdicts(result.stdout).items() if not safe}
    assert unsafe == {"badSignature", "staleDate", "wrongDigest", "missingSignature"}


def test_receiver_that_is_not_idempotent_fails(hook: Callable[[Judge], Hook]) -> None:
    """Erroring on a duplicate, a replay and a late status marks those rows, exit 1."""
    result = check_webhook(hook(not_idempotent()).url)
    assert result.returncode == 1
    rows = {row["case"]: row for row in json.loads(result.stdout)["rows"]}
    assert {case for case, row in rows.items() if not row["safe"]} == {
        "duplicate",
        "outOfOrder",
        "replay",
    }
    assert rows["duplicate"]["answers"] == [500]
    assert rows["outOfOrder"]["answers"] == [200, 409]
    assert rows["duplicate"]["note"].startswith("not idempotent")


def test_receiver_that_needs_to_fails_the_no_to_case(hook: Callable[[Judge], Hook]) -> None:
    """A receiver that needs To fails on the body the provider was seen to send."""
    scorecard = audit_webhook(hook(reads_to).url, signing_key=KEY, project_id=PROJECT)
    assert not scorecard.safe
    assert scorecard.unsafe == ["noTo"]
    assert scorecard.row("noTo").answers == (500,)


def test_scorecard_table_names_each_case(hook: Callable[[Judge], Hook]) -> None:
    """Without --json the scorecard is a table: one line per case and the verdict last."""
    result = cli("check-webhook", hook(no_signature_check).url, "--signing-key", KEY)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("webhook receiver audit: http://127.0.0.1:")
    assert any(line.startswith("badSignature") and "UNSAFE" in line for line in lines)
    assert lines[-1].startswith("4 unsafe cases: badSignature, staleDate")


def test_unreachable_receiver_is_unsafe() -> None:
    """Nothing listening: no case is answered, none is safe."""
    scorecard = audit_webhook("http://127.0.0.1:9/hook", signing_key=KEY, timeout=2.0)
    assert not any(row.safe for row in scorecard.rows)
    assert all(str(row.answers[0]).startswith("error:") for row in scorecard.rows)


# -- augnet-mock segments ----------------------------------------------------------------


def test_segments_prints_the_split_culprits_and_fix() -> None:
    """The split, each culprit with its code point and position, and the fix."""
    result = cli("segments", "Don’t forget – it’s today…")
    assert result.returncode == 0
    out = result.stdout
    assert out.startswith("UCS-2, 1 part, 26 UTF-16 units\n")
    assert "'’' (U+2019 RIGHT SINGLE QUOTATION MARK) at 3, 2 times -> \"'\"" in out
    assert "'–' (U+2013 EN DASH) at 13 -> '-'" in out
    assert "fix: 1 part \u2192 1 part with 4 replacements (GSM-7)" in out


def test_segments_max_segments_fails_a_ci_step() -> None:
    """--max-segments N: exit 1 when the text needs more parts, read from stdin with -."""
    over = cli("segments", "-", "--max-segments", "1", stdin="a" * 100 + "’\n")
    assert over.returncode == 1
    assert "UCS-2, 2 parts" in over.stdout
    assert "fix: 2 parts \u2192 1 part with 1 replacement (GSM-7)" in over.stdout
    assert "over the limit: 2 parts" in over.stderr
    fits = cli("segments", "-", "--max-segments", "1", stdin="a" * 160 + "\n")
    assert fits.returncode == 0
    assert fits.stdout.startswith("GSM-7, 1 part, 160 septets")
