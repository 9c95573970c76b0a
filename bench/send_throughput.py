"""Send-path throughput of the real server, against a bare Starlette floor, and memory.

    .venv/bin/python bench/send_throughput.py          (or `make bench`)

1. Starts a bare Starlette endpoint (reads and parses the same JSON, answers
   {"sid": ...}) and the mock, each in its own uvicorn subprocess (httptools,
   uvloop, access log off), and drives POST /api/v2/message on each with wrk
   (one Lua script, 32 connections, 2 threads) from a separate process.
   The mock runs twice: with the real clock and the server's default delays (the
   lifecycle runs while the load is on: the figure the targets are judged on),
   and with a manual clock that is never advanced (the API alone). Three rounds
   of the three servers; the round with the median ratio is the one judged.
2. In a fresh subprocess, accepts 100,000 messages with Faker bodies (1 to 3
   segments, some UCS-2) through `parse_send` + `Runtime.send` on a manual
   clock and reports the additional RSS: once with the lifecycle jobs run after
   every 1,000 sends, as a real clock would (judged), and once with all 200,000
   jobs held until the end (a manual clock nobody advances).

Prints req/s, p50, p99 for each, the ratio to the bare endpoint, and a summary
with PASS/FAIL per target. Stops by itself; every child is killed on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree wins

from bench._common import (
    Server,
    WrkResult,
    auth_header,
    cpu_count,
    env,
    machine_note,
    median_round,
    pinning_note,
    post_script,
    print_checks,
    rss_mb,
    run_wrk,
    uvloop_available,
)

CONNECTIONS = 32
THREADS = 2
WARMUP_S = 3.0
DURATION_S = 10.0
ROUNDS = 3
SERVER_CPU, LOAD_CPU = 0, 1
MEMORY_MESSAGES = 100_000
MAX_MESSAGES = 1_000_000  # far above what a run stores, so eviction never runs

TARGET_RATIO = 0.6
TARGET_P99_MS = 10.0
TARGET_MEMORY_MB = 150.0

# The body every request carries, for both servers: one GSM-7 segment, no callback.
SEND_BODY = json.dumps(
    {"to": "+447700900123", "body": "Your verification code is 482913. It expires in 10 minutes."},
    separators=(",", ":"),
)

MOCK_RUNS: dict[str, dict[str, Any]] = {
    # What `augnet-mock serve` does, but for max_messages: every message goes
    # queued -> sent (0.2 s) -> delivered (0.5 s) while the load is on.
    "mock, real clock, default delays": {"clock": "real", "max_messages": MAX_MESSAGES},
    # The API alone: lifecycle jobs are queued on a manual clock that never moves.
    "mock, manual clock (never advanced)": {"clock": "manual", "max_messages": MAX_MESSAGES},
}
JUDGED = "mock, real clock, default delays"


@dataclass(frozen=True)
class Measured:
    wrk: WrkResult
    cpu_us: float  # server CPU time per request over the measured run

    def line(self) -> str:
        return f"{self.wrk.line()}  server CPU {self.cpu_us:.0f} us/request"


def measure(server: Server, script: Path) -> Measured:
    url = server.url + "/api/v2/message"
    run_wrk(url, script, seconds=WARMUP_S, connections=CONNECTIONS, threads=THREADS, cpu=LOAD_CPU)
    cpu = server.cpu_seconds()
    result = run_wrk(
        url, script, seconds=DURATION_S, connections=CONNECTIONS, threads=THREADS, cpu=LOAD_CPU
    )
    # Lifecycle work of warm-up sends spills into this window as the measured sends'
    # spills out of it, so the two roughly cancel.
    return Measured(result, (server.cpu_seconds() - cpu) / max(1, result.requests) * 1e6)


def one_round(script: Path, notes: list[str] | None) -> tuple[Measured, dict[str, Measured]]:
    """The bare endpoint, then each mock run, each on a fresh server; RSS notes if asked."""
    with Server("bare", cpu=SERVER_CPU) as bare:
        bare_result = measure(bare, script)
    print(f"  {'bare Starlette endpoint':36} {bare_result.line()}", flush=True)

    mock_results: dict[str, Measured] = {}
    for name, options in MOCK_RUNS.items():
        with Server("mock", cpu=SERVER_CPU, options=options) as mock:
            before = mock.rss_mb()
            result = measure(mock, script)
            mock_results[name] = result
            print(f"  {name:36} {result.line()}", flush=True)
            if notes is None:
                continue
            if options["clock"] == "real":
                time.sleep(1.0)  # let the last lifecycles (0.7 s) finish
            stored = mock.get_json("/_mock/health")["messages"]
            grown = mock.rss_mb() - before
            notes.append(
                f"{name}: server RSS grew {grown:.0f} MB while storing {stored:,} messages"
                f" over HTTP ({grown / max(stored, 1) * 1e5:.0f} MB per 100,000;"
                " includes allocator and warm-up growth)"
            )
    return bare_result, mock_results


@dataclass(frozen=True)
class RoundFigures:
    ratio: float  # judged mock / bare throughput
    bare_p99_ms: float
    mock_p99_ms: float


def throughput() -> tuple[Measured, dict[str, Measured], list[str], list[RoundFigures]]:
    """ROUNDS rounds, the bare endpoint measured again in each: the one whose judged
    ratio is the median (`median_round`), and every round's figures."""
    notes: list[str] = []
    rounds: list[tuple[float, tuple[Measured, dict[str, Measured]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = post_script(
            Path(tmp) / "send.lua",
            body=SEND_BODY,
            headers={"Content-Type": "application/json", "Authorization": auth_header()},
        )
        for index in range(ROUNDS):
            print(f"  round {index + 1} of {ROUNDS}", flush=True)
            bare, mocks = one_round(script, notes if index == 0 else None)
            rounds.append((mocks[JUDGED].wrk.rps / bare.wrk.rps, (bare, mocks)))
    _, (bare, mocks) = median_round(rounds)
    figures = [RoundFigures(r, b.wrk.p99_ms, m[JUDGED].wrk.p99_ms) for r, (b, m) in rounds]
    return bare, mocks, notes, figures


# -- memory (runs in its own subprocess: `--memory-child`) --------------------------


def make_pools(seed: int = 7) -> tuple[list[str], list[str]]:
    """Faker sentences to build bodies from: English (GSM-7) and Russian (UCS-2)."""
    from faker import Faker

    rng = random.Random(seed)
    Faker.seed(seed)
    latin = Faker("en_GB")
    cyrillic = Faker("ru_RU")  # not GSM-7: these go out as UCS-2
    sentences = [latin.sentence(nb_words=rng.randint(4, 14)) for _ in range(2000)]
    ucs2 = [cyrillic.sentence(nb_words=rng.randint(3, 10)) for _ in range(500)]
    return sentences, ucs2


def fresh_body(rng: random.Random, segments: int, pools: tuple[list[str], list[str]]) -> str:
    """A new body string of about `segments` segments (10% of them UCS-2)."""
    sentences, ucs2 = pools
    if rng.random() < 0.1:
        pool, ranges = ucs2, {1: (20, 70), 2: (71, 134), 3: (135, 201)}
    else:
        pool, ranges = sentences, {1: (30, 160), 2: (161, 306), 3: (307, 459)}
    low, high = ranges[segments]
    target = rng.randint(low, high)
    words: list[str] = []
    size = 0
    while size < target:
        s = rng.choice(pool)
        words.append(s)
        size += len(s) + 1
    return " ".join(words)[:target].rstrip() or "x"


async def fill(count: int, batch: int) -> dict[str, Any]:
    """Accept `count` messages, running the due lifecycle jobs after every `batch`."""
    from augnet_mock.httpio import parse_json
    from augnet_mock.runtime import Runtime
    from augnet_mock.sending import parse_send
    from augnet_mock.settings import Settings

    rng = random.Random(11)
    pools = make_pools()
    settings = Settings(clock="manual", max_messages=MAX_MESSAGES)
    rt = Runtime(settings)
    project = rt.store.project(settings.startup_projects()[0].project_id)
    assert project is not None

    async def run_due_jobs() -> None:
        # No callback URL, so the jobs only move statuses; bounded, since one
        # advance runs at most 100,000 jobs.
        for _ in range(20):
            if rt.clock.pending == 0:
                return
            await rt.clock.advance(1.0)

    gc.collect()
    base = rss_mb()
    segments: dict[int, int] = {}
    encodings: dict[str, int] = {}
    send_s = 0.0
    for i in range(1, count + 1):
        # Half one segment, 3 in 10 two, 2 in 10 three; every string is a new object,
        # as it would be in real traffic.
        want = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
        phone = "+447" + "".join(rng.choice("0123456789") for _ in range(9))
        raw = json.dumps({"to": phone, "body": fresh_body(rng, want, pools)}).encode()
        started = time.perf_counter()
        # The validation the API runs, then the send path the API hands over to.
        req = parse_send(parse_json(raw), max_segments=settings.max_segments)
        rt.send(project, req, source="rest")
        send_s += time.perf_counter() - started
        segments[req.segmentation.segments] = segments.get(req.segmentation.segments, 0) + 1
        encodings[req.segmentation.encoding] = encodings.get(req.segmentation.encoding, 0) + 1
        if i % batch == 0 and i < count:
            await run_due_jobs()
    gc.collect()
    peak = rss_mb()
    pending = rt.clock.pending
    await run_due_jobs()
    gc.collect()
    final = rss_mb()
    statuses: dict[str, int] = {}
    for m in rt.store.messages():
        statuses[m["status"]] = statuses.get(m["status"], 0) + 1
    return {
        "count": rt.store.message_count(),
        "baseline_mb": base,
        "before_last_advance_mb": peak - base,
        "final_mb": final - base,
        "pending_jobs": pending,
        "left_pending": rt.clock.pending,
        "send_us": send_s / count * 1e6,
        "segments": segments,
        "encodings": encodings,
        "statuses": statuses,
    }


def memory_child(count: int, batch: int) -> None:
    print(json.dumps(asyncio.run(fill(count, batch))))


def memory(batch: int) -> dict[str, Any]:
    """`fill` in a fresh subprocess, so nothing this process allocated is counted."""
    argv = [sys.executable, __file__, "--memory-child", str(MEMORY_MESSAGES), "--batch", str(batch)]
    done = subprocess.run(argv, env=env(), capture_output=True, text=True, timeout=150, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory run failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.batch)
        return 0

    busy, note = machine_note()
    print("augnet-mock send throughput")
    print(f"  {cpu_count()} CPUs; {note}")
    print(
        f"  {pinning_note(SERVER_CPU, LOAD_CPU)}; uvicorn http=httptools"
        f" loop={'uvloop' if uvloop_available() else 'asyncio'} access_log=off"
    )
    print(
        f"  wrk -t{THREADS} -c{CONNECTIONS} --latency: {WARMUP_S:g} s warm-up, then"
        f" {DURATION_S:g} s measured, same Lua script for every server"
    )
    print(f"  body: {SEND_BODY}  (default project credentials, no statusCallback)")
    for name, options in MOCK_RUNS.items():
        print(f"  {name}: Settings({', '.join(f'{k}={v!r}' for k, v in options.items())})")
    print(flush=True)
    bare_m, mocks_m, notes, figures = throughput()
    bare, judged = bare_m.wrk, mocks_m[JUDGED].wrk
    print()
    print(
        f"  {JUDGED} / bare, each round: {', '.join(f'{f.ratio:.2f}' for f in figures)};"
        " the figures below are the median round's"
    )
    # The p99 target is absolute, so say how often the floor itself met it.
    print(
        "  p99 each round, bare / mock: "
        + ", ".join(f"{f.bare_p99_ms:.1f} / {f.mock_p99_ms:.1f} ms" for f in figures)
        + f"; the bare endpoint was under {TARGET_P99_MS:g} ms in"
        f" {sum(f.bare_p99_ms < TARGET_P99_MS for f in figures)} of {len(figures)} rounds"
    )
    for name, m in mocks_m.items():
        print(
            f"  {name} / bare: throughput ratio {m.wrk.rps / bare.rps:.2f};"
            f" CPU-per-request ratio {bare_m.cpu_us / m.cpu_us:.2f} (about what the throughput"
            " ratio is when nothing else competes for the server's core)"
        )
    for note in notes:
        print(f"  {note}")

    print()
    print(
        f"memory: {MEMORY_MESSAGES:,} messages through parse_send + Runtime.send (not HTTP),"
        " Faker bodies, manual clock, each run in a fresh process"
    )
    runs = {
        "lifecycle keeps up (jobs run after every 1,000 sends)": memory(1000),
        "manual clock held (jobs run only at the end)": memory(MEMORY_MESSAGES),
    }
    for name, mem in runs.items():
        print(f"  {name}:")
        print(
            f"    {mem['count']:,} stored; {mem['send_us']:.0f} us per parse_send + send;"
            f" segments {mem['segments']}; encodings {mem['encodings']}"
        )
        print(
            f"    baseline RSS {mem['baseline_mb']:.0f} MB;"
            f" +{mem['before_last_advance_mb']:.0f} MB with"
            f" {mem['pending_jobs']:,} lifecycle jobs still queued;"
            f" +{mem['final_mb']:.0f} MB once all ran (statuses {mem['statuses']})"
        )
    steady = next(iter(runs.values()))
    stored_mb = max(steady["before_last_advance_mb"], steady["final_mb"])

    clean = judged.non_2xx == 0 and judged.socket_errors == 0 and bare.non_2xx == 0
    ratio = judged.rps / bare.rps
    checks = [
        (f"ratio {JUDGED} / bare >= {TARGET_RATIO}", f"{ratio:.2f}", ratio >= TARGET_RATIO),
        (
            f"p99 < {TARGET_P99_MS:g} ms at {CONNECTIONS} connections",
            f"{judged.p99_ms:.2f} ms",
            judged.p99_ms < TARGET_P99_MS,
        ),
        (
            f"100,000 messages < {TARGET_MEMORY_MB:g} MB additional RSS",
            f"{stored_mb:.0f} MB",
            stored_mb < TARGET_MEMORY_MB,
        ),
        ("every response 2xx, no socket errors", "yes" if clean else "no", clean),
    ]
    print()
    print("summary")
    print(
        f"  bare endpoint: {bare.rps:.0f} req/s, p99 {bare.p99_ms:.2f} ms,"
        f" {bare_m.cpu_us:.0f} us CPU/request"
    )
    print(
        f"  mock ({JUDGED}): {judged.rps:.0f} req/s, p99 {judged.p99_ms:.2f} ms,"
        f" {mocks_m[JUDGED].cpu_us:.0f} us CPU/request"
    )
    print(
        f"  p99 mock / bare: {judged.p99_ms / bare.p99_ms:.2f}"
        f" (the {TARGET_P99_MS:g} ms target was set where the bare endpoint's p99 was about 4 ms)"
    )
    return print_checks(checks, busy)


if __name__ == "__main__":
    sys.exit(main())
