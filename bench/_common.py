"""What both benchmarks share: free ports, server subprocesses, wrk runs, RSS.

Everything talks to 127.0.0.1 only. Servers run as subprocesses of `_serve.py`
with the source tree first on PYTHONPATH, so the benchmark measures this
checkout rather than whatever copy is installed in the venv.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SERVE = BENCH / "_serve.py"
HOST = "127.0.0.1"
T = TypeVar("T")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
WRK = shutil.which("wrk") or "/usr/bin/wrk"
TASKSET = shutil.which("taskset")


def env() -> dict[str, str]:
    """The environment for child Pythons: this checkout wins over the installed copy."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    e.pop("http_proxy", None)  # everything is loopback; never go through a proxy
    e.pop("HTTP_PROXY", None)
    return e


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (each socket stays bound until all are picked)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind((HOST, 0))
            ports.append(int(s.getsockname()[1]))
        return ports


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def pinned(cpu: int | None, argv: Sequence[str]) -> list[str]:
    """`argv` under `taskset -c cpu` when taskset exists and there is more than one core."""
    if cpu is None or TASKSET is None or cpu_count() < 2:
        return list(argv)
    return [TASKSET, "-c", str(cpu), *argv]


def pinning_note(server_cpu: int | None, load_cpu: int | None) -> str:
    if TASKSET is None:
        return "not pinned (taskset not found)"
    if cpu_count() < 2:
        return "not pinned (only one CPU available)"
    return f"server pinned to CPU {server_cpu}, load generator to CPU {load_cpu} (taskset)"


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


class Server:
    """One `_serve.py` subprocess: started on a free port, waited for, always stopped."""

    def __init__(
        self,
        kind: str,
        *,
        cpu: int | None = None,
        options: dict[str, Any] | None = None,
        port: int | None = None,
        more_ports: Sequence[int] = (),
    ) -> None:
        self.kind = kind
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        argv = [sys.executable, str(SERVE), kind, "--port", str(self.port)]
        argv += ["--options", json.dumps(options or {})]
        if more_ports:  # a receiver listening on several ports (one process)
            argv += ["--more-ports", ",".join(str(p) for p in more_ports)]
        self.proc = subprocess.Popen(pinned(cpu, argv), env=env(), cwd=REPO)
        self._wait_started()

    def _wait_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited with {self.proc.returncode}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not start within {START_TIMEOUT} s")

    # taskset execs the server, so the child's pid is the server's own.
    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def get_json(self, path: str, timeout: float = 30.0, *, method: str = "GET") -> Any:
        return get_json(self.url + path, timeout, method=method)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on SIGINT
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def auth_header() -> str:
    """HTTP Basic for the default project (the provider's sample credentials)."""
    from augnet_mock.models import DEFAULT_API_KEY, DEFAULT_PROJECT_ID

    token = base64.b64encode(f"{DEFAULT_PROJECT_ID}:{DEFAULT_API_KEY}".encode()).decode()
    return f"Basic {token}"


def get_json(url: str, timeout: float = 30.0, *, method: str = "GET") -> Any:
    # No proxy handler: loopback only, whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(url, method=method), timeout=timeout) as response:
        return json.loads(response.read())


def machine_note(seconds: float = 1.0) -> tuple[float, str]:
    """How busy the CPUs are before we start (other work skews every figure)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    busy = 100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0))
    load = Path("/proc/loadavg").read_text().split()[0]
    note = f"CPUs {busy:.0f}% busy before start, load average {load}"
    if busy > 15:
        note += "  WARNING: other work is running; figures will be low and noisy"
    return busy, note


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat).

    CPU time per request does not depend on what else the machine runs, unlike
    req/s, so it is printed next to every throughput figure.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size from /proc/<pid>/status (VmRSS), in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for pid {pid}")


# -- wrk --------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    raw: str

    def line(self) -> str:
        extra = ""
        if self.non_2xx or self.socket_errors:
            extra = f"  non-2xx={self.non_2xx} socket-errors={self.socket_errors}"
        return (
            f"{self.rps:9.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
            f"  ({self.requests} requests in {self.seconds:.1f} s){extra}"
        )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not m:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(text: str) -> WrkResult:
    """The figures out of `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", text, re.M)
    if not (rps and total and p50 and p99):
        raise ValueError(f"could not parse wrk output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_ms(total.group(2) + total.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        raw=text,
    )


def run_wrk(
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    threads: int,
    cpu: int | None,
    timeout_s: float = 5.0,
) -> WrkResult:
    argv = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        pinned(cpu, argv),
        capture_output=True,
        text=True,
        timeout=seconds + timeout_s + 60,  # bounded even if wrk hangs
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


def lua_string(value: str) -> str:
    """A Lua string literal (JSON escapes are a subset Lua reads the same way for ASCII)."""
    if not value.isascii():
        raise ValueError("keep wrk bodies ASCII so the Lua literal is byte-exact")
    return json.dumps(value)


def post_script(path: Path, *, body: str, headers: dict[str, str], extra: str = "") -> Path:
    """Write a wrk Lua script that POSTs `body` with `headers`; `extra` is appended Lua."""
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body)}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


# -- small statistics ---------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median_round(rounds: Sequence[tuple[float, T]]) -> tuple[float, T]:
    """The round whose score (its first item) is the median: the machine's speed drifts
    between runs, so one round alone can land either side of a target."""
    return sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]


Check = tuple[str, str, bool]  # (target, measured, met)


def print_checks(checks: Sequence[Check], busy: float) -> int:
    """One PASS/FAIL line per target; the exit status (0 when every target is met)."""
    for label, value, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value}")
    if busy > 15:
        print("  (the machine was busy before the run; see the warning at the top)")
    return 0 if all(ok for *_, ok in checks) else 1


# -- wrk with an exact number of requests -------------------------------------------

# Appended to a post_script: each thread sends exactly `limit` requests (delay()
# reserves a slot before every request, and parks the connection for an hour once
# the thread's share is used up), records wall-clock times with LuaJIT's FFI, and
# drops a marker file when its last answer is in, so the caller can end wrk at
# once instead of waiting out -d. done() prints one BENCH line with the totals.
COUNTED_LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()  -- CLOCK_REALTIME, comparable with Python's time.time()
  ffi.C.clock_gettime(0, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
local started = 0
function setup(thread)
  started = started + 1
  local share = math.floor(TOTAL / THREADS)
  if started <= TOTAL % THREADS then share = share + 1 end
  thread:set("id", started)
  thread:set("limit", share)
  table.insert(threads, thread)
end

reserved, answered, ok, first, last = 0, 0, 0, 0, 0
function delay()
  if reserved < limit then
    reserved = reserved + 1
    if first == 0 then first = now() end
    return PACE_MS  -- 0: back to back; else each connection pauses between requests
  end
  return 3600000
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 then ok = ok + 1 end
  if answered == limit then
    last = now()
    local f = io.open(MARKERS .. "/done-" .. id, "w")
    f:write("done")
    f:close()
  end
end

function done(summary, latency, requests)
  local first_, last_, answered_, ok_ = math.huge, 0, 0, 0
  for _, t in ipairs(threads) do
    local f, l = t:get("first"), t:get("last")
    if f > 0 and f < first_ then first_ = f end
    if l > last_ then last_ = l end
    answered_ = answered_ + t:get("answered")
    ok_ = ok_ + t:get("ok")
  end
  io.write(string.format("BENCH first=%.6f last=%.6f answered=%d ok=%d p50=%d p99=%d\\n",
    first_, last_, answered_, ok_, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class CountedResult:
    total: int
    answered: int
    ok: int
    first: float  # epoch seconds of the first request
    last: float  # epoch seconds of the last answer, or when wrk was stopped on timeout
    p50_ms: float
    p99_ms: float
    timed_out: bool

    @property
    def seconds(self) -> float:
        return self.last - self.first

    @property
    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else float("nan")


def run_wrk_counted(
    url: str,
    *,
    body: str,
    headers: dict[str, str],
    total: int,
    connections: int,
    threads: int,
    cpu: int | None,
    timeout_s: float = 120.0,
    pace_ms: int = 0,
) -> CountedResult:
    """POST exactly `total` requests with wrk; throughput from the first send to the last answer.

    `pace_ms` > 0 makes each connection wait that long before each request, so the
    load stays below what the server can take (an open-ish load instead of saturation).
    """
    with tempfile.TemporaryDirectory() as tmp:
        markers = Path(tmp)
        script = post_script(
            markers / "counted.lua",
            body=body,
            headers=headers,
            extra=f"TOTAL = {total}\nTHREADS = {threads}\nPACE_MS = {pace_ms}\n"
            + f"MARKERS = {lua_string(tmp)}\n"
            + COUNTED_LUA,
        )
        argv = [WRK, f"-t{threads}", f"-c{connections}", f"-d{timeout_s:g}s", "--timeout=10s"]
        argv += ["--latency", "-s", str(script), url]
        proc = subprocess.Popen(
            pinned(cpu, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + timeout_s
            timed_out = True
            while time.monotonic() < deadline and proc.poll() is None:
                if len(list(markers.glob("done-*"))) >= threads:
                    timed_out = False
                    break
                time.sleep(0.01)
            stopped = time.time()
            proc.send_signal(signal.SIGINT)  # wrk stops its threads and reports
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
    m = re.search(
        r"BENCH first=([\d.]+|inf) last=([\d.]+) answered=(\d+) ok=(\d+) p50=(\d+) p99=(\d+)", out
    )
    if not m:
        raise RuntimeError(f"could not parse wrk output:\n{out}\n{err}")
    first = float(m.group(1)) if m.group(1) != "inf" else float("nan")
    return CountedResult(
        total=total,
        answered=int(m.group(3)),
        ok=int(m.group(4)),
        first=first,
        # Not all answered: count what was, up to the moment wrk was stopped.
        last=stopped if timed_out else float(m.group(2)),
        p50_ms=int(m.group(5)) / 1000,
        p99_ms=int(m.group(6)) / 1000,
        timed_out=timed_out,
    )
