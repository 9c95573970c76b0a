"""The reliability benchmark: load, broken receivers and slow clients at once, then SIGTERM.

    make reliability                       (installs the bench extra, writes docs/)
    .venv/bin/python bench/reliability.py [--report-dir DIR] [--messages N]

Run by hand, not in CI; everything talks to 127.0.0.1 and every wait is bounded.

1. Starts `python -m augnet_mock serve --port 0` from this checkout as a subprocess
   (the port is read from its banner), keeping every record and with short callback
   timeouts; webhook receivers run in their own subprocesses (`bench/_serve.py`).
2. Creates 50 projects: 48 with a webhook on a healthy receiver of their own, one on
   a receiver that accepts and never answers, one on a receiver that answers one byte
   a second.
3. Opens 200 event-stream clients on `GET /_mock/events`: some read (a few the whole
   stream, most one project's), the rest never read until the end.
4. Sends 20,000 messages over 64 connections, spread evenly over the 50 projects,
   from a separate process (aiohttp), timing every request. Midway, a volley of bad
   requests (one per class) checks for a precise 4xx in the one error shape.
   Meanwhile the server's RSS (/proc/PID/status) and `GET /_mock/health` latency are
   sampled four times a second.
5. Waits (bounded) for the healthy receivers' callbacks and for the broken ones'
   callbacks to be journalled as failed or abandoned; reads every record back
   (`limit`/`cursor` paging, following `nextCursor`; one unpaged read when the server
   answers without it); drains the clients that never read.
6. Sends SIGTERM and times the exit.

Prints a PASS/FAIL table and exits 1 if any check fails. Writes `reliability.md` and
`reliability.png` (RSS and p99 latency over the run; needs matplotlib, the `bench`
extra) into --report-dir (default docs/).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import base64
import concurrent.futures
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree wins

import aiohttp

from bench._common import (
    HOST,
    REPO,
    Check,
    Server,
    cpu_count,
    env,
    free_ports,
    machine_note,
    percentile,
    pinned,
    print_checks,
    rss_mb,
)

# -- the run's shape (the hardening issue's fault probe, scaled to this machine) --------

MESSAGES = 20_000
CONNECTIONS = 64
PROJECTS = 50
HEALTHY_PROJECTS = 48  # the other two: one hanging receiver, one dripping receiver
SSE_CLIENTS = 200
SSE_READING_ALL = 4  # read the whole stream, like an open web inbox
SSE_READING_PROJECT = 36  # read one project's events, like the pytest plugin's waiters
# The remaining 160 never read until the end: the server must neither slow down for
# them nor lose their events without saying so.

SERVER_CPU, LOAD_CPU = 0, 1  # receivers, load and clients share the second CPU
# Short enough that the broken receivers settle within the run; longer than the drip's
# one byte a second, so a timeout per read never fires and only a deadline on the whole
# answer stops the drip.
CALLBACK_TIMEOUT_S = 2.0
CALLBACK_ATTEMPTS = 2
CALLBACK_BACKOFF_S = 0.5
MAX_MESSAGES = 1_000_000  # far above the run: eviction never removes a record

START_TIMEOUT_S = 20.0
LOAD_TIMEOUT_S = 300.0  # the whole send phase; a request alone gets REQUEST_TIMEOUT_S
REQUEST_TIMEOUT_S = 30.0
HEALTHY_WAIT_S = 60.0  # after the last send, for every healthy callback to arrive
SETTLE_WAIT_S = 30.0  # then for the broken receivers' callbacks to be journalled
DRAIN_IDLE_S = 1.0  # a never-reading client is drained until it is quiet this long
DRAIN_WAIT_S = 20.0  # and for at most this long altogether
EXIT_TARGET_S = 2.0  # the target: exit 0 within 2 s of SIGTERM
KILL_AFTER_S = 15.0  # then the benchmark stops waiting and kills the server
SAMPLE_INTERVAL_S = 0.25
PAGE_LIMIT = 1_000  # the largest page the control API serves
MAX_PAGES = 10_000  # bounds every paging loop
READ_TIMEOUT_S = 120.0  # one control-API read (an unpaged list of everything is slow)
VOLLEY_AFTER_S = 2.0  # into the load, the bad-input volley goes out

# Healthy callbacks must arrive within this of their status change (p99). Sends come
# back to back here, so callbacks give way to them (pacing.MAX_HOLD, 2 s) and then
# queue behind one another; 10 s leaves room for that and still fails a receiver
# starved by a broken one, whose callbacks then wait for minutes.
LAG_P99_TARGET_S = 10.0
# Peak RSS may exceed the RSS at startup by at most this many times the size of the
# stored records as compact JSON (what `GET /_mock/messages` and `/_mock/callbacks`
# return), plus the slack below: Python objects take 2-4 times their JSON, and growth
# past that is state the records do not account for (queues, buffers, leaks).
RSS_PER_JSON_BYTE = 4.0
RSS_SLACK_MB = 100.0  # allocator arenas, socket buffers of 200 clients, the event queues

SMS_TEXT = "Your verification code is {code:06d}. It expires in 10 minutes."
REPORT_DIR = REPO / "docs"
RELIABILITY_TESTS = REPO / "tests" / "reliability"


def project_id(index: int) -> str:
    return f"relbench-{index:02d}"


def project_kind(index: int) -> str:
    return "healthy" if index < HEALTHY_PROJECTS else ("hang" if index == PROJECTS - 2 else "drip")


# -- plain HTTP to the control API --------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


def call(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = READ_TIMEOUT_S,
) -> Answer:
    """One request; any HTTP status comes back as an Answer, not an exception."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), dict(exc.headers.items()))


def call_json(url: str, payload: Any, method: str = "POST") -> Answer:
    body = json.dumps(payload).encode()
    return call(url, method=method, body=body, headers={"Content-Type": "application/json"})


@dataclass
class Paged:
    items: list[dict[str, Any]]
    pages: int
    paged: bool  # False: the server answered without nextCursor (one unpaged read)
    json_bytes: int  # the items' size as compact JSON (without embedded callback attempts)
    statuses: list[int]


def read_all(base: str, path: str, key: str, **query: str) -> Paged:
    """Every item of a control-API list, following `nextCursor` page by page."""
    items: list[dict[str, Any]] = []
    statuses: list[int] = []
    cursor: str | None = None
    paged = False
    for pages in itertools.count(1):
        params = dict(query, limit=str(PAGE_LIMIT))
        if cursor is not None:
            params["cursor"] = cursor
        answer = call(f"{base}{path}?{urllib.parse.urlencode(params)}")
        statuses.append(answer.status)
        if answer.status != 200:
            raise RuntimeError(f"GET {path} answered {answer.status}: {answer.body[:300]!r}")
        data = answer.json()
        items.extend(data[key])
        if "nextCursor" not in data:
            break  # a server without paging answered everything at once
        paged = True
        cursor = data["nextCursor"]
        if not cursor or pages >= MAX_PAGES:
            break
    # Messages embed their callback attempts; those are counted once, in the journal.
    size = sum(
        len(json.dumps({k: v for k, v in i.items() if k != "callbacks"}, separators=(",", ":")))
        for i in items
    )
    return Paged(items, pages, paged, size, statuses)


# -- the server under test ------------------------------------------------------------


class MockProcess:
    """`python -m augnet_mock serve --port 0` from this checkout; output goes to files."""

    def __init__(self, workdir: Path, options: dict[str, str]) -> None:
        self.stdout_path = workdir / "server.out"
        self.stderr_path = workdir / "server.err"
        argv = [sys.executable, "-m", "augnet_mock", "serve", "--port", "0", "--smpp-port", "0"]
        argv.append("--no-access-log")
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", value]
        self.argv = argv
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                pinned(SERVER_CPU, argv), stdout=out, stderr=err, env=env(), cwd=REPO
            )
        self.url, self.version = self._read_banner()

    def _read_banner(self) -> tuple[str, str]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            m = re.search(
                r"augnet-mock (\S+) listening on (http://\S+)", self.stdout_path.read_text()
            )
            if m and self._healthy(m.group(2)):
                # The banner comes once the port is bound, before the server listens.
                return m.group(2), m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the server did not start:\n{self.stderr_path.read_text()[-2000:]}")

    @staticmethod
    def _healthy(url: str) -> bool:
        try:
            return call(f"{url}/_mock/health", timeout=2).status == 200
        except OSError:
            return False

    @property
    def pid(self) -> int:
        return self.proc.pid  # taskset execs the server, so this is the server's own pid

    def terminate(self) -> tuple[int | None, float]:
        """SIGTERM; the exit status (128 + signal when killed by one) and seconds taken,
        or None if it had not exited after KILL_AFTER_S (it is then killed)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return None, time.monotonic() - started
        elapsed = time.monotonic() - started
        return (128 - code if code < 0 else code), elapsed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def log(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()


# -- the load (a separate process, so that its timing does not share our event loop) ---


@dataclass
class Sent:
    """Every request of the load, in parallel lists (cheap to pickle)."""

    started: list[float] = field(default_factory=list)  # epoch seconds
    latency_ms: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)  # 0: no answer (connection error)
    project: list[int] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)  # of the 2xx answers, in order
    timed_out: bool = False


def auth_for(project: int, api_key: str) -> str:
    token = base64.b64encode(f"{project_id(project)}:{api_key}".encode()).decode()
    return f"Basic {token}"


def run_load(url: str, auths: list[str], total: int, connections: int, cpu: int) -> Sent:
    """POST `total` messages over `connections` connections; request i goes to project
    i mod len(auths). Runs in a child process, pinned to `cpu`."""
    pin(cpu)
    return asyncio.run(_load(url, auths, total, connections))


async def _load(url: str, auths: list[str], total: int, connections: int) -> Sent:
    sent = Sent()
    indexes = iter(range(total))
    headers = [{"Authorization": a, "Content-Type": "application/json"} for a in auths]

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in indexes:
            project = i % len(auths)
            body = json.dumps({"to": f"+4475156508{project:02d}", "body": SMS_TEXT.format(code=i)})
            started, t0 = time.time(), time.perf_counter()
            sid = None
            try:
                async with session.post(url, data=body, headers=headers[project]) as response:
                    status = response.status
                    payload = await response.read()
                    if 200 <= status < 300:
                        sid = json.loads(payload)["sid"]
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
                status = 0
            sent.started.append(started)
            sent.latency_ms.append((time.perf_counter() - t0) * 1000)
            sent.status.append(status)
            sent.project.append(project)
            if sid is not None:
                sent.sids.append(sid)

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        workers = [asyncio.ensure_future(worker(session)) for _ in range(connections)]
        _, pending = await asyncio.wait(workers, timeout=LOAD_TIMEOUT_S)
        for task in pending:
            task.cancel()
        sent.timed_out = bool(pending)
    return sent


# -- event-stream clients ---------------------------------------------------------------


@dataclass
class StreamTally:
    """What one `GET /_mock/events` client saw."""

    reading: bool
    project: str | None  # the projectId filter, if any
    events: Counter[str] = field(default_factory=Counter)
    missed_frames: int = 0
    missed_announced: int = 0  # the sum of {"missed": N} frames
    lost: int = 0  # ids skipped (unfiltered streams only: their ids are consecutive)
    last_id: int | None = None
    connected: bool = False
    error: str | None = None
    _buffer: bytes = b""

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        *frames, self._buffer = self._buffer.split(b"\n\n")
        for frame in frames:
            self._frame(frame)

    def _frame(self, frame: bytes) -> None:
        kind, data, event_id = "message", b"", None
        for line in frame.split(b"\n"):
            if line.startswith(b":"):
                self.connected = True  # the server's ": connected" comment, or a keepalive
            elif line.startswith(b"event:"):
                kind = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data = line[5:].strip()
            elif line.startswith(b"id:"):
                with contextlib.suppress(ValueError):
                    event_id = int(line[3:].strip())
        if not data:
            return
        self.events[kind] += 1
        if kind == "missed":
            self.missed_frames += 1
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.missed_announced += int(json.loads(data)["missed"])
            return
        if event_id is not None and self.project is None:
            if self.last_id is not None and event_id > self.last_id + 1:
                self.lost += event_id - self.last_id - 1
            self.last_id = event_id

    @property
    def unannounced(self) -> int:
        return max(0, self.lost - self.missed_announced)


class EventClients:
    """SSE_CLIENTS open streams on one aiohttp session; readers read all along."""

    def __init__(self, url: str, projects: Sequence[str]) -> None:
        self.url = url
        self.tallies: list[StreamTally] = []
        for i in range(SSE_CLIENTS):
            if i < SSE_READING_ALL:
                self.tallies.append(StreamTally(reading=True, project=None))
            elif i < SSE_READING_ALL + SSE_READING_PROJECT:
                self.tallies.append(StreamTally(reading=True, project=projects[i % len(projects)]))
            else:
                self.tallies.append(StreamTally(reading=False, project=None))
        self.responses: list[aiohttp.ClientResponse | None] = [None] * SSE_CLIENTS
        self.tasks: list[asyncio.Task[None]] = []
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        await asyncio.gather(*(self._open(i) for i in range(SSE_CLIENTS)))

    async def _open(self, i: int) -> None:
        tally = self.tallies[i]
        query = f"?projectId={tally.project}" if tally.project else ""
        assert self.session is not None
        try:
            response = await self.session.get(f"{self.url}/_mock/events{query}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.error = repr(exc)
            return
        self.responses[i] = response
        if tally.reading:
            self.tasks.append(asyncio.create_task(self._read(tally, response)))

    async def _read(self, tally: StreamTally, response: aiohttp.ClientResponse) -> None:
        try:
            async for chunk in response.content.iter_any():
                tally.feed(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.error = repr(exc)

    async def drain(self) -> None:
        """Read what the never-reading clients have waiting, until each is quiet."""

        deadline = time.monotonic() + DRAIN_WAIT_S

        async def one(tally: StreamTally, response: aiohttp.ClientResponse) -> None:
            # While callbacks are still going out, events keep coming: the deadline, not
            # a quiet stream, may be what ends this.
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                while (left := deadline - time.monotonic()) > 0:
                    chunk = await asyncio.wait_for(
                        response.content.readany(), min(DRAIN_IDLE_S, left)
                    )
                    if not chunk:
                        return
                    tally.feed(chunk)

        await asyncio.gather(
            *(
                one(t, r)
                for t, r in zip(self.tallies, self.responses, strict=True)
                if not t.reading and r is not None
            )
        )

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for response in self.responses:
            if response is not None:
                response.close()
        if self.session is not None:
            await self.session.close()


def run_clients(url: str, projects: list[str], conn: Connection, cpu: int) -> None:
    """The event-stream clients, in a child process of their own (so that the benchmark's
    own JSON parsing never stalls their reading). Commands come over `conn`: "drain"
    answers with the tallies; "close" (or the parent going away) ends it."""
    pin(cpu)
    asyncio.run(_clients(url, projects, conn))


async def _clients(url: str, projects: list[str], conn: Connection) -> None:
    clients = EventClients(url, projects)
    await clients.open()
    conn.send(("ready", sum(1 for t in clients.tallies if t.error is None)))
    try:
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command == "drain":
                await clients.drain()
                conn.send(("tallies", clients.tallies))
            else:
                break
    except (EOFError, OSError):
        pass  # the parent is gone
    finally:
        await clients.close()


def expect(conn: Connection, kind: str, timeout: float) -> Any:
    """The payload of the child's next message, which must be `kind`, within `timeout` s."""
    if not conn.poll(timeout):
        raise RuntimeError(f"the event-stream clients sent no {kind!r} within {timeout:g} s")
    got, payload = conn.recv()
    if got != kind:
        raise RuntimeError(f"the event-stream clients sent {got!r}, expected {kind!r}")
    return payload


def pin(cpu: int) -> None:
    """Run this process on `cpu` alone, as the benchmark's other helpers do."""
    with contextlib.suppress(OSError, AttributeError):
        if cpu_count() > 1:
            os.sched_setaffinity(0, {cpu})


# -- sampling RSS and API latency -------------------------------------------------------


@dataclass
class Samples:
    at: list[float] = field(default_factory=list)  # epoch seconds
    rss_mb: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)  # NaN: no answer
    health_status: list[int] = field(default_factory=list)


async def sample(url: str, pid: int, samples: Samples, stop: asyncio.Event) -> None:
    """RSS and `GET /_mock/health` latency every SAMPLE_INTERVAL_S until `stop`."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while not stop.is_set():
            started = time.time()
            with contextlib.suppress(OSError, RuntimeError):
                samples.rss_mb.append(rss_mb(pid))
                samples.at.append(started)
                t0 = time.perf_counter()
                try:
                    async with session.get(f"{url}/_mock/health") as response:
                        await response.read()
                        samples.health_status.append(response.status)
                        samples.health_ms.append((time.perf_counter() - t0) * 1000)
                except (aiohttp.ClientError, TimeoutError):
                    samples.health_status.append(0)
                    samples.health_ms.append(float("nan"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_INTERVAL_S)


# -- bad inputs, once each, while the load is on ---------------------------------------

ERROR_KEYS = {"timestamp", "status", "error", "message", "path"}
HUGE = "1" + "0" * 400  # an integer no float can hold


@dataclass(frozen=True)
class BadInput:
    name: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    expect: str  # what a precise answer is, for the report

    def accepts(self, status: int) -> bool:
        if self.expect == "refused":  # a cross-site or rebinding request must not get through
            return status in (400, 403, 421)
        return status == int(self.expect)


def bad_inputs(good_auth: str) -> list[BadInput]:
    js = {"Content-Type": "application/json"}
    send = "/api/v2/message"
    ok_send = json.dumps({"to": "+447515650839", "body": "hi"}).encode()
    return [
        BadInput(
            "malformed JSON", "POST", send, b'{"to": ', js | {"Authorization": good_auth}, "400"
        ),
        BadInput("not JSON", "POST", send, b"to=1", {"Authorization": good_auth}, "415"),
        BadInput(
            "body over the size limit",
            "POST",
            send,
            b'{"body": "' + b"x" * 70_000 + b'"}',
            js | {"Authorization": good_auth},
            "413",
        ),
        BadInput(
            "non-ASCII Authorization",
            "POST",
            send,
            ok_send,
            js | {"Authorization": "Basic \u00ff\u00fe\u00e9"},
            "401",
        ),
        BadInput(
            "huge integer (project sendDelay)",
            "POST",
            "/_mock/projects",
            f'{{"sendDelay": {HUGE}}}'.encode(),
            js,
            "400",
        ),
        BadInput(
            "huge integer (scenario latency)",
            "POST",
            "/_mock/scenarios",
            f'{{"match": {{"to": "+19999999999"}}, "effect": {{"latency": {HUGE}}}}}'.encode(),
            js,
            "400",
        ),
        BadInput("project id '..'", "POST", "/_mock/projects", b'{"projectId": ".."}', js, "400"),
        BadInput(
            "cross-site request (foreign Origin)",
            "DELETE",
            "/_mock/scenarios/relbench-none",
            b"",
            {"Origin": "http://attacker.invalid"},
            "refused",
        ),
        BadInput(
            "DNS rebinding (foreign Host)",
            "DELETE",
            "/_mock/scenarios/relbench-none",
            b"",
            {"Host": "attacker.invalid"},
            "refused",
        ),
    ]


@dataclass(frozen=True)
class BadOutcome:
    case: BadInput
    status: int
    shaped: bool  # the body is the one error shape

    @property
    def ok(self) -> bool:
        return self.case.accepts(self.status) and self.shaped


def try_bad_inputs(url: str, good_auth: str) -> list[BadOutcome]:
    outcomes = []
    for case in bad_inputs(good_auth):
        try:
            answer = call(
                url + case.path,
                method=case.method,
                body=case.body or None,
                headers=case.headers,
                timeout=30,
            )
            status, body = answer.status, answer.body
        except (OSError, ValueError) as exc:  # urllib refuses some headers itself
            status, body = 0, repr(exc).encode()
        try:
            shaped = set(json.loads(body)) == ERROR_KEYS
        except (ValueError, TypeError):
            shaped = False
        outcomes.append(BadOutcome(case, status, shaped))
    return outcomes


# -- the run ----------------------------------------------------------------------------


@dataclass
class Run:
    started: float = 0.0  # epoch: the load's first request
    phases: dict[str, float] = field(default_factory=dict)  # name -> epoch
    server_version: str = ""
    server_argv: list[str] = field(default_factory=list)
    sent: Sent = field(default_factory=Sent)
    samples: Samples = field(default_factory=Samples)
    projects: list[dict[str, Any]] = field(default_factory=list)
    project_ports: dict[int, int] = field(default_factory=dict)  # receiver port -> project
    messages: Paged | None = None
    per_project: dict[str, Paged] = field(default_factory=dict)
    callbacks: Paged | None = None
    receipts: list[list[Any]] = field(default_factory=list)  # sid, status, at, port
    healthy_complete: bool = False
    settled_in_time: bool = False
    streams: list[StreamTally] = field(default_factory=list)
    bad: list[BadOutcome] = field(default_factory=list)
    exit_code: int | None = None
    exit_s: float = float("nan")
    log: str = ""
    rss_start_mb: float = float("nan")
    control_statuses: list[int] = field(default_factory=list)
    callbacks_at: float = 0.0  # epoch of the full journal read
    late_attempts: list[dict[str, Any]] = field(default_factory=list)  # broken projects'
    late_at: float = 0.0  # epoch of their last read, just before SIGTERM


async def execute(run: Run, messages: int, faults: bool) -> None:
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="relbench-")))
        healthy_ports = free_ports(HEALTHY_PROJECTS)
        receiver = stack.enter_context(
            Server("receiver", cpu=LOAD_CPU, port=healthy_ports[0], more_ports=healthy_ports[1:])
        )
        hang = stack.enter_context(Server("hang" if faults else "receiver", cpu=LOAD_CPU))
        drip = stack.enter_context(Server("drip" if faults else "receiver", cpu=LOAD_CPU))

        options = {
            "max_messages": str(MAX_MESSAGES),
            "callback_timeout": str(CALLBACK_TIMEOUT_S),
            "callback_attempts": str(CALLBACK_ATTEMPTS),
            "callback_backoff": str(CALLBACK_BACKOFF_S),
        }
        mock = MockProcess(tmp, options)
        stack.callback(mock.kill)
        run.server_version, run.server_argv = mock.version, mock.argv
        run.rss_start_mb = rss_mb(mock.pid)

        hook_ports = [*healthy_ports, hang.port, drip.port]
        for i in range(PROJECTS):
            url = f"http://{HOST}:{hook_ports[i]}/hook/{project_id(i)}"
            answer = call_json(
                f"{mock.url}/_mock/projects", {"projectId": project_id(i), "webhookUrl": url}
            )
            if answer.status != 201:
                raise RuntimeError(
                    f"creating project {i} answered {answer.status}: {answer.body!r}"
                )
            run.projects.append(answer.json())
            run.project_ports[hook_ports[i]] = i
        auths = [auth_for(i, p["apiKey"]) for i, p in enumerate(run.projects)]

        ctx = multiprocessing.get_context("spawn")
        conn, child_conn = ctx.Pipe()
        projects = [project_id(i) for i in range(PROJECTS)]
        clients = ctx.Process(
            target=run_clients, args=(mock.url, projects, child_conn, LOAD_CPU), daemon=True
        )
        clients.start()
        stack.callback(stop_child, clients)
        await asyncio.to_thread(expect, conn, "ready", START_TIMEOUT_S * 3)
        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample(mock.url, mock.pid, run.samples, stop_sampling))
        try:
            await asyncio.sleep(1.0)  # a baseline before the load
            run.phases["load"] = time.time()
            loop = asyncio.get_running_loop()
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
                load = loop.run_in_executor(
                    pool,
                    run_load,
                    f"{mock.url}/api/v2/message",
                    auths,
                    messages,
                    CONNECTIONS,
                    LOAD_CPU,
                )
                await asyncio.sleep(VOLLEY_AFTER_S)
                run.bad = await asyncio.to_thread(try_bad_inputs, mock.url, auths[0])
                run.sent = await load
            run.started = min(run.sent.started, default=run.phases["load"])
            run.phases["sent"] = time.time()

            expected_healthy = 3 * sum(
                1
                for status, p in zip(run.sent.status, run.sent.project, strict=True)
                if 200 <= status < 300 and project_kind(p) == "healthy"
            )
            run.healthy_complete = await wait_until(
                lambda: receiver_count(receiver) >= expected_healthy, HEALTHY_WAIT_S
            )
            run.phases["healthy callbacks in"] = time.time()
            broken = [project_id(PROJECTS - 2), project_id(PROJECTS - 1)]
            run.settled_in_time = await wait_until(
                lambda: all(unsettled(mock.url, p) == 0 for p in broken), SETTLE_WAIT_S, 2.0
            )
            run.phases["broken settled"] = time.time()

            run.messages = await asyncio.to_thread(
                read_all, mock.url, "/_mock/messages", "messages"
            )
            for i in range(PROJECTS):
                pid = project_id(i)
                run.per_project[pid] = await asyncio.to_thread(
                    read_all, mock.url, "/_mock/messages", "messages", projectId=pid
                )
            run.callbacks = await asyncio.to_thread(
                read_all, mock.url, "/_mock/callbacks", "callbacks"
            )
            run.callbacks_at = time.time()
            run.receipts = (await asyncio.to_thread(receiver.get_json, "/_dump"))["records"]
            run.phases["read back"] = time.time()
            conn.send("drain")
            run.streams = await asyncio.to_thread(expect, conn, "tallies", DRAIN_WAIT_S + 60)
            run.phases["drained"] = time.time()
            # The broken receivers' callbacks go on settling until the end: their journal
            # once more, just before SIGTERM, and how fast it moved since the full read.
            for p in broken:
                late = await asyncio.to_thread(
                    read_all, mock.url, "/_mock/callbacks", "callbacks", projectId=p
                )
                run.late_attempts += late.items
            run.late_at = time.time()
        finally:
            stop_sampling.set()
            await sampler
            run.phases["SIGTERM"] = time.time()
            run.exit_code, run.exit_s = await asyncio.to_thread(mock.terminate)
            with contextlib.suppress(OSError):
                conn.send("close")
            run.log = mock.log()


def stop_child(process: multiprocessing.process.BaseProcess) -> None:
    process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)


def receiver_count(receiver: Server) -> int:
    count: int = receiver.get_json("/_stats")["count"]
    return count


def unsettled(url: str, project: str) -> int:
    """Callbacks of one project not yet delivered, failed for good or abandoned."""
    attempts = read_all(url, "/_mock/callbacks", "callbacks", projectId=project).items
    messages = read_all(url, "/_mock/messages", "messages", projectId=project).items
    expected = {(m["sid"], step["status"]) for m in messages for step in m["timeline"]}
    return len(expected - settled_pairs(attempts))


# The journal's error for a callback the server gave up without trying to the end: at
# shutdown ("abandoned: ..."), or past its bound on pending callbacks ("dropped: ...").
GIVEN_UP = ("abandoned", "dropped")


def given_up(attempt: dict[str, Any]) -> bool:
    return str(attempt.get("error") or "").startswith(GIVEN_UP)


def settled_pairs(attempts: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """(sid, status) pairs the journal shows delivered, failed for good, or abandoned."""
    return {
        (a["sid"], a["status"])
        for a in attempts
        if a["ok"] or a["attempt"] >= CALLBACK_ATTEMPTS or given_up(a)
    }


async def wait_until(done: Callable[[], bool], seconds: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(done):
            return True
        await asyncio.sleep(interval)
    return False


# -- judging -----------------------------------------------------------------------------


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass
class Figures:
    checks: list[Check]
    rows: list[tuple[str, str]]  # (what, measured) for the report
    lag_p50_s: float
    lag_p99_s: float
    peak_rss_mb: float
    rss_bound_mb: float
    abandoned_at_exit: int


def abandoned_in_log(log: str) -> int:
    """The count in the server's shutdown line about abandoned callbacks (0 if none)."""
    total = 0
    for line in log.splitlines():
        if "abandon" in line.lower():
            numbers = re.findall(r"\b(\d+)\b", line)
            if numbers:
                total += int(numbers[0])
    return total


def judge(run: Run, messages: int) -> Figures:
    sent = run.sent
    assert run.messages is not None
    assert run.callbacks is not None
    stored = run.messages.items
    ok_sends = sum(1 for s in sent.status if 200 <= s < 300)
    five_xx = sum(1 for s in sent.status if s >= 500)
    no_answer = sum(1 for s in sent.status if s == 0)
    sids = [m["sid"] for m in stored]

    # Isolation: each project's own listing has only its records, as many as were sent.
    sent_to = Counter(p for s, p in zip(sent.status, sent.project, strict=True) if 200 <= s < 300)
    foreign = 0
    miscounted = []
    for i in range(PROJECTS):
        pid = project_id(i)
        listed = run.per_project[pid].items
        foreign += sum(1 for m in listed if m["projectId"] != pid)
        if len(listed) != sent_to[i]:
            miscounted.append(f"{pid}: {len(listed)}/{sent_to[i]}")
    by_sid = {m["sid"]: m for m in stored}
    answered_sids_missing = sum(1 for sid in sent.sids if sid not in by_sid)

    # Callbacks: every status change of every message has a final journal entry, or was
    # abandoned at shutdown (the server logs how many).
    expected_pairs = {(m["sid"], step["status"]) for m in stored for step in m["timeline"]}
    early = settled_pairs(run.callbacks.items) & expected_pairs
    late = settled_pairs(run.late_attempts) & expected_pairs
    settled = early | late
    abandoned_at_exit = abandoned_in_log(run.log)
    unjournalled = len(expected_pairs) - len(settled) - abandoned_at_exit
    # Callbacks that settle between the last read and the shutdown are in neither count;
    # allow as many as the broken receivers' settling rate gives over that window.
    rate = len(late - early) / max(run.late_at - run.callbacks_at, 1e-3)
    window = run.phases.get("SIGTERM", run.late_at) - run.late_at + run.exit_s
    tolerance = math.ceil(rate * window) if window == window else 0
    outcome = Counter[str]()
    final: dict[tuple[str, str], str] = {}
    for a in [*run.callbacks.items, *run.late_attempts]:
        key = (a["sid"], a["status"])
        if a["ok"]:
            final[key] = "delivered"
        elif given_up(a):
            final.setdefault(key, "abandoned")
        elif a["attempt"] >= CALLBACK_ATTEMPTS:
            final.setdefault(key, "failed")
    outcome.update(final.values())

    # Healthy projects' callbacks: arrived at their own receiver, and on time.
    healthy = {project_id(i) for i in range(HEALTHY_PROJECTS)}
    changed = {
        (m["sid"], step["status"]): epoch(step["at"])
        for m in stored
        if m["projectId"] in healthy
        for step in m["timeline"]
    }
    received: dict[tuple[str, str], float] = {}
    wrong_receiver = 0
    for sid, status, at, port in run.receipts:
        received.setdefault((sid, status), at)
        m = by_sid.get(sid)
        if m is not None and run.project_ports.get(port) != int(m["projectId"][-2:]):
            wrong_receiver += 1
    lags = [received[k] - at for k, at in changed.items() if k in received]
    missing_healthy = sum(1 for k in changed if k not in received)
    lag_p50, lag_p99 = percentile(lags, 50), percentile(lags, 99)

    # Memory.
    peak = max(run.samples.rss_mb, default=float("nan"))
    stored_mb = (run.messages.json_bytes + run.callbacks.json_bytes) / 1e6
    bound = run.rss_start_mb + RSS_PER_JSON_BYTE * stored_mb + RSS_SLACK_MB

    # Event streams.
    unfiltered = [t for t in run.streams if t.project is None]
    readers = [t for t in unfiltered if t.reading]
    idle = [t for t in unfiltered if not t.reading]
    unannounced = sum(t.unannounced for t in unfiltered)
    connected = sum(1 for t in run.streams if t.connected)

    health_5xx = sum(1 for s in run.samples.health_status if s >= 500)
    health_none = sum(1 for s in run.samples.health_status if s == 0)
    control_5xx = sum(
        1
        for p in [run.messages, run.callbacks, *run.per_project.values()]
        for s in p.statuses
        if s >= 500
    )
    bad_ok = [b for b in run.bad if b.ok]

    exit_text = (
        f"still running after {KILL_AFTER_S:.0f} s (killed)"
        if run.exit_code is None
        else f"status {run.exit_code} after {run.exit_s:.2f} s"
    )
    checks: list[Check] = [
        (
            f"all {messages:,} sends answered 2xx",
            f"{ok_sends:,} 2xx, {five_xx} 5xx, {no_answer} unanswered"
            + (" (load stopped at its time limit)" if sent.timed_out else ""),
            ok_sends == messages and not sent.timed_out,
        ),
        (
            f"exactly {messages:,} records, read back "
            + ("page by page" if run.messages.paged else "in one unpaged read"),
            f"{len(stored):,} in {run.messages.pages} page(s); "
            f"{answered_sids_missing} answered sids missing",
            len(stored) == messages and answered_sids_missing == 0,
        ),
        (
            "unique sids",
            f"{len(set(sids)):,} distinct of {len(sids):,}",
            len(set(sids)) == len(sids),
        ),
        (
            "per-project isolation (records and callbacks)",
            f"{foreign} foreign records, {len(miscounted)} projects miscounted"
            f"{' (' + ', '.join(miscounted[:3]) + ')' if miscounted else ''}, "
            f"{wrong_receiver} callbacks at another project's receiver",
            foreign == 0 and not miscounted and wrong_receiver == 0,
        ),
        (
            "every callback journalled: delivered, failed or abandoned (or dropped)",
            f"{len(settled):,} of {len(expected_pairs):,} in the journal "
            f"({', '.join(f'{n:,} {k}' for k, n in sorted(outcome.items()))})"
            f" + {abandoned_at_exit:,} abandoned at exit (log)"
            f"; {unjournalled:,} unaccounted (at most {tolerance} may settle meanwhile:"
            f" {rate:.1f}/s over {window:.1f} s)",
            abs(unjournalled) <= tolerance,
        ),
        (
            f"healthy projects' callbacks on time (p99 lag <= {LAG_P99_TARGET_S:g} s)",
            f"{len(lags):,}/{len(changed):,} received; lag p50 {lag_p50:.2f} s, "
            f"p99 {lag_p99:.2f} s, max {max(lags, default=float('nan')):.2f} s",
            missing_healthy == 0 and lag_p99 <= LAG_P99_TARGET_S,
        ),
        (
            "no 5xx anywhere (sends, health probes, control reads)",
            f"sends {five_xx}, probes {health_5xx} (+{health_none} unanswered), "
            f"reads {control_5xx}",
            five_xx == 0 and health_5xx == 0 and control_5xx == 0,
        ),
        (
            "bad inputs get a precise 4xx in the error shape",
            f"{len(bad_ok)}/{len(run.bad)}"
            + "".join(f"; {b.case.name}: {b.status}" for b in run.bad if not b.ok),
            bool(run.bad) and len(bad_ok) == len(run.bad),
        ),
        (
            "event streams: no event lost without an `event: missed` frame",
            f"{connected}/{SSE_CLIENTS} connected; lost / announced: "
            f"{len(readers)} reading everything {stream_losses(readers)}, "
            f"{len(idle)} never reading {stream_losses(idle)}; {unannounced:,} unannounced",
            unannounced == 0 and connected == SSE_CLIENTS,
        ),
        (
            f"SIGTERM: exit 0 within {EXIT_TARGET_S:g} s",
            exit_text,
            run.exit_code == 0 and run.exit_s <= EXIT_TARGET_S,
        ),
        (
            f"RSS bounded (<= {bound:.0f} MB)",
            f"peak {peak:.0f} MB, {run.rss_start_mb:.0f} MB at start; records "
            f"{stored_mb:.0f} MB as JSON",
            peak <= bound,
        ),
    ]
    rows = [
        ("records stored / lost", f"{len(stored):,} / {max(0, ok_sends - len(stored)):,}"),
        ("send latency p50 / p99", fmt_latency(sent.latency_ms)),
        ("health probe latency p50 / p99", fmt_latency(run.samples.health_ms)),
    ]
    return Figures(checks, rows, lag_p50, lag_p99, peak, bound, abandoned_at_exit)


def stream_losses(tallies: Sequence[StreamTally]) -> str:
    lost = sum(t.lost for t in tallies)
    return f"{lost:,} / {sum(t.missed_announced for t in tallies):,}"


def fmt_latency(values: Sequence[float]) -> str:
    clean = [v for v in values if v == v]  # without NaN
    return f"{percentile(clean, 50):.1f} ms / {percentile(clean, 99):.1f} ms"


def per_second(run: Run) -> tuple[list[float], list[float]]:
    """p99 send latency in each second of the load: (seconds since start, ms)."""
    buckets: dict[int, list[float]] = {}
    for started, ms in zip(run.sent.started, run.sent.latency_ms, strict=True):
        buckets.setdefault(int(started - run.started), []).append(ms)
    seconds = sorted(buckets)
    return [s + 0.5 for s in seconds], [percentile(buckets[s], 99) for s in seconds]


# -- the report --------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [
        ("CPUs (nproc)", str(cpu_count())),
        ("CPU model", model),
        ("Python", platform.python_version()),
        ("OS", f"{platform.system()} {platform.release()}"),
    ]


DEFECT = re.compile(r"defect (\d+):\s*(.+)", re.S)


def suite_table(folder: Path = RELIABILITY_TESTS) -> list[tuple[int, str, str]]:
    """(defect, behaviour, test) from tests/reliability/: each test's docstring names its defect."""
    rows = []
    for path in sorted(folder.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                m = DEFECT.match(ast.get_docstring(node) or "")
                if m:
                    where = f"{path.relative_to(folder.parent.parent)}::{node.name}"
                    rows.append((int(m.group(1)), " ".join(m.group(2).split()), where))
    return sorted(rows)


def defect_rows(table: Sequence[tuple[int, str, str]]) -> list[str]:
    """One Markdown row per defect: its first test's behaviour, how many tests, where."""
    rows = []
    for number, group in itertools.groupby(table, key=lambda row: row[0]):
        tests = list(group)
        text = tests[0][1] if len(tests[0][1]) <= 120 else tests[0][1][:117] + "..."
        files = sorted({where.split("::")[0] for *_, where in tests})
        rows.append(
            f"| {number} | {text.replace('|', '/')} | {len(tests)} | "
            + ", ".join(f"`{f}`" for f in files)
            + " |"
        )
    return rows


def write_report(run: Run, figures: Figures, out: Path, busy_note: str, png: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    passed = all(ok for *_, ok in figures.checks)
    lines = [
        "# Reliability",
        "",
        "Generated by `make reliability` (`bench/reliability.py`); do not edit by hand.",
        f"Verdict: **{'every check passed' if passed else 'some checks FAILED'}**.",
        "",
        "## The machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine()],
        f"| augnet-mock | {run.server_version} |",
        f"| before the run | {busy_note} |",
        "",
        "## Load held",
        "",
        f"- {len(run.sent.status):,} sends (`POST /api/v2/message`) over {CONNECTIONS} "
        f"connections, spread evenly over {PROJECTS} projects, back to back.",
        f"- {SSE_CLIENTS} clients on `GET /_mock/events`: {SSE_READING_ALL} read everything, "
        f"{SSE_READING_PROJECT} read one project's events, "
        f"{SSE_CLIENTS - SSE_READING_ALL - SSE_READING_PROJECT} never read until the end.",
        f"- Status callbacks to {HEALTHY_PROJECTS} healthy receivers (one per project); "
        f"callback timeout {CALLBACK_TIMEOUT_S:g} s, {CALLBACK_ATTEMPTS} attempts, "
        f"backoff {CALLBACK_BACKOFF_S:g} s.",
        f"- Server: `{' '.join(['augnet-mock', *run.server_argv[3:]])}`.",
        "",
        "| figure | measured |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in figures.rows],
        f"| peak RSS (bound) | {figures.peak_rss_mb:.0f} MB ({figures.rss_bound_mb:.0f} MB) |",
        f"| healthy callbacks, status change to receipt p50 / p99 | "
        f"{figures.lag_p50_s:.2f} s / {figures.lag_p99_s:.2f} s |",
        "",
        "## Checks",
        "",
        "| check | measured | |",
        "|---|---|---|",
        *[
            f"| {label} | {value} | {'PASS' if ok else 'FAIL'} |"
            for label, value, ok in figures.checks
        ],
        "",
        "## Faults survived",
        "",
        "| fault | what it tests |",
        "|---|---|",
        f"| `{project_id(PROJECTS - 2)}`'s webhook accepts and never answers | a dead "
        "receiver must not starve other projects' callbacks; its own end failed or abandoned |",
        f"| `{project_id(PROJECTS - 1)}`'s webhook answers one byte a second | only a deadline "
        "on the whole answer stops it; a timeout per read never fires |",
        f"| {SSE_CLIENTS - SSE_READING_ALL - SSE_READING_PROJECT} event-stream clients never "
        "read | the API must not slow down for them, and what they lose must be announced "
        "(`event: missed`) |",
        "| SIGTERM with streams open and callbacks pending | exit 0 within 2 s; pending "
        "callbacks journalled and logged as abandoned |",
        "",
        "## Bad inputs tried",
        "",
        "During the run, one request of each class (the answer must be a precise 4xx in "
        "the error shape `{timestamp, status, error, message, path}`):",
        "",
        "| class | expected | got |",
        "|---|---|---|",
        *[
            f"| {b.case.name} | {b.case.expect} | {b.status}"
            f"{'' if b.shaped else ' (not the error shape)'} |"
            for b in run.bad
        ],
        "",
        "The test suite covers these classes and more, one regression test per defect "
        "of the hardening issue, in `tests/reliability/`:",
        "",
        "| defect | what is tried (the first test's docstring) | tests | file |",
        "|---|---|---|---|",
        *(defect_rows(suite_table()) or ["| - | no defect-numbered tests found | 0 | - |"]),
        "",
        "## Over the run",
        "",
    ]
    if png:
        lines += ["![RSS and p99 latency over the run](reliability.png)", ""]
    lines += [
        "Phases (seconds from the first send): "
        + ", ".join(f"{k} {v - run.started:.1f}" for k, v in run.phases.items()),
        "",
    ]
    (out / "reliability.md").write_text("\n".join(lines))


def plot(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [a - run.started for a in run.samples.at]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), dpi=110)
    top.plot(t, run.samples.rss_mb, color="tab:blue", lw=1.5)
    top.set_ylabel("server RSS (MB)")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    top.set_title(
        f"augnet-mock {run.server_version}: {len(run.sent.status):,} sends, "
        f"{SSE_CLIENTS} event streams, 2 broken webhooks"
    )
    xs, p99 = per_second(run)
    bottom.plot(xs, p99, color="tab:red", lw=1.5, marker=".", label="send p99, per second")
    bottom.plot(
        t,
        run.samples.health_ms,
        color="tab:gray",
        lw=0.8,
        alpha=0.8,
        label="GET /_mock/health, each probe",
    )
    bottom.set_yscale("log")
    bottom.set_ylabel("latency (ms, log)")
    bottom.set_xlabel("seconds since the first send")
    bottom.grid(alpha=0.3, which="both")
    bottom.legend(loc="upper right", fontsize=8)
    labelled = float("-inf")
    for name, at in run.phases.items():
        for ax in (top, bottom):
            ax.axvline(at - run.started, color="black", lw=0.6, ls="--", alpha=0.5)
        if at - labelled < 3:  # too close to the last label to read; the line stays
            continue
        labelled = at
        top.annotate(
            name,
            (at - run.started, 0),
            xytext=(2, 4),
            textcoords="offset points",
            rotation=90,
            fontsize=7,
            va="bottom",
        )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# -- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=MESSAGES, help="sends (20,000)")
    parser.add_argument("--report-dir", type=Path, default=REPORT_DIR)
    parser.add_argument("--no-report", action="store_true", help="print the table only")
    parser.add_argument(
        "--no-faults",
        action="store_true",
        help="point the two broken webhooks at healthy receivers (a baseline)",
    )
    args = parser.parse_args(argv)

    busy, note = machine_note()
    print("augnet-mock reliability")
    print(f"  {cpu_count()} CPUs; {note}")
    print(
        f"  {args.messages:,} sends over {CONNECTIONS} connections to {PROJECTS} projects;"
        f" {SSE_CLIENTS} event streams;"
        f" broken webhooks: {'none' if args.no_faults else 'hang, drip'}",
        flush=True,
    )
    run = Run()
    asyncio.run(execute(run, args.messages, faults=not args.no_faults))
    figures = judge(run, args.messages)
    print()
    for what, value in figures.rows:
        print(f"  {what}: {value}")
    print(
        "  phases (s from the first send): "
        + ", ".join(f"{k} {v - run.started:.1f}" for k, v in run.phases.items())
    )
    print()
    print("checks")
    status = print_checks(figures.checks, busy)
    if not args.no_report:
        args.report_dir.mkdir(parents=True, exist_ok=True)
        png = True
        try:
            plot(run, args.report_dir / "reliability.png")
        except ImportError:
            png = False
            print("  no plot: matplotlib is missing (pip install '.[bench]', or make reliability)")
        write_report(run, figures, args.report_dir, note, png)
        print(f"  report: {args.report_dir / 'reliability.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
