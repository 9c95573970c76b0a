"""What open event streams cost the send path, and whether readers lose events unseen.

    .venv/bin/python bench/events.py [--clients 200] [--seconds 8]

In one run, on a fresh mock server each (real clock, default delays, as served):

1. sends alone, no event stream open (the baseline), and with one stream that reads
   (every event is then rendered once: the price of anyone listening);
2. sends with `--clients` SSE clients that open GET /_mock/events and never read
   (a small receive buffer, so their streams back up at once);
3. sends with `--clients` SSE clients that read everything, in a separate process.

Load is POST /api/v2/message from wrk (same Lua script and connection count as
bench/send_throughput.py). Prints req/s, p99 and the ratio to the baseline for
each, and for the readers how many events each got, how many `missed` frames
told it of a gap, and whether got + missed accounts for every event published.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree wins

from bench._common import (
    HOST,
    Server,
    WrkResult,
    auth_header,
    cpu_count,
    env,
    machine_note,
    pinned,
    pinning_note,
    post_script,
    run_wrk,
)
from bench.send_throughput import CONNECTIONS, SEND_BODY, THREADS

SERVER_CPU, LOAD_CPU = 0, 1
WARMUP_S = 2.0
OPTIONS = {"clock": "real", "max_messages": 1_000_000}  # no eviction during a run
EVENTS_PER_SEND = 3  # message (queued), status sent, status delivered; no callback URL
SETTLE_S = 1.5  # the last sends' lifecycles (0.7 s with the default delays) finish
STATS_TIMEOUT = 30.0
MISSED = re.compile(rb'event: missed\ndata: \{"missed":(\d+)\}')


# -- the clients --------------------------------------------------------------------


def open_idle_streams(port: int, count: int) -> list[socket.socket]:
    """`count` connections that ask for the event stream and never read a byte."""
    streams = []
    for _ in range(count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((HOST, port))
        s.sendall(f"GET /_mock/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        streams.append(s)
    return streams


async def read_streams(port: int, count: int) -> None:
    """Child process: `count` streams read to the end; a line on stdin asks for what
    each got so far (one JSON line back), end of stdin ends it."""
    got = [0] * count
    missed = [0] * count

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"GET /_mock/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        await writer.drain()
        return reader, writer  # keep the writer: dropping it closes the connection

    async def one(i: int, reader: asyncio.StreamReader) -> None:
        tail = b""
        while chunk := await reader.read(65536):
            data = tail + chunk
            cut = data.rfind(b"\n\n")
            if cut < 0:
                tail = data
                continue
            whole, tail = data[: cut + 2], data[cut + 2 :]
            got[i] += whole.count(b"\nevent: ") + whole.startswith(b"event: ")
            for found in MISSED.findall(whole):
                got[i] -= 1
                missed[i] += int(found)

    loop = asyncio.get_running_loop()
    connections = [await connect() for _ in range(count)]
    tasks = [asyncio.create_task(one(i, r)) for i, (r, _) in enumerate(connections)]
    print("ready", flush=True)
    while await loop.run_in_executor(None, sys.stdin.readline):
        print(json.dumps({"got": got, "missed": missed}), flush=True)
    for task in tasks:
        task.cancel()


class Readers:
    """The reading clients, in their own process so their work is not the server's."""

    def __init__(self, port: int, count: int) -> None:
        argv = [sys.executable, __file__, "--read", str(port), "--clients", str(count)]
        self.proc = subprocess.Popen(
            pinned(LOAD_CPU, argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"readers did not start: {line!r}")

    def ask(self) -> dict[str, list[int]]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, list[int]] = json.loads(self.proc.stdout.readline())
        return result

    def stats(self) -> dict[str, list[int]]:
        """What each reader got, once the counts stop moving (the streams drained)."""
        deadline = time.monotonic() + STATS_TIMEOUT
        last = self.ask()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.ask()
            if now == last:
                return now
            last = now
        return last

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STATS_TIMEOUT)


# -- the runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    name: str
    wrk: WrkResult
    note: str = ""


def measure(server: Server, script: Path, seconds: float) -> WrkResult:
    url = server.url + "/api/v2/message"
    for length in (WARMUP_S, seconds):
        result = run_wrk(
            url, script, seconds=length, connections=CONNECTIONS, threads=THREADS, cpu=LOAD_CPU
        )
    return result  # the measured run, after the warm-up


def run_baseline(script: Path, seconds: float) -> Run:
    with Server("mock", cpu=SERVER_CPU, options=OPTIONS) as server:
        return Run("no event streams", measure(server, script, seconds))


def run_idle(script: Path, seconds: float, clients: int) -> Run:
    with Server("mock", cpu=SERVER_CPU, options=OPTIONS) as server:
        streams = open_idle_streams(server.port, clients)
        try:
            result = measure(server, script, seconds)
        finally:
            for s in streams:
                s.close()
        return Run(f"{clients} streams that never read", result)


def run_reading(script: Path, seconds: float, clients: int) -> Run:
    with Server("mock", cpu=SERVER_CPU, options=OPTIONS) as server:
        readers = Readers(server.port, clients)
        try:
            result = measure(server, script, seconds)
            time.sleep(SETTLE_S)
            stored: int = server.get_json("/_mock/health")["messages"]
            stats = readers.stats()
        finally:
            readers.kill()
    published = stored * EVENTS_PER_SEND
    got, missed = stats["got"], stats["missed"]
    accounted = sum(g + m == published for g, m in zip(got, missed, strict=True))
    note = (
        f"{published:,} events published; per reader: got {min(got):,} to {max(got):,}"
        f" (mean {sum(got) / len(got):,.0f}), told of {min(missed):,} to {max(missed):,}"
        f" missed; got + missed == published for {accounted} of {len(got)} readers"
    )
    return Run(f"{clients} streams that read", result, note)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--read", type=int, help=argparse.SUPPRESS)  # child: the readers
    args = parser.parse_args()
    if args.read:
        asyncio.run(read_streams(args.read, args.clients))
        return 0

    busy, note = machine_note()
    print("augnet-mock: event streams against the send path")
    print(f"  {cpu_count()} CPUs; {note}")
    print(f"  {pinning_note(SERVER_CPU, LOAD_CPU)} (the reading clients share the load CPU)")
    print(
        f"  wrk -t{THREADS} -c{CONNECTIONS} POST /api/v2/message, {WARMUP_S:g} s warm-up then"
        f" {args.seconds:g} s measured; a fresh server for each run, Settings({OPTIONS})"
    )
    print(flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        script = post_script(
            Path(tmp) / "send.lua",
            body=SEND_BODY,
            headers={"Content-Type": "application/json", "Authorization": auth_header()},
        )
        runs: list[Run] = []
        plan: list[Callable[[], Run]] = [
            lambda: run_baseline(script, args.seconds),
            # One stream makes the server render every event once; with it the rest
            # shows what each further subscriber costs.
            lambda: run_reading(script, args.seconds, 1),
            lambda: run_idle(script, args.seconds, args.clients),
            lambda: run_reading(script, args.seconds, args.clients),
        ]
        for run in plan:
            done = run()
            runs.append(done)
            print(f"  {done.name:32} {done.wrk.line()}", flush=True)
            if done.note:
                print(f"  {'':32} {done.note}", flush=True)
    base = runs[0].wrk
    print()
    print("summary (ratio to no streams)")
    for done in runs:
        print(
            f"  {done.name:32} {done.wrk.rps:7.0f} req/s ({done.wrk.rps / base.rps:.2f}),"
            f" p99 {done.wrk.p99_ms:.1f} ms ({done.wrk.p99_ms / base.p99_ms:.2f})"
        )
    if busy > 15:
        print("  (the machine was busy before the run; see the warning at the top)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
