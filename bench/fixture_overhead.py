"""What the pytest plugin costs a test suite.

    pip install -e '.[bench]'   # pytest-httpserver, for (1)
    python bench/fixture_overhead.py [--tests 300] [--sends 3000] [--waits 50]

1. Per-test cost, end to end: one pytest subprocess (plugins loaded through their
   entry points, this checkout first on PYTHONPATH) runs N tests of each kind:
   - `augnet` alone (the fixture's own overhead);
   - the README's test: send one SMS with `augnet.client`, then `assert_sent`;
   - the same test building its own `httpx2.Client` (the README's former pattern);
   - pytest-httpserver's equivalent: `expect_oneshot_request(...)` for the send,
     one POST with a client shared by the module, `check_assertions()`;
   - `augnet` with `@pytest.mark.augnet(clock="manual")` (a pooled server of its own);
   - send and wait for `delivered`, in-process and (4) against `augnet-mock serve`;
   - a test with no fixture.
   A kind's cost is its median per-test time (setup + call + teardown) less the
   median of the plain test. The first test of each kind, which starts its server,
   is left out: the mock's start is (2).
2. Start-up of the session server: `LiveServer(...).start()` until it accepts.
3. In-process sends per second: sequential POST /api/v2/message through
   `AugnetMock.transport()`, no socket, with the fixture's default settings.
4. The send-and-wait tests against an external `augnet-mock serve` with its default
   (0.2 s + 0.5 s) delays, which the plugin shortens for each test's project.

Targets: fixture overhead < 2 ms (median); the README test costs no more than
pytest-httpserver's equivalent; start < 500 ms; >= 2,000 in-process sends/s;
a manual-clock test < 20 ms; external send-and-wait at most 2x in-process.
Prints the figures and PASS/FAIL; exits 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # measure this checkout, not an installed copy

import httpx2  # noqa: E402

from augnet_mock import AugnetMock, LiveServer  # noqa: E402
from augnet_mock.client import fast_settings  # noqa: E402

OVERHEAD_TARGET_MS = 2.0
START_TARGET_MS = 500.0
SENDS_TARGET = 2000.0
MANUAL_TARGET_MS = 20.0  # the bound for a manual-clock or seeded test's own server
EXTERNAL_RATIO_TARGET = 2.0  # "about as fast against the container as in-process"

CONFTEST = """
import json, os

TIMES = {}

def pytest_runtest_logreport(report):
    TIMES[report.nodeid] = TIMES.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(TIMES, fh)
"""


TESTS = """
import httpx2
import pytest

N = {tests}
W = {waits}
RIDER = "+447700900123"
SMS = {{"to": RIDER, "body": "Your taxi ABC123 is here"}}
# pytest-httpserver's best case: one client for the module, no CA bundle for http.
SHARED = httpx2.Client(verify=False, trust_env=False)


@pytest.mark.parametrize("n", range(N))
def test_fixture_only(augnet, n):
    pass


@pytest.mark.parametrize("n", range(N))
def test_readme(augnet, n):
    augnet.client.post("/api/v2/message", json=SMS)
    augnet.assert_sent(to=RIDER, body_contains="ABC123", segments=1, count=1)


@pytest.mark.parametrize("n", range(N))
def test_own_client(augnet, n):
    with httpx2.Client(base_url=augnet.base_url, auth=augnet.auth) as client:
        client.post("/api/v2/message", json=SMS)
    augnet.assert_sent(to=RIDER, body_contains="ABC123", segments=1, count=1)


@pytest.mark.parametrize("n", range(N))
def test_httpserver(httpserver, n):
    httpserver.expect_oneshot_request("/api/v2/message", method="POST", json=SMS).respond_with_json(
        {{"sid": "ca4d1566-323b-11ea-8e2c-0242ac110002"}}
    )
    SHARED.post(httpserver.url_for("/api/v2/message"), json=SMS)
    httpserver.check_assertions()


@pytest.mark.augnet(clock="manual")
@pytest.mark.parametrize("n", range(N))
def test_manual_clock(augnet, n):
    pass


@pytest.mark.parametrize("n", range(W))
def test_send_and_wait(augnet, n):
    augnet.client.post("/api/v2/message", json=SMS)
    augnet.wait_for_message(status="delivered")


@pytest.mark.parametrize("n", range(N))
def test_plain(n):
    pass
"""
KINDS = (
    "fixture_only",
    "readme",
    "own_client",
    "httpserver",
    "manual_clock",
    "send_and_wait",
    "plain",
)


def per_test_costs(tests: int, waits: int, *extra: str) -> dict[str, float]:
    """Median ms per test of each kind that ran, the plain test's included."""
    try:
        import pytest_httpserver  # noqa: F401
    except ImportError:
        raise SystemExit("pytest-httpserver is missing: pip install -e '.[bench]'") from None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "conftest.py").write_text(CONFTEST)
        (root / "test_bench.py").write_text(TESTS.format(tests=tests, waits=waits))
        out = root / "times.json"
        env = os.environ | {
            "BENCH_OUT": str(out),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        env.pop("AUGNET_MOCK_URL", None)
        args = ["-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:faker", "-q"]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *args, *extra, str(root)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the benchmark's pytest run failed:\n{done.stdout}\n{done.stderr}")
        times = json.loads(out.read_text())
    medians = {}
    for kind in KINDS:
        # Node ids in collection order; the first of a kind starts its server.
        runs = [t for k, t in times.items() if f"test_{kind}[" in k]
        if len(runs) > 1:
            medians[kind] = statistics.median(runs[1:]) * 1000
    return medians


def external_send_and_wait(waits: int) -> float:
    """Median ms of test_send_and_wait against `augnet-mock serve` with default delays."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"PYTHONPATH": str(REPO), "AUGNET_MOCK_ACCESS_LOG": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "augnet_mock", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:  # bounded by the deadline
            try:
                if httpx2.get(f"{url}/_mock/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("augnet-mock serve did not start")
            time.sleep(0.05)
        medians = per_test_costs(0, waits, f"--augnet-url={url}", "-k", "send_and_wait")
    finally:
        server.terminate()
        server.wait(10)
    return medians["send_and_wait"]


def server_start(runs: int = 7) -> tuple[float, float]:
    """(median ms, first ms) from LiveServer() to accepting connections."""
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        server = LiveServer(fast_settings()).start()
        durations.append((time.perf_counter() - started) * 1000)
        server.stop()
    return statistics.median(durations), durations[0]


async def _loop_cpu() -> float:
    return time.thread_time()


def in_process_sends(sends: int) -> tuple[float, float, float]:
    """(sends/s, caller CPU µs per send, server CPU µs per send)."""
    with LiveServer(fast_settings()) as server, AugnetMock.create(server) as augnet:
        assert server.loop is not None
        loop = server.loop

        def server_cpu() -> float:
            return asyncio.run_coroutine_threadsafe(_loop_cpu(), loop).result()

        body = {"to": "+447700900123", "body": "Your Taxi will arrive in 2 minutes"}
        with httpx2.Client(
            base_url=augnet.base_url, auth=augnet.auth, transport=augnet.transport()
        ) as client:
            for _ in range(200):  # warm up
                client.post("/api/v2/message", json=body)
            server_before, caller_before = server_cpu(), time.thread_time()
            started = time.perf_counter()
            for _ in range(sends):
                response = client.post("/api/v2/message", json=body)
            elapsed = time.perf_counter() - started
            caller = (time.thread_time() - caller_before) / sends * 1e6
            served = (server_cpu() - server_before) / sends * 1e6
        assert response.status_code == 200, response.text
    return sends / elapsed, caller, served


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=300, help="tests of each kind (300)")
    parser.add_argument("--sends", type=int, default=3000, help="in-process sends (3000)")
    parser.add_argument("--waits", type=int, default=50, help="send-and-wait tests (50)")
    args = parser.parse_args()

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cpus: {os.cpu_count()}")
    medians = per_test_costs(args.tests, args.waits)
    cost = {kind: medians[kind] - medians["plain"] for kind in medians}
    external_ms = external_send_and_wait(args.waits)
    start_ms, first_ms = server_start()
    rate, caller_us, server_us = in_process_sends(args.sends)

    print(f"per-test cost over a plain test ({medians['plain']:.2f} ms), median of {args.tests}:")
    print(f"  README test building its own httpx2.Client  {cost['own_client']:6.2f} ms")
    print(f"  pytest-httpserver's equivalent              {cost['httpserver']:6.2f} ms")
    ratio = cost["readme"] / cost["httpserver"]
    results = [
        (
            f"augnet fixture overhead per test: {cost['fixture_only']:.2f} ms",
            f"< {OVERHEAD_TARGET_MS:g} ms",
            cost["fixture_only"] < OVERHEAD_TARGET_MS,
        ),
        (
            f"README test with augnet.client: {cost['readme']:.2f} ms ({ratio:.2f}x httpserver)",
            "<= 1.0x",
            ratio <= 1.0,
        ),
        (
            f"session server start (median of 7): {start_ms:.1f} ms (first {first_ms:.1f} ms)",
            f"< {START_TARGET_MS:g} ms",
            start_ms < START_TARGET_MS,
        ),
        (
            f"in-process sends ({args.sends} sequential): {rate:,.0f}/s",
            f">= {SENDS_TARGET:,.0f}/s",
            rate >= SENDS_TARGET,
        ),
        (
            f"manual-clock test: {medians['manual_clock']:.2f} ms",
            f"< {MANUAL_TARGET_MS:g} ms",
            medians["manual_clock"] < MANUAL_TARGET_MS,
        ),
        (
            f"send + wait for delivered: external {external_ms:.1f} ms,"
            f" in-process {medians['send_and_wait']:.1f} ms",
            f"<= {EXTERNAL_RATIO_TARGET:g}x",
            external_ms <= EXTERNAL_RATIO_TARGET * medians["send_and_wait"],
        ),
    ]
    for text, target, ok in results:
        print(f"{text:<78} target {target:<10} {verdict(ok)}")
    # Both threads share one GIL, so CPU per send bounds the rate on any machine.
    print(
        f"  CPU per in-process send: {caller_us:.0f} us client thread + {server_us:.0f} us "
        f"server thread = ceiling {1e6 / (caller_us + server_us):,.0f}/s with no other load"
    )
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
