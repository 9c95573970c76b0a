"""SMPP submit throughput and latency, against REST sends and a bare SMPP floor.

    .venv/bin/python bench/smpp.py

In one run, each server in its own subprocess pinned to one CPU and the load
generator pinned to the other (taskset):

1. The mock as shipped (real clock, default delays, so lifecycles run during the
   load) with SMPP on: one client binds as a transmitter and submits 20,000
   single-part messages with a window of 10 (never more than 10 unanswered).
   Reports submits/s and the p50/p99 time from writing a submit_sm to reading its
   submit_sm_resp.
2. The same client against a bare asyncio SMPP responder that decodes only the
   header and answers a fixed submit_sm_resp: the floor.
3. REST sends on the mock with bench/send_throughput.py's setup (wrk, 32
   connections, 2 threads, the same body): sends/s and p99.

Three rounds; the round whose SMPP/REST ratio is the median is judged. Targets:
SMPP submits/s >= 1.5x REST sends/s and >= 0.5x the bare responder, and SMPP p99
<= REST p99. Prints every figure and PASS/FAIL per target; exits non-zero on a FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree wins

from bench._common import (
    REPO,
    Server,
    WrkResult,
    auth_header,
    env,
    free_port,
    machine_note,
    median_round,
    percentile,
    pinned,
    pinning_note,
    post_script,
    print_checks,
)
from bench.send_throughput import MAX_MESSAGES, SEND_BODY, measure

SUBMITS = 20_000
WINDOW = 10
ROUNDS = 3
SERVER_CPU, LOAD_CPU = 0, 1
CLIENT_TIMEOUT_S = 120.0  # a whole client run; far past any healthy one
TARGET_VS_REST = 1.5
TARGET_VS_BARE = 0.5

HEADER = struct.Struct(">IIII")  # SMPP 3.4 §3.2
BIND_TRANSMITTER, SUBMIT_SM, SUBMIT_SM_RESP = 0x02, 0x04, 0x80000004
_SEND: dict[str, str] = json.loads(SEND_BODY)
TEXT = _SEND["body"].encode("ascii")  # the REST body: ASCII that GSM 03.38 codes alike
DESTINATION = _SEND["to"].lstrip("+").encode()


def bind_pdu() -> bytes:
    body = b"augnet\x00augnet\x00\x00" + bytes([0x34, 0, 0]) + b"\x00"
    return HEADER.pack(16 + len(body), BIND_TRANSMITTER, 0, 1) + body


def submit_body() -> bytes:
    """One single-part GSM submit_sm body (SMPP 3.4 §4.4.1), as a client would send it."""
    return (
        b"\x00"  # service_type
        + bytes([5, 0])
        + b"TAXI\x00"
        + bytes([1, 1])
        + DESTINATION
        + b"\x00"
        + bytes([0, 0, 0])  # esm_class, protocol_id, priority_flag
        + b"\x00\x00"  # schedule_delivery_time, validity_period
        + bytes([0, 0, 0, 0])  # registered_delivery, replace_if_present, data_coding, sm id
        + bytes([len(TEXT)])
        + TEXT
    )


# -- the load generator (runs in its own pinned process: --client) -------------------


class Client(asyncio.Protocol):
    """Binds, then keeps WINDOW submits outstanding until `total` are answered."""

    def __init__(self, total: int, done: asyncio.Future[None]) -> None:
        self.total = total
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.body = submit_body()
        self.sent = 0
        self.answered = 0
        self.failed = 0
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.started = 0.0
        self.finished = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(bind_pdu())

    def submit(self) -> None:
        assert self.transport is not None
        self.sent += 1
        sequence = self.sent + 1  # 1 was the bind
        self.sent_at[sequence] = time.perf_counter()
        pdu = HEADER.pack(16 + len(self.body), SUBMIT_SM, 0, sequence) + self.body
        self.transport.write(pdu)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        now = time.perf_counter()
        while len(buf) - pos >= 16:
            length, command_id, status, sequence = HEADER.unpack_from(buf, pos)
            if len(buf) - pos < length:
                break
            pos += length
            if command_id == SUBMIT_SM_RESP:
                self.latencies.append(now - self.sent_at.pop(sequence))
                self.answered += 1
                self.failed += status != 0
                if self.sent < self.total:
                    self.submit()
                elif self.answered == self.total:
                    self.finished = now
                    self.done.set_result(None)
            elif command_id & 0x80000000 and sequence == 1:  # the bind_resp
                if status != 0:
                    self.done.set_exception(RuntimeError(f"bind failed: status {status}"))
                    return
                self.started = time.perf_counter()
                for _ in range(min(WINDOW, self.total)):
                    self.submit()
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"connection lost after {self.answered}"))


async def run_client(port: int, total: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport, protocol = await loop.create_connection(
        lambda: Client(total, done), "127.0.0.1", port
    )
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT_S):
            await done
    finally:
        transport.close()
    client = protocol
    seconds = client.finished - client.started
    ms = [x * 1000 for x in client.latencies]
    return {
        "submits": client.answered,
        "failed": client.failed,
        "seconds": seconds,
        "rps": client.answered / seconds,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
    }


def client_main(port: int, total: int) -> None:
    try:
        import uvloop

        result = uvloop.run(run_client(port, total))
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        result = asyncio.run(run_client(port, total))
    print(json.dumps(result))


# -- the run -------------------------------------------------------------------------


@dataclass(frozen=True)
class SmppResult:
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int

    def line(self) -> str:
        return (
            f"{self.rps:8.0f} submits/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
            f"  failed {self.failed}"
        )


def smpp_load(port: int, total: int) -> SmppResult:
    argv = [sys.executable, str(Path(__file__).resolve()), "--client", str(port), str(total)]
    done = subprocess.run(
        pinned(LOAD_CPU, argv),
        capture_output=True,
        text=True,
        env=env(),
        cwd=REPO,
        timeout=CLIENT_TIMEOUT_S + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"SMPP client failed:\n{done.stdout}\n{done.stderr}")
    r = json.loads(done.stdout)
    return SmppResult(r["rps"], r["p50_ms"], r["p99_ms"], r["failed"])


@dataclass(frozen=True)
class Round:
    smpp: SmppResult
    bare: SmppResult
    rest: WrkResult


def one_round(script: Path) -> Round:
    options = {"clock": "real", "max_messages": MAX_MESSAGES}
    smpp_port = free_port()
    with Server("mock", cpu=SERVER_CPU, options=options | {"smpp_port": smpp_port}):
        smpp_load(smpp_port, WINDOW * 100)  # warm-up
        smpp = smpp_load(smpp_port, SUBMITS)
    print(f"  {'mock SMPP (window 10)':32} {smpp.line()}", flush=True)
    with Server("smpp-bare", cpu=SERVER_CPU) as bare_server:
        smpp_load(bare_server.port, WINDOW * 100)
        bare = smpp_load(bare_server.port, SUBMITS)
    print(f"  {'bare SMPP responder':32} {bare.line()}", flush=True)
    with Server("mock", cpu=SERVER_CPU, options=options | {"smpp_port": 0}) as mock:
        rest = measure(mock, script).wrk
    print(f"  {'mock REST (wrk, 32 connections)':32} {rest.line()}", flush=True)
    return Round(smpp, bare, rest)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", nargs=2, type=int, metavar=("PORT", "SUBMITS"))
    args = parser.parse_args()
    if args.client:
        client_main(*args.client)
        return 0
    busy, note = machine_note()
    print(note)
    print(pinning_note(SERVER_CPU, LOAD_CPU))
    rounds: list[tuple[float, Round]] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = post_script(
            Path(tmp) / "send.lua",
            body=SEND_BODY,
            headers={"Content-Type": "application/json", "Authorization": auth_header()},
        )
        for index in range(ROUNDS):
            print(f"round {index + 1} of {ROUNDS}", flush=True)
            r = one_round(script)
            rounds.append((r.smpp.rps / r.rest.rps, r))
    _, judged = median_round(rounds)
    smpp, bare, rest = judged.smpp, judged.bare, judged.rest
    print("\njudged round (median SMPP/REST ratio):")
    print(f"  SMPP {smpp.line()}")
    print(f"  bare {bare.line()}")
    print(f"  REST {rest.line()}")
    checks = [
        (
            f"SMPP submits/s >= {TARGET_VS_REST}x REST sends/s",
            f"{smpp.rps:.0f} vs {rest.rps:.0f} ({smpp.rps / rest.rps:.2f}x)",
            smpp.rps >= TARGET_VS_REST * rest.rps,
        ),
        (
            f"SMPP submits/s >= {TARGET_VS_BARE}x the bare responder",
            f"{smpp.rps:.0f} vs {bare.rps:.0f} ({smpp.rps / bare.rps:.2f}x)",
            smpp.rps >= TARGET_VS_BARE * bare.rps,
        ),
        (
            "SMPP p99 submit_sm_resp <= REST p99",
            f"{smpp.p99_ms:.2f} ms vs {rest.p99_ms:.2f} ms",
            smpp.p99_ms <= rest.p99_ms,
        ),
        ("every submit accepted", f"{smpp.failed} refused", smpp.failed == 0),
    ]
    return print_checks(checks, busy)


if __name__ == "__main__":
    sys.exit(main())
