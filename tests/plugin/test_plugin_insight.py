"""The plugin's reporting, seen from a user's project (pytester subprocesses): strict mode
on by default, encoding assertions, the usage summary and JSON, failure transcripts in the
terminal and in JUnit XML, and the webhook audit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from test_plugin_pytester import QUIET, SEND, TIMEOUT


@pytest.fixture(autouse=True)
def _no_external_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUGNET_MOCK_URL", raising=False)
    monkeypatch.delenv("AUGNET_MOCK_TOKEN", raising=False)


STRICT = """
import httpx2
import pytest

def post(augnet, **fields):
    with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
        return client.post("/api/v2/message", json={"to": "+447700900123", "body": "hi", **fields})

def test_typo_is_refused_by_default(augnet):
    response = post(augnet, statusCallBack="http://127.0.0.1:9/")
    assert response.status_code == 400
    assert 'did you mean "statusCallback"?' in response.json()["message"]

@pytest.mark.augnet(strict=False)
def test_marker_turns_it_off(augnet):
    response = post(augnet, statusCallBack="http://127.0.0.1:9/")
    assert response.status_code == 200
    assert response.headers["augnet-mock-warning"].startswith('unknown field "statusCallBack"')
    assert augnet.last_message().raw["warnings"]
"""


def test_strict_on_by_default_off_by_marker(pytester: pytest.Pytester) -> None:
    """In tests a typo'd field is a 400; @pytest.mark.augnet(strict=False) restores Augnet's
    silence (with a warning)."""
    pytester.makepyfile(test_strict=STRICT)
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=2)


def test_ini_option_turns_strict_off(pytester: pytest.Pytester) -> None:
    """augnet_strict = false in the ini file turns the default off for the whole suite."""
    pytester.makeini("[pytest]\naugnet_strict = false\n")
    pytester.makepyfile(
        test_lenient="""
        import httpx2

        def test_typo_passes(augnet):
            with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
                r = client.post("/api/v2/message",
                                json={"to": "+447700900123", "body": "x", "From": "A"})
            assert r.status_code == 200
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=1)


def test_encoding_assertions_name_the_culprits(pytester: pytest.Pytester) -> None:
    """assert_sent(encoding=, max_segments=) and assert_fits fail naming each character, its
    code point and position, and the fix; a text that fits passes."""
    pytester.makepyfile(
        helpers=SEND,
        test_fit="""
        from helpers import NUMBER, send

        def test_sent_fits(augnet):
            send(augnet, "Your taxi is here")
            augnet.assert_sent(to=NUMBER, encoding="GSM-7", max_segments=1)

        def test_sent_does_not_fit(augnet):
            send(augnet, "Your taxi’s here – gate 4")
            augnet.assert_sent(to=NUMBER, encoding="GSM-7", max_segments=1)

        def test_template_does_not_fit(augnet):
            augnet.assert_fits("Hi {name}, it’s ready".format(name="Zoë") + "." * 60,
                               max_segments=1)

        def test_template_fits(augnet):
            augnet.assert_fits("Hi Zoe, it's ready", max_segments=1, encoding="GSM-7")
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E   *augnet-mock: message * to +447700900123: the body is UCS-2, not GSM-7",
            "E   *characters that forced UCS-2 (position in code points):",
            "E   *'’' (U+2019 RIGHT SINGLE QUOTATION MARK) at 9 -> \"'\"",
            "E   *'–' (U+2013 EN DASH) at 17 -> '-'",
            "E   *with the replacements: 1 part → 1 part with 2 replacements (GSM-7)*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E   *augnet-mock: the body needs 2 parts (UCS-2), over 1",
            "E   *'ë' (U+00EB LATIN SMALL LETTER E WITH DIAERESIS) at 5 -> 'e'",
            "E   *'’' (U+2019 RIGHT SINGLE QUOTATION MARK) at 10 -> \"'\"",
            "E   *with the replacements: 2 parts → 1 part with 2 replacements (GSM-7)*",
        ]
    )


USAGE_TESTS = """
from helpers import send

def test_none(augnet):
    pass

def test_one(augnet):
    send(augnet, "hello")

def test_long(augnet):
    send(augnet, "x" * 400)
    send(augnet, "y’" * 100)

def test_no_fixture():
    pass
"""


def test_terminal_summary_and_usage_json(pytester: pytest.Pytester) -> None:
    """The run ends with totals and the tests that sent the most parts; the JSON file has
    each test's figures."""
    pytester.makepyfile(helpers=SEND, test_usage=USAGE_TESTS)
    result = pytester.runpytest_subprocess(
        *QUIET, "--augnet-usage-json", "usage.json", timeout=TIMEOUT
    )
    result.assert_outcomes(passed=4)
    # +447700900123 pays the default "+44" price, 0.04 a part: 1 + 3 + 3 parts.
    result.stdout.fnmatch_lines(
        [
            "*- augnet-mock usage -*",
            "3 messages, 7 parts, cost 0.28 in 3 tests",
            "the 2 tests that sent the most parts:",
            "*6 parts*2 messages*cost 0.24*test_usage.py::test_long",
            "*1 parts*1 messages*cost 0.04*test_usage.py::test_one",
        ]
    )
    data = json.loads((pytester.path / "usage.json").read_text(encoding="utf-8"))
    assert data["total"] == {"tests": 3, "messages": 3, "parts": 7, "cost": 0.28}
    assert data["tests"]["test_usage.py::test_long"] == {"messages": 2, "parts": 6, "cost": 0.24}
    assert data["tests"]["test_usage.py::test_none"] == {"messages": 0, "parts": 0, "cost": 0.0}
    assert "test_usage.py::test_no_fixture" not in data["tests"]


def test_usage_json_under_xdist(pytester: pytest.Pytester) -> None:
    """Under pytest-xdist the controller gathers every worker's figures."""
    pytester.makepyfile(helpers=SEND, test_usage=USAGE_TESTS)
    result = pytester.runpytest_subprocess(
        *QUIET, "-n", "2", "--augnet-usage-json", "usage.json", timeout=TIMEOUT
    )
    result.assert_outcomes(passed=4)
    data = json.loads((pytester.path / "usage.json").read_text(encoding="utf-8"))
    assert data["total"] == {"tests": 3, "messages": 3, "parts": 7, "cost": 0.28}


TRANSCRIPT = """
from helpers import NUMBER, send

def test_fails(augnet, tmp_path):
    send(augnet, "Your code is 1243")
    send(augnet, "It’s here", statusCallback="http://127.0.0.1:9/hook")
    augnet.wait_for_callback(status="queued", timeout=5)
    assert False, "the app sent the wrong code"

def test_passes(augnet):
    send(augnet, "fine")
"""


def test_failed_test_carries_its_transcript(pytester: pytest.Pytester) -> None:
    """A failing test's report lists every message: to, from, body, encoding and parts,
    timeline and callback attempts; a passing one has none."""
    pytester.makepyfile(helpers=SEND, test_transcript=TRANSCRIPT)
    result = pytester.runpytest_subprocess(*QUIET, "--junitxml=junit.xml", timeout=TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- augnet-mock transcript -*",
            "2 messages sent by this test:",
            "[[]1[]] * to +447700900123 from +441743581416",
            "    body: 'Your code is 1243'",
            "    GSM-7, 1 part, price 0.04",
            "    timeline: queued *",
            "[[]2[]] * to +447700900123 from +441743581416",
            "    body: 'It’s here'",
            "    UCS-2, 1 part, price 0.04",
            "    forced UCS-2 by '’' U+2019 at 2; fix: 1 part → 1 part with 1 replacement",
            "    callbacks:",
            "      queued -> http://127.0.0.1:9/hook (attempt 1): *",
        ]
    )
    assert result.stdout.str().count("augnet-mock transcript") == 1
    suite = ET.parse(pytester.path / "junit.xml").getroot()
    failures = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    assert failures["test_passes"] is None
    failure = failures["test_fails"]
    assert failure is not None
    text = failure.text or ""
    assert "augnet-mock transcript" in text
    assert "body: 'Your code is 1243'" in text
    assert "queued -> http://127.0.0.1:9/hook (attempt 1)" in text


def test_audit_webhook_from_a_test(pytester: pytest.Pytester) -> None:
    """augnet.audit_webhook(url) returns the scorecard, signed with the test's project."""
    pytester.makepyfile(
        test_audit="""
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        def test_lenient_receiver_is_unsafe(augnet):
            class Accept(BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers["content-length"]))
                    self.send_response(204)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                card = augnet.audit_webhook(f"http://127.0.0.1:{server.server_port}/h")
            finally:
                server.shutdown()
            assert not card.safe
            assert card.unsafe == ["badSignature", "staleDate", "wrongDigest",
                                   "missingSignature"]
            assert card.row("valid").answers == (204,)
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
