"""Fast tests by default: servers for a marker's clock, seed or settings are kept for later
tests with equal settings (reset between them), and each test's project gets short delays
on an external server. Real test files, run by a pytest subprocess."""

from __future__ import annotations

import json
from typing import Any

import pytest
from augnet_mock_pytest.plugin import MAX_POOLED_SERVERS

TIMEOUT = 60.0  # seconds for one inner pytest run
QUIET = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:faker")

RECORD = """
import json
import threading

import httpx2


def record(tmp_path_factory, name, augnet, **extra):
    '''Append what this test saw to a file the outer test reads.'''
    servers = sum(t.name == "augnet-mock" and t.is_alive() for t in threading.enumerate())
    line = {"test": name, "url": augnet.base_url, "servers": servers, **extra}
    path = tmp_path_factory.getbasetemp() / "seen.jsonl"
    with path.open("a") as fh:
        fh.write(json.dumps(line) + "\\n")


def send(augnet, to="+447700900123", body="hello"):
    with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
        response = client.post("/api/v2/message", json={"to": to, "body": body})
    assert response.status_code == 200, response.text
    return response.json()["sid"]
"""


@pytest.fixture(autouse=True)
def _no_external_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUGNET_MOCK_URL", raising=False)
    monkeypatch.delenv("AUGNET_MOCK_TOKEN", raising=False)


def seen(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    lines = (pytester.path / "basetemp" / "seen.jsonl").read_text().splitlines()
    return {line["test"]: line for line in map(json.loads, lines)}


def test_equal_settings_share_one_server_reset_between_tests(pytester: pytest.Pytester) -> None:
    """Tests with the same clock and seed reuse one server, which each finds as fresh as a new
    one: no rule, clock job or project left by the one before, the seed drawn anew."""
    pytester.makepyfile(
        helpers=RECORD,
        test_pool="""
        import httpx2
        import pytest
        from helpers import record, send

        MANUAL = pytest.mark.augnet(clock="manual", seed=3)
        ODDS = {"probability": 0.5, "effect": {"finalStatus": "undelivered"}}

        def outcomes(augnet):
            for i in range(12):
                send(augnet, body=f"m{i}")
            return [m.scenario is not None for m in augnet.messages()]

        @MANUAL
        def test_first(augnet, tmp_path_factory):
            # Leave a server-wide rule and a pending clock job behind.
            with httpx2.Client(base_url=augnet.base_url) as client:
                rule = {"match": {"to": "+447700900777"}, "effect": {"apiError": {"status": 418}}}
                assert client.post("/_mock/scenarios", json=rule).status_code == 201
            augnet.scenario(ODDS)
            first = outcomes(augnet)
            assert augnet.clock.pending > 0
            record(tmp_path_factory, "first", augnet, outcomes=first)

        @MANUAL
        def test_second(augnet, tmp_path_factory):
            assert augnet.clock.pending == 0
            with httpx2.Client(base_url=augnet.base_url) as client:
                projects = client.get("/_mock/projects").json()["projects"]
            assert [p["projectId"] for p in projects if p["projectId"] != augnet.project_id] == [
                "326488d2-f853-4dd6-8610-93f9011ac4e5"  # the default project, as at start
            ]
            assert augnet.messages() == []
            send(augnet, to="+447700900777")  # the rule of test_first is gone
            augnet.scenario(ODDS)
            record(tmp_path_factory, "second", augnet, outcomes=outcomes(augnet)[1:])

        @pytest.mark.augnet(clock="manual", seed=4)
        def test_other_seed(augnet, tmp_path_factory):
            record(tmp_path_factory, "other", augnet)

        def test_unmarked(augnet, tmp_path_factory):
            record(tmp_path_factory, "unmarked", augnet)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, "--basetemp=basetemp", timeout=TIMEOUT)
    result.assert_outcomes(passed=4)
    runs = seen(pytester)
    assert runs["first"]["url"] == runs["second"]["url"]
    assert runs["first"]["outcomes"] == runs["second"]["outcomes"]  # re-seeded by the reset
    assert len({runs[name]["url"] for name in ("first", "other", "unmarked")}) == 3


def test_the_pool_is_bounded(pytester: pytest.Pytester) -> None:
    """Past MAX_POOLED_SERVERS distinct settings the least recently used server stops."""
    pytester.makepyfile(
        helpers=RECORD,
        test_many=f"""
        import pytest
        from helpers import record

        @pytest.mark.parametrize("seed", range({MAX_POOLED_SERVERS + 3}))
        def test_seeded(request, seed, tmp_path_factory):
            request.applymarker(pytest.mark.augnet(seed=seed))
            augnet = request.getfixturevalue("augnet")
            record(tmp_path_factory, f"seed{{seed}}", augnet)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, "--basetemp=basetemp", timeout=TIMEOUT)
    result.assert_outcomes(passed=MAX_POOLED_SERVERS + 3)
    runs = seen(pytester)
    assert max(run["servers"] for run in runs.values()) == MAX_POOLED_SERVERS
    assert len({run["url"] for run in runs.values()}) == MAX_POOLED_SERVERS + 3


def test_marker_delays_go_to_the_project(pytester: pytest.Pytester) -> None:
    """settings={"send_delay": ...} sets the test's project delay on the session server
    rather than starting a server of its own."""
    pytester.makepyfile(
        helpers=RECORD,
        test_delays="""
        import pytest
        from helpers import record

        @pytest.mark.augnet(settings={"send_delay": 7, "delivery_delay": 0})
        def test_marked(augnet, tmp_path_factory):
            assert augnet.project["sendDelay"] == 7
            assert augnet.project["deliveryDelay"] == 0
            record(tmp_path_factory, "marked", augnet)

        def test_unmarked(augnet, tmp_path_factory):
            assert augnet.project["sendDelay"] is None  # the server's own: 10 ms in tests
            record(tmp_path_factory, "unmarked", augnet)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, "--basetemp=basetemp", timeout=TIMEOUT)
    result.assert_outcomes(passed=2)
    runs = seen(pytester)
    assert runs["marked"]["url"] == runs["unmarked"]["url"]


def test_external_projects_get_short_delays(
    pytester: pytest.Pytester, start_mock_process: Any
) -> None:
    """Against an external server with its default 0.2 s / 0.5 s delays, each test's project
    gets the in-thread server's 10 ms ones, unless the project config or the marker says
    otherwise; a marker's delays no longer skip the test there."""
    server = start_mock_process(AUGNET_MOCK_SEND_DELAY="0.2", AUGNET_MOCK_DELIVERY_DELAY="0.5")
    pytester.makepyfile(
        test_external="""
        import httpx2
        import pytest

        def test_short_by_default(augnet):
            assert (augnet.project["sendDelay"], augnet.project["deliveryDelay"]) == (0.01, 0.01)
            with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
                client.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})
            assert augnet.wait_for_message(status="delivered", timeout=5)

        @pytest.mark.augnet(settings={"delivery_delay": 2})
        def test_marker_wins(augnet):
            assert (augnet.project["sendDelay"], augnet.project["deliveryDelay"]) == (0.01, 2)

        class TestConfigured:
            @pytest.fixture
            def augnet_project_config(self):
                return {"sendDelay": 0.3}

            def test_project_config_wins(self, augnet):
                assert augnet.project["sendDelay"] == 0.3
                assert augnet.project["deliveryDelay"] == 0.01
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, f"--augnet-url={server.url}", timeout=TIMEOUT)
    result.assert_outcomes(passed=3)
