"""The plugin seen from a user's project: real test files run by a pytest subprocess
that loads the plugin only through the installed `pytest11` entry point.

Always a subprocess: an in-process run would import the server's lazily loaded modules
(uvicorn protocols, httpcore backends) and pytester would unload them again afterwards,
leaving this process with two copies of their classes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from ports import free_port

TIMEOUT = 60.0  # seconds for one inner pytest run
# Unrelated plugins installed beside us cost a second per inner run; users' runs vary anyway.
QUIET = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:faker")

SEND = """
import httpx2

NUMBER = "+447700900123"


def send(augnet, body, to=NUMBER, **fields):
    with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
        response = client.post("/api/v2/message", json={"to": to, "body": body, **fields})
    assert response.status_code == 200, response.text
    return response.json()["sid"]
"""


@pytest.fixture(autouse=True)
def _no_external_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # The inner runs must not inherit an outer AUGNET_MOCK_URL (or token) by accident.
    monkeypatch.delenv("AUGNET_MOCK_URL", raising=False)
    monkeypatch.delenv("AUGNET_MOCK_TOKEN", raising=False)


def test_entry_point_registers_option_and_marker(pytester: pytest.Pytester) -> None:
    """Installing the package is enough: --augnet-url, --augnet-token and the augnet
    marker exist."""
    result = pytester.runpytest_subprocess(*QUIET, "--help", timeout=TIMEOUT)
    result.stdout.fnmatch_lines(["*--augnet-url=URL*", "*--augnet-token=TOKEN*"])
    result = pytester.runpytest_subprocess(*QUIET, "--markers", timeout=TIMEOUT)
    result.stdout.fnmatch_lines(["@pytest.mark.augnet(clock=None, seed=None, scenarios=*"])


def test_assert_sent_passes_and_failure_shows_near_misses(pytester: pytest.Pytester) -> None:
    """A passing assert_sent passes; a failing one prints what was sent instead, diffed."""
    pytester.makepyfile(
        helpers=SEND,
        test_downstream="""
        from helpers import NUMBER, send

        def test_passes(augnet):
            send(augnet, "Your taxi ABC123 arrives in 2 minutes")
            matches = augnet.assert_sent(to=NUMBER, body_contains="ABC123", segments=1, count=1)
            assert matches[0].encoding == "GSM-7"

        def test_fails(augnet):
            send(augnet, "Your code is 1243")
            send(augnet, "Hello there", to="+447700900124")
            augnet.assert_sent(to=NUMBER, body_contains="code is 1234")

        def test_count_fails(augnet):
            send(augnet, "one")
            send(augnet, "two")
            augnet.assert_sent(to=NUMBER, count=1)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E   *AssertionError: augnet-mock: expected a message to '+447700900123' whose body "
            "contains 'code is 1234', but none was sent.",
            "E   *Near misses, what was sent instead (closest first):",
            "E   *[[]1[]] to '+447700900123' from '+441743581416', 1 segment (GSM-7)*",
            "E   *body: 'Your code is 1243'",
            "E   *- code is 1234",
            "E   *+ code is 1243",
            "E   *[[]2[]] to '+447700900124'*",
            "E   *to differs:",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E   *expected 1 message to '+447700900123', found 2.",
            "E   *Matching messages (2):",
            "E   *'one'",
            "E   *'two'",
        ]
    )
    # The traceback points at the user's line, not into the handle.
    result.stdout.fnmatch_lines(["test_downstream.py:11: AssertionError"])


def test_markers_manual_clock_scenarios_and_seed(pytester: pytest.Pytester) -> None:
    """Markers give a manual clock (no sleeping), project-scoped scenarios and a seed."""
    pytester.makepyfile(
        helpers=SEND,
        test_markers="""
        import time

        import pytest
        from helpers import NUMBER, send

        @pytest.fixture
        def no_sleeping(monkeypatch):
            def forbidden(seconds):
                raise AssertionError(f"slept {seconds} s")
            monkeypatch.setattr(time, "sleep", forbidden)

        @pytest.mark.augnet(clock="manual", settings={"delivery_delay": 3600})
        def test_an_hour_passes_instantly(augnet, no_sleeping):
            started = time.monotonic()
            sid = send(augnet, "hello")
            assert augnet.message(sid).statuses == ["queued"]
            augnet.clock.advance(0.01)
            assert augnet.message(sid).statuses == ["queued", "sent"]
            assert augnet.clock.advance(3600) >= 1
            assert augnet.message(sid).statuses == ["queued", "sent", "delivered"]
            assert time.monotonic() - started < 5

        # The first matching rule wins: the specific one goes first.
        @pytest.mark.augnet(scenarios=[{"match": {"to": "+447700900555"},
                                        "effect": {"finalStatus": "failed"}}, "undelivered"])
        def test_scenarios_apply_to_this_project(augnet):
            send(augnet, "a")
            send(augnet, "b", to="+447700900555")
            assert augnet.wait_for_message(to=NUMBER, status="undelivered").error_code == "30003"
            assert augnet.wait_for_message(to="+447700900555", status="failed")

        def test_unmarked_neighbour_is_unaffected(augnet):
            send(augnet, "a")
            assert augnet.wait_for_message(status="delivered")

        @pytest.mark.augnet(seed=7, scenarios=[{"probability": 0.5,
                                                "effect": {"finalStatus": "undelivered"}}])
        @pytest.mark.parametrize("run", [1, 2])
        def test_seed_repeats(augnet, run, tmp_path_factory):
            for i in range(12):
                send(augnet, f"m{i}")
            outcome = [m.scenario is not None for m in augnet.messages()]
            path = tmp_path_factory.getbasetemp() / "seeded.txt"
            if run == 1:
                path.write_text(repr(outcome))
            else:
                assert repr(outcome) == path.read_text()
            assert any(outcome) and not all(outcome)

        @pytest.mark.augnet(clock="sideways")
        def test_bad_clock(augnet):
            pass

        @pytest.mark.augnet(settings={"bogus": 1})
        def test_bad_setting(augnet):
            pass

        @pytest.mark.augnet(scenarios=[{"effect": {"finalStatus": "lost"}}])
        def test_bad_scenario(augnet):
            pass
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, "--strict-markers", timeout=TIMEOUT)
    result.assert_outcomes(passed=5, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_bad_clock*",
            "@pytest.mark.augnet: clock must be 'real' or 'manual', got 'sideways'",
            "*ERROR at setup of test_bad_setting*",
            "@pytest.mark.augnet(settings=...): *unexpected keyword argument 'bogus'",
            "*ERROR at setup of test_bad_scenario*",
            "@pytest.mark.augnet(scenarios=...): POST /_mock/scenarios -> 400: "
            "effect.finalStatus: must be one of*",
        ]
    )


def test_server_failures_are_raised_in_the_test(pytester: pytest.Pytester) -> None:
    """An exception inside the in-thread server fails the test that caused it, clearly."""
    pytester.makepyfile(
        test_failures="""
        import httpx2
        import pytest
        from starlette.routing import Route

        async def boom(request):
            raise ZeroDivisionError("bug in a handler")

        @pytest.fixture
        def buggy(augnet):
            augnet.server.app.router.routes.append(Route("/boom", boom))
            return augnet

        def test_raised_at_next_look(buggy):
            assert httpx2.get(buggy.base_url + "/boom").status_code == 500
            buggy.messages()

        def test_raised_at_teardown(buggy):
            assert httpx2.get(buggy.base_url + "/boom").status_code == 500

        @pytest.mark.augnet(clock="manual")
        def test_failing_clock_job(augnet):
            def job():  # clock jobs are plain functions
                raise RuntimeError("clock job failed")
            loop = augnet.server.loop
            loop.call_soon_threadsafe(augnet.server.runtime.clock.schedule, 1, job)
            augnet.clock.advance(2)

        def test_clean_afterwards(augnet):
            augnet.assert_sent(count=0)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=2, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_raised_at_next_look _*",
            ">       buggy.messages()",
            "E   *ServerError: augnet-mock: the server failed while serving this test:",
            "E   *  ZeroDivisionError: bug in a handler",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_raised_at_teardown*",
            "augnet-mock: the server failed while serving this test:",
            "  ZeroDivisionError: bug in a handler",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*_ test_failing_clock_job _*", "*ServerError*", "E   *  RuntimeError: clock job failed"]
    )


def test_strict_callbacks_fail_on_unacknowledged_webhooks(pytester: pytest.Pytester) -> None:
    """strict_callbacks fails a test whose webhook receiver did not answer 2xx (a failure
    of the test itself, not an error at teardown)."""
    pytester.makepyfile(
        helpers=SEND,
        test_strict="""
        import pytest
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route
        from augnet_mock import LiveServer
        from helpers import send

        @pytest.fixture
        def broken_hook(augnet):
            async def hook(request):
                return Response(status_code=500)
            with LiveServer(app=Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as live:
                augnet.webhook_url = f"{live.url}/hook"
                yield

        @pytest.mark.augnet(strict_callbacks=True, settings={"callback_attempts": 1})
        def test_strict(augnet, broken_hook):
            send(augnet, "hi")
            augnet.wait_for_callback(status="delivered")

        @pytest.mark.augnet(settings={"callback_attempts": 1})
        def test_lenient(augnet, broken_hook):
            send(augnet, "hi")
            assert not augnet.wait_for_callback(status="delivered").ok
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)  # a failure of the test, not a teardown error
    result.stdout.fnmatch_lines(
        [
            "*_ test_strict _*",
            "augnet-mock: strict_callbacks: 3 webhook attempts were not acknowledged with a 2xx:",
            "  - queued for * to http://127.0.0.1:*/hook (attempt 1): receiver answered 500",
        ]
    )


def test_fixture_overrides(pytester: pytest.Pytester) -> None:
    """Users override augnet_settings and augnet_project_config in their conftest."""
    pytester.makeconftest(
        """
        import pytest
        from augnet_mock import Settings

        @pytest.fixture(scope="session")
        def augnet_settings():
            return Settings(max_segments=1, send_delay=0, delivery_delay=0)

        @pytest.fixture
        def augnet_project_config():
            return {"senders": ["ABCTAXI"], "fallbackSender": "+441000000000"}
        """
    )
    pytester.makepyfile(
        helpers=SEND,
        test_overrides="""
        import httpx2
        from helpers import NUMBER, send

        def test_whitelisted_sender_is_used(augnet):
            send(augnet, "hi", **{"from": "ABCTAXI"})
            send(augnet, "hi", **{"from": "OTHER"})
            assert [m.from_ for m in augnet.messages()] == ["ABCTAXI", "+441000000000"]

        def test_session_settings_apply(augnet):
            with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
                response = client.post("/api/v2/message", json={"to": NUMBER, "body": "x" * 161})
            assert response.status_code == 400
            assert "limit is 1" in response.json()["message"]
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=2)


ISOLATION = """
import pytest
from helpers import NUMBER, send

@pytest.mark.parametrize("n", range(20))
def test_sees_only_its_own(augnet, n):
    send(augnet, f"hello from test {n}")
    assert [m.body for m in augnet.messages(to=NUMBER)] == [f"hello from test {n}"]
    augnet.assert_sent(to=NUMBER, count=1)
"""


def test_xdist_tests_are_isolated(pytester: pytest.Pytester) -> None:
    """Under -n 2, 20 tests sending to one number each see only their own message."""
    pytester.makepyfile(helpers=SEND, test_isolation=ISOLATION)
    result = pytester.runpytest_subprocess(*QUIET, "-p", "xdist", "-n", "2", timeout=TIMEOUT)
    result.stdout.fnmatch_lines(["*2 workers [[]20 items[]]*"])
    result.assert_outcomes(passed=20)


def test_httpx_clients_in_a_downstream_project(pytester: pytest.Pytester) -> None:
    """A downstream project on httpx (not httpx2) hands augnet.transport() to httpx.Client
    and augnet.async_transport() to httpx.AsyncClient, in async tests run by anyio."""
    pytester.makepyfile(
        test_with_httpx="""
        import httpx
        import pytest

        NUMBER = "+447700900123"

        def test_sync_client(augnet):
            with httpx.Client(base_url=augnet.base_url, auth=augnet.auth,
                              transport=augnet.transport()) as client:
                response = client.post("/api/v2/message",
                                       json={"to": NUMBER, "body": "Your code is 246810"})
            assert response.status_code == 200, response.text
            assert augnet.extract_code() == "246810"

        @pytest.mark.anyio
        async def test_async_client(augnet):
            async with httpx.AsyncClient(base_url=augnet.base_url, auth=augnet.auth,
                                         transport=augnet.async_transport()) as client:
                sent = await client.post("/api/v2/message", json={"to": NUMBER, "body": "async"})
                dropped = {"to": augnet.magic.dropped_connection, "body": "x"}
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.post("/api/v2/message", json=dropped)
            assert sent.status_code == 200, sent.text
            augnet.assert_sent(body="async", count=1)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, "-p", "anyio", timeout=TIMEOUT)
    result.assert_outcomes(passed=2)


def test_external_url_drives_a_running_server(pytester: pytest.Pytester, mock_process: Any) -> None:
    """--augnet-url: unchanged tests (two xdist workers at once) drive an `augnet-mock
    serve` process, stay isolated, and tests needing other server settings are skipped."""
    pytester.makepyfile(
        helpers=SEND,
        test_isolation=ISOLATION,
        test_external=f"""
        import httpx
        import httpx2
        import pytest
        from helpers import NUMBER, send

        def test_sends_through_the_external_server(augnet):
            assert augnet.base_url == "{mock_process.url}"
            assert augnet.server is None
            sid = send(augnet, "Your code is 774411")
            assert augnet.extract_code() == "774411"
            assert augnet.wait_for_message(status="delivered").sid == sid

        def test_transport_falls_back_to_http(augnet):
            with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth,
                               transport=augnet.transport()) as client:
                client.post("/api/v2/message", json={{"to": NUMBER, "body": "via transport"}})
            augnet.assert_sent(body="via transport")

        def test_httpx_transport_falls_back_to_http(augnet):
            with httpx.Client(base_url=augnet.base_url, auth=augnet.auth,
                              transport=augnet.transport()) as client:
                client.post("/api/v2/message", json={{"to": NUMBER, "body": "via httpx"}})
            augnet.assert_sent(body="via httpx")

        @pytest.mark.augnet(scenarios=["rate_limited"])
        def test_scenarios_work(augnet):
            with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
                response = client.post("/api/v2/message", json={{"to": NUMBER, "body": "x"}})
            assert response.status_code == 429

        @pytest.mark.augnet(clock="real")
        def test_matching_clock_runs(augnet):
            assert augnet.clock.mode == "real"

        @pytest.mark.augnet(clock="manual")
        def test_needs_manual_clock(augnet):
            raise AssertionError("must be skipped")
        """,
    )
    result = pytester.runpytest_subprocess(
        *QUIET,
        "-p",
        "xdist",
        "-n",
        "2",
        "-rs",
        "--augnet-url",
        mock_process.url,
        timeout=TIMEOUT,
    )
    result.assert_outcomes(passed=25, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*needs a server started with clock='manual'; the external one at "
            f"{mock_process.url} is fixed"
        ]
    )
    assert len(mock_process.projects()) == 1, "every test's project is deleted again"


def test_external_url_from_environment(
    pytester: pytest.Pytester, mock_process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUGNET_MOCK_URL works like --augnet-url."""
    monkeypatch.setenv("AUGNET_MOCK_URL", mock_process.url)
    pytester.makepyfile(
        test_env=f"""
        def test_uses_it(augnet):
            assert augnet.base_url == "{mock_process.url}" and augnet.server is None
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=1)


def test_external_server_with_an_admin_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, start_mock_process: Any
) -> None:
    """--augnet-token (or AUGNET_MOCK_TOKEN) lets the fixtures drive a server started with
    an admin token; without it each test fails at setup, saying how to pass it."""
    token = "plugin-t0ken"
    process = start_mock_process(AUGNET_MOCK_ADMIN_TOKEN=token)
    pytester.makepyfile(
        helpers=SEND,
        test_token="""
        from helpers import send

        def test_send_wait_and_scenario(augnet, augnet_token):
            assert augnet_token == "plugin-t0ken"
            sid = send(augnet, "Your code is 5566")
            assert augnet.wait_for_message(status="delivered").sid == sid
            augnet.scenario(like="undelivered")
        """,
    )
    url = process.url
    result = pytester.runpytest_subprocess(
        *QUIET, "--augnet-url", url, "--augnet-token", token, timeout=TIMEOUT
    )
    result.assert_outcomes(passed=1)
    monkeypatch.setenv("AUGNET_MOCK_TOKEN", token)
    result = pytester.runpytest_subprocess(*QUIET, "--augnet-url", url, timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
    monkeypatch.delenv("AUGNET_MOCK_TOKEN")
    result = pytester.runpytest_subprocess(*QUIET, "--augnet-url", url, timeout=TIMEOUT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*POST /_mock/projects -> 401*--augnet-token*"])
    bearer = {"Authorization": f"Bearer {token}"}
    left = httpx2.get(f"{url}/_mock/projects", headers=bearer, trust_env=False).json()
    assert len(left["projects"]) == 1, "every test's project is deleted again"


def test_unreachable_external_url_fails_clearly(pytester: pytest.Pytester) -> None:
    """A wrong --augnet-url fails each test at setup with one line saying so."""
    pytester.makepyfile(test_nothing="def test_it(augnet):\n    pass\n")
    url = f"http://127.0.0.1:{free_port()}"
    result = pytester.runpytest_subprocess(*QUIET, "--augnet-url", url, timeout=TIMEOUT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"augnet-mock at {url} is unreachable: *"])


# A webhook receiver served by aiohttp on the *test's own* event loop: it can answer
# only while that loop runs, which a blocking wait would stop.
LOOP_RECEIVER = """
import contextlib

from aiohttp import web


@contextlib.asynccontextmanager
async def receiver_on_this_loop():
    statuses = []

    async def hook(request):
        statuses.append((await request.json())["MessageStatus"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/hook", statuses
    finally:
        await runner.cleanup()
"""

ASYNC_WAITS = """
import pytest
from loop_receiver import receiver_on_this_loop

NUMBER = "+447700900123"


@pytest.mark.{marker}
async def test_awaited_waits_let_the_receiver_answer(augnet):
    async with receiver_on_this_loop() as (url, statuses):
        augnet.webhook_url = url
        sent = await augnet.async_client.post(
            "/api/v2/message", json={{"to": NUMBER, "body": "Your code is 1357"}}
        )
        sid = sent.json()["sid"]
        message = await augnet.aio.wait_for_message(status="delivered")
        assert message.sid == sid
        callback = await augnet.aio.wait_for_callback(sid=sid, status="delivered")
        assert callback.ok and callback.response_status == 204
        assert statuses == ["queued", "sent", "delivered"]
        assert await augnet.aio.extract_code() == "1357"
        again = await augnet.aio.redeliver(callback)
        assert again.ok and statuses[-1] == "delivered"


@pytest.mark.{marker}
async def test_a_blocking_wait_starves_the_receiver(augnet):
    async with receiver_on_this_loop() as (url, statuses):
        augnet.webhook_url = url
        await augnet.async_client.post("/api/v2/message", json={{"to": NUMBER, "body": "hi"}})
        with pytest.raises(AssertionError, match="did not come"):
            augnet.wait_for_callback(status="queued", ok=True, timeout=0.5)
        assert statuses == []
        await augnet.aio.wait_for_callback(status="delivered", ok=True)
"""


@pytest.mark.parametrize(
    ("marker", "plugin"),
    [("asyncio", "asyncio"), ("anyio", "anyio")],
    ids=["pytest-asyncio", "anyio"],
)
def test_async_waits_with_a_receiver_on_the_tests_loop(
    pytester: pytest.Pytester, marker: str, plugin: str
) -> None:
    """Under pytest-asyncio and under anyio, the awaited waits let a receiver on the test's
    own loop answer, and find its callbacks; the blocking wait, for contrast, times out."""
    pytester.makepyfile(
        loop_receiver=LOOP_RECEIVER, test_async_waits=ASYNC_WAITS.format(marker=marker)
    )
    result = pytester.runpytest_subprocess(*QUIET, "-p", plugin, timeout=TIMEOUT)
    result.assert_outcomes(passed=2)


def test_strict_callbacks_ignore_attempts_after_the_test(pytester: pytest.Pytester) -> None:
    """A callback retried after the test's receiver is torn down (connection refused) is
    not the test's: the test passes with no teardown error. One refused while the test
    ran still fails it."""
    pytester.makepyfile(
        test_after="""
        import pytest
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route
        from augnet_mock import LiveServer

        @pytest.fixture
        def hook(augnet):
            async def answer(request):
                return Response(status_code=204)
            app = Starlette(routes=[Route("/hook", answer, methods=["POST"])])
            with LiveServer(app=app) as live:
                augnet.webhook_url = f"{live.url}/hook"
                yield live
            # The receiver is gone; time passes and "delivered" finds no one there.
            augnet.clock.advance(60)
            assert augnet.callbacks(ok=False), "the late attempt was refused"

        @pytest.mark.augnet(clock="manual", strict_callbacks=True,
                            settings={"delivery_delay": 30})
        def test_passes(augnet, hook):
            augnet.client.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})
            augnet.clock.advance(1)
            assert augnet.wait_for_callback(status="sent").ok

        @pytest.mark.augnet(clock="manual", strict_callbacks=True,
                            settings={"delivery_delay": 30})
        def test_fails(augnet, hook):
            hook.stop()
            augnet.client.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})
            augnet.clock.advance(1)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, timeout=TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_fails _*", "augnet-mock: strict_callbacks: * not acknowledged with a 2xx:"]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown*")


def test_waits_that_cannot_succeed_say_why_at_once(pytester: pytest.Pytester) -> None:
    """No webhook at all, or a sid never sent: the wait fails at once (well inside its
    60 s timeout and the run's 20 s limit) saying why, sync and async alike."""
    pytester.makepyfile(
        test_hopeless="""
        import pytest

        def test_no_webhook(augnet):
            augnet.client.post("/api/v2/message", json={"to": "+447700900123", "body": "hi"})
            augnet.wait_for_callback(status="delivered", timeout=60)

        def test_unknown_sid(augnet):
            augnet.webhook_url = "http://127.0.0.1:9/hook"
            augnet.wait_for_callback(sid="no-such-sid", timeout=60)

        @pytest.mark.asyncio
        async def test_no_webhook_async(augnet):
            await augnet.aio.wait_for_callback(timeout=60)
        """,
    )
    result = pytester.runpytest_subprocess(*QUIET, "--timeout", "20", timeout=TIMEOUT)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*wait_for_callback cannot succeed: the project has no webhookUrl and none of its "
            "1 message(s) has a statusCallback (set augnet.webhook_url, or send with a "
            "statusCallback)",
            "*wait_for_callback cannot succeed: no message 'no-such-sid' was sent in this "
            "test's project",
            "*wait_for_callback cannot succeed: the project has no webhookUrl and none of its "
            "0 message(s)*",
        ]
    )
