"""Status callbacks under load: do all arrive, how fast, and what they cost the API.

    .venv/bin/python bench/callbacks.py

Runs the mock (real clock, send_delay=0, delivery_delay=0) in a uvicorn
subprocess and a raw asyncio webhook receiver in another. wrk, with a Lua script
that sends an exact count, POSTs 5,000 messages twice, each time on a fresh
server: once with no statusCallback (callbacks off) and once with statusCallback
pointing at the receiver (callbacks on: 3 per message, queued/sent/delivered);
three rounds of that pair, judged on the median ratio.
Both runs saturate the server. A third run, on a fresh server too, paces the
sends (each connection pauses between requests) to measure callback latency at
a load the server keeps up with. A last pair of saturating runs, with and
without callbacks, sends 25,000 messages: long enough that callbacks stop giving
way to sends (the API-first hold runs out), reported but not judged.

Reports the API throughput of each saturating run and their ratio, the time until
all 15,000 callbacks were acknowledged, the count received against the count
expected, and p50/p99 from each status change (the message timeline's `at`) to
the receiver's clock at receipt, for both callbacks-on runs. Stops by itself;
every child is killed on exit.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree wins

from augnet_mock.pacing import MAX_HOLD
from bench._common import (
    CountedResult,
    Server,
    auth_header,
    cpu_count,
    machine_note,
    median_round,
    percentile,
    pinning_note,
    print_checks,
    run_wrk_counted,
    uvloop_available,
)

MESSAGES = 5_000
WARMUP_MESSAGES = 500
STATUSES_PER_MESSAGE = 3  # queued, sent, delivered
EXPECTED = MESSAGES * STATUSES_PER_MESSAGE
CONNECTIONS = 32
THREADS = 2
SERVER_CPU, LOAD_CPU = 0, 1  # the receiver shares the load generator's CPU
CALLBACK_TIMEOUT_S = 120.0  # from the first send; bounds the whole callbacks-on run
SEND_TIMEOUT_S = 60.0
# The paced run: each connection waits PACE_MS before each send, so at most
# PACED_CONNECTIONS * 1000 / PACE_MS = 1,000 messages (3,000 callbacks) a second.
PACED_MESSAGES = 2_000
# Long enough that the saturating load outlasts the API-first hold (pacing.MAX_HOLD):
# reported, not judged, to show what callbacks cost once they share the loop again.
SUSTAINED_MESSAGES = 25_000
ROUNDS = 3  # of the 5,000-message pair, off then on
PACED_CONNECTIONS = 8
PACE_MS = 8

TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0

MOCK_OPTIONS: dict[str, Any] = {
    "clock": "real",
    "send_delay": 0.0,
    "delivery_delay": 0.0,
    "max_messages": 1_000_000,  # no eviction
}
SMS_TEXT = "Your verification code is 482913. It expires in 10 minutes."


def send_body(callback_url: str | None) -> str:
    body: dict[str, str] = {"to": "+447700900123", "body": SMS_TEXT}
    if callback_url:
        body["statusCallback"] = callback_url
    return json.dumps(body, separators=(",", ":"))


def wait_for_callbacks(receiver: Server, expected: int, deadline: float) -> tuple[int, bool]:
    """Poll the receiver's count (not the mock) until `expected` arrived or `deadline` (epoch)."""
    count = 0
    while time.time() < deadline:
        count = receiver.get_json("/_stats")["count"]
        if count >= expected:
            return count, True
        time.sleep(0.02)
    return count, False


def send(mock: Server, callback_url: str | None, total: int, paced: bool) -> CountedResult:
    return run_wrk_counted(
        mock.url + "/api/v2/message",
        body=send_body(callback_url),
        headers={"Content-Type": "application/json", "Authorization": auth_header()},
        total=total,
        connections=PACED_CONNECTIONS if paced else CONNECTIONS,
        threads=THREADS,
        cpu=LOAD_CPU,
        timeout_s=SEND_TIMEOUT_S,
        pace_ms=PACE_MS if paced else 0,
    )


def warm_up(mock: Server, receiver: Server, callback_url: str | None) -> None:
    """Same traffic, fewer messages, back to back; then both sides start empty."""
    receiver.get_json("/_clear")  # an earlier run's receipts must not count as these
    send(mock, callback_url, WARMUP_MESSAGES, paced=False)
    if callback_url:
        wait_for_callbacks(receiver, WARMUP_MESSAGES * STATUSES_PER_MESSAGE, time.time() + 30)
    mock.get_json("/_mock/messages", method="DELETE")
    receiver.get_json("/_clear")


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run(
    receiver: Server, callbacks: bool, paced: bool = False, messages: int = MESSAGES
) -> dict[str, Any]:
    callback_url = receiver.url + "/status" if callbacks else None
    with Server("mock", cpu=SERVER_CPU, options=MOCK_OPTIONS) as mock:
        warm_up(mock, receiver, callback_url)
        cpu = mock.cpu_seconds()
        result = send(mock, callback_url, messages, paced)
        cpu_send = mock.cpu_seconds() - cpu
        out: dict[str, Any] = {"send": result, "stored": mock.get_json("/_mock/health")["messages"]}
        out["cpu_send_us"] = cpu_send / messages * 1e6
        out["cpu_all_us"] = out["cpu_send_us"]
        if not callbacks:
            return out
        expected = out["stored"] * STATUSES_PER_MESSAGE
        deadline = result.first + CALLBACK_TIMEOUT_S  # counted from the first send
        _, complete = wait_for_callbacks(receiver, expected, deadline)
        out["cpu_all_us"] = (mock.cpu_seconds() - cpu) / messages * 1e6
        out.update(expected=expected, complete=complete)
        dump = receiver.get_json("/_dump")
        stored = mock.get_json("/_mock/messages")["messages"]
        out["failed_attempts"] = len(mock.get_json("/_mock/callbacks?ok=false")["callbacks"])
        out["acked_attempts"] = len(mock.get_json("/_mock/callbacks?ok=true")["callbacks"])
    changed = {
        (m["sid"], step["status"]): epoch(step["at"]) for m in stored for step in m["timeline"]
    }
    received: dict[tuple[str, str], float] = {}
    duplicates = 0
    for sid, status, at, _port in dump["records"]:
        if (sid, status) in received:
            duplicates += 1
        received.setdefault((sid, status), at)
    latencies = [(at - changed[key]) * 1000 for key, at in received.items() if key in changed]
    last_receipt = max(received.values(), default=float("nan"))
    out.update(
        received=len(received),
        duplicates=duplicates,
        unmatched=sum(1 for key in received if key not in changed),
        malformed=dump["bad"],
        missing=sum(1 for key in changed if key not in received),
        all_acked_s=last_receipt - result.first,
        drain_s=last_receipt - result.last,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=float("nan")),
    )
    return out


def describe(name: str, out: dict[str, Any]) -> None:
    r: CountedResult = out["send"]
    timed_out = f"  STOPPED after {SEND_TIMEOUT_S:g} s, not all answered" if r.timed_out else ""
    print(
        f"  {name:14} {r.rps:7.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms"
        f"  ({r.ok}/{r.total} answered 2xx in {r.seconds:.2f} s; {out['stored']} stored)"
        f"{timed_out}",
        flush=True,
    )


def latency_line(out: dict[str, Any]) -> str:
    return f"p50 {out['p50_ms']:.1f} ms, p99 {out['p99_ms']:.1f} ms, max {out['max_ms']:.1f} ms"


def main() -> int:
    busy, note = machine_note()
    print("augnet-mock status callbacks")
    print(f"  {cpu_count()} CPUs; {note}")
    print(
        f"  {pinning_note(SERVER_CPU, LOAD_CPU)}; the receiver shares CPU {LOAD_CPU};"
        f" uvicorn http=httptools loop={'uvloop' if uvloop_available() else 'asyncio'}"
        " access_log=off"
    )
    print(f"  mock: Settings({', '.join(f'{k}={v!r}' for k, v in MOCK_OPTIONS.items())})")
    print(
        f"  saturating load: wrk -t{THREADS} -c{CONNECTIONS}, Lua script sending exactly"
        f" {MESSAGES:,} messages back to back (after {WARMUP_MESSAGES} warm-up sends, then the"
        " store is cleared); throughput = answers / (last answer - first request)"
    )
    print(
        f"  paced load: {PACED_MESSAGES:,} messages, wrk -c{PACED_CONNECTIONS}, each connection"
        f" pausing {PACE_MS} ms before each send"
        f" (at most {PACED_CONNECTIONS * 1000 // PACE_MS:,} messages/s)"
    )
    print("  receiver: raw asyncio + httptools; answers 200 at once, notes time.time() of each")
    print()
    with Server("receiver", cpu=LOAD_CPU) as receiver:
        rounds: list[tuple[float, tuple[dict[str, Any], dict[str, Any]]]] = []
        for _ in range(ROUNDS):
            off = run(receiver, callbacks=False)
            describe("callbacks off", off)
            on = run(receiver, callbacks=True)
            describe("callbacks on", on)
            rounds.append((on["send"].rps / off["send"].rps, (off, on)))
        ratio, (off, on) = median_round(rounds)
        paced = run(receiver, callbacks=True, paced=True, messages=PACED_MESSAGES)
        describe("on, paced", paced)
        long_off = run(receiver, callbacks=False, messages=SUSTAINED_MESSAGES)
        describe("off, sustained", long_off)
        long_on = run(receiver, callbacks=True, messages=SUSTAINED_MESSAGES)
        describe("on, sustained", long_on)

    long_ratio = long_on["send"].rps / long_off["send"].rps
    callback_us = (on["cpu_all_us"] - off["cpu_send_us"]) / STATUSES_PER_MESSAGE
    # One core serves sends and posts callbacks: for the target ratio, the callbacks of
    # one message may take at most (1 / ratio - 1) times the CPU of its send.
    budget_us = off["cpu_send_us"] * (1 / TARGET_RATIO - 1) / STATUSES_PER_MESSAGE
    print()
    print(
        f"  throughput ratio on/off: {ratio:.2f}, the median of {ROUNDS} rounds"
        f" ({', '.join(f'{r:.2f}' for r, _ in rounds)}); the figures below are that round's"
    )
    print(
        f"  sustained ({SUSTAINED_MESSAGES:,} messages, saturating for longer than the"
        f" {MAX_HOLD:g} s API-first hold): ratio {long_ratio:.2f}"
        f" ({long_on['send'].rps:.0f} vs {long_off['send'].rps:.0f} req/s);"
        f" callbacks {long_on['received']:,}/{long_on['expected']:,},"
        f" status change -> received {latency_line(long_on)}"
    )
    print(
        f"  mock CPU per message: callbacks off {off['cpu_send_us']:.0f} us;"
        f" callbacks on {on['cpu_send_us']:.0f} us while sending,"
        f" {on['cpu_all_us']:.0f} us once every callback is out"
        f" (about {callback_us:.0f} us per callback)"
    )
    print(
        f"  one core serves sends and posts callbacks: were they to share it evenly, a ratio"
        f" of {TARGET_RATIO} would leave each callback {budget_us:.0f} us of CPU; it takes"
        f" {callback_us:.0f} us, so callbacks give way to sends (pacing: one on the wire at"
        f" a time while sends keep arriving, for at most {MAX_HOLD:g} s)"
    )
    print(
        f"  callbacks: {on['received']:,} distinct (sid, status) received of {on['expected']:,}"
        f" expected; {on['missing']} missing, {on['duplicates']} duplicates,"
        f" {on['unmatched']} unknown, {on['malformed']} malformed"
    )
    print(
        f"  mock's journal: {on['acked_attempts']:,} acknowledged attempts,"
        f" {on['failed_attempts']} failed attempts"
    )
    if on["complete"]:
        print(
            f"  all acknowledged {on['all_acked_s']:.2f} s after the first send,"
            f" {on['drain_s']:.2f} s after the last API answer"
        )
    else:
        print(
            f"  NOT all acknowledged: gave up {CALLBACK_TIMEOUT_S:g} s after the first send;"
            f" the last one received came {on['all_acked_s']:.2f} s after the first send"
        )
    print(
        "  status change -> received (timeline `at` is truncated to the millisecond,"
        " so these read up to 1 ms high):"
    )
    print(f"    saturating: {latency_line(on)}  (mostly time queued behind other callbacks)")
    print(
        f"    paced at {paced['send'].rps:.0f} messages/s: {latency_line(paced)};"
        f" {paced['received']:,}/{paced['expected']:,} received"
    )

    # Failed attempts that a retry made good still count as arrived; they are printed above.
    every = all(
        o["complete"] and o["missing"] == 0 and o["received"] == o["stored"] * 3
        for o in (on, paced, long_on)
    )
    sends_ok = all(
        o["send"].ok == o["send"].total == o["stored"] and not o["send"].timed_out
        for o in (on, off, paced, long_on, long_off)
    )
    checks = [
        (
            "every callback arrives (every callbacks-on run)",
            ", ".join(f"{o['received']:,}/{o['expected']:,}" for o in (on, paced, long_on)),
            every,
        ),
        (f"throughput ratio on/off >= {TARGET_RATIO}", f"{ratio:.2f}", ratio >= TARGET_RATIO),
        (
            f"p99 status change -> received < {TARGET_P99_MS:g} ms (paced)",
            f"{paced['p99_ms']:.1f} ms",
            paced["p99_ms"] < TARGET_P99_MS,
        ),
        ("every send answered 2xx and stored, every run", str(sends_ok), sends_ok),
    ]
    print()
    print("summary")
    print(f"  callbacks off: {off['send'].rps:.0f} req/s; on: {on['send'].rps:.0f} req/s")
    acked = f"{on['all_acked_s']:.2f} s" if on["complete"] else "not reached"
    print(f"  time until all {EXPECTED:,} acknowledged: {acked}")
    return print_checks(checks, busy)


if __name__ == "__main__":
    sys.exit(main())
