"""`POST /dial` from a PBX: events a second on one process, and the latency at 1,500 a second.

`switchboard serve` (one uvicorn process, every middleware, the API pinned to CPU 0) takes dial
events of one enterprise, each a new call (a new `UniqueId`), from this process's raw-socket
clients (pinned to CPU 1, with PostgreSQL). The enterprise has RetailCRM on, and the RetailCRM
emulator (`switchboard sandbox`) answers every request 300 ms late. Every answer comes after the
event's commit (group commit: events arriving together share one INSERT). `--delivery separate`
(the default) runs the delivery service in a `switchboard telephony-deliver` process beside the
API (`TELEPHONY_DELIVERY_IN_API=false`, as docs/operations.md advises for busy PBXs); `--delivery
api` runs it inside the API process. Two phases:

1. paced: `--rate` events a second (1,500) spread over 64 keep-alive connections, for
   `--seconds`; latency percentiles of the answers;
2. saturation: 64 connections, each posting again as soon as it is answered: events a second.

Afterwards the database must hold exactly the events answered `stored: true`.
Targets: p99 < 10 ms at 1,500 events/s, and ≥ 1,500 events/s at saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_call_popup import retailcrm_sandbox
from bench.common import PYTHON, bench_database, free_port, process, wait_until_up

TOKEN = "bench-pbx-token"  # noqa: S105 - the bench enterprise's own token (as bench_call_popup's)
CONNECTIONS = 64
TARGET_P99_MS = 10.0
TARGET_RATE = 1500.0


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    stored: int = 0
    seconds: float = 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return (
            ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else 0.0
        )


def _request(host: str, port: int, body: bytes) -> bytes:
    return (
        f"POST /dial HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _body(n: int) -> bytes:
    return orjson.dumps(
        {
            "Token": TOKEN,
            "UniqueId": f"1732960000.{n}",
            "CallType": 0,
            "Phone": "375291234567",
            "CallerIDNum": "375291234567",
            "Extensions": ["150", "151"],
            "Trunk": "0001363",
        }
    )


async def _connection(  # noqa: PLR0917 - one call site, all of it is the phase's plan
    host: str,
    port: int,
    numbers: itertools.count[int],
    deadline: float,
    interval: float | None,
    offset: float,
    result: Result,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    next_start = time.perf_counter() + offset
    try:
        while True:
            if interval is not None:
                delay = next_start - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_start += interval
            started = time.perf_counter()
            if started >= deadline:
                return
            writer.write(_request(host, port, _body(next(numbers))))
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            answer = await reader.readexactly(length)
            if head[9:12] == b"200":
                result.latencies.append(time.perf_counter() - started)
                result.stored += b'"stored":true' in answer
            else:
                result.errors += 1
    finally:
        writer.close()


async def _run(
    port: int, numbers: itertools.count[int], seconds: float, rate: float | None
) -> Result:
    result = Result()
    started = time.perf_counter()
    deadline = started + seconds
    interval = CONNECTIONS / rate if rate else None
    await asyncio.gather(
        *(
            _connection(
                "127.0.0.1",
                port,
                numbers,
                deadline,
                interval,
                (interval or 0) * n / CONNECTIONS,
                result,
            )
            for n in range(CONNECTIONS)
        )
    )
    result.seconds = time.perf_counter() - started
    return result


def _pin(api: int) -> None:
    """The API alone on CPU 0; this process (the PBX), PostgreSQL and the rest on CPU 1."""
    if len(os.sched_getaffinity(0)) < 2:
        return
    os.sched_setaffinity(api, {0})
    os.sched_setaffinity(0, {1})
    for pid in _postgres_pids():
        with contextlib.suppress(OSError):  # not ours to move (another user's server)
            os.sched_setaffinity(pid, {1})


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
    return pids


def _stored(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM telephony.call_events").fetchone()
        return int(row[0]) if row else 0


def report(title: str, result: Result) -> None:
    answered = len(result.latencies)
    print(title)
    print(
        f"  events {answered:6d} in {result.seconds:5.1f} s ({answered / result.seconds:7.0f}/s)"
        f"   errors {result.errors}"
    )
    print(
        f"  p50 {result.percentile(0.5):6.2f} ms   p90 {result.percentile(0.9):6.2f} ms"
        f"   p99 {result.percentile(0.99):6.2f} ms   max {result.percentile(1.0):6.2f} ms"
    )


def _pin_to(pid: int, cpu: int, *, nice: int = 0) -> None:
    """On CPU `cpu`; `nice`: below the load generator and PostgreSQL, which share that CPU (the
    delivery service catches up in their idle time, as it would on a host of its own)."""
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(pid, {cpu})
    if nice:
        os.setpriority(os.PRIO_PROCESS, pid, nice)


def _deliveries(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT status, count(*) FROM telephony.deliveries GROUP BY status"
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


def _measure(port: int, rate: float, seconds: float) -> tuple[Result, Result]:
    gc.collect()
    gc.freeze()  # the PBX simulator's own collections must not show as the server's latency
    numbers = itertools.count()
    asyncio.run(_run(port, numbers, 2.0, rate))  # warm-up
    paced = asyncio.run(_run(port, numbers, seconds, rate))
    saturated = asyncio.run(_run(port, numbers, seconds / 2, None))
    return paced, saturated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--delivery", choices=("separate", "api"), default="separate")
    options, _ = parser.parse_known_args()
    separate = options.delivery == "separate"
    with bench_database() as database_url:
        with retailcrm_sandbox(database_url, latency=0.3) as (_, sandbox):
            _pin_to(sandbox.pid, 1, nice=10)
            port = free_port()
            env = {
                "DATABASE_URL": database_url,
                "LOAD_DICTS_ON_START": "false",
                "RATE_LIMIT_PER_MINUTE": "0",
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "WARNING",
                "ACCESS_LOG": "errors",
                "REDIS_URL": "",
                "DB_POOL_SIZE": "10",
                "TELEPHONY_DELIVERY_IN_API": "false" if separate else "true",
            }
            serve = (PYTHON, "-m", "switchboard", "serve", "--port", str(port))
            deliver = (PYTHON, "-m", "switchboard", "telephony-deliver")
            with contextlib.ExitStack() as running:
                api = running.enter_context(process(*serve, env=env))
                if separate:
                    delivery = running.enter_context(process(*deliver, env=env))
                    _pin_to(delivery.pid, 1, nice=19)
                wait_until_up(f"http://127.0.0.1:{port}/api/health", api)
                _pin(api.pid)
                paced, saturated = _measure(port, options.rate, options.seconds)
        stored = _stored(database_url)
        deliveries = _deliveries(database_url)
    where = "a telephony-deliver process beside it" if separate else "inside the API process"
    print(f"POST /dial, one process, {CONNECTIONS} connections, every answer after its commit")
    print(f"  RetailCRM on (answering in 300 ms); delivery service: {where}")
    report(f"paced at {options.rate:.0f} events/s", paced)
    report("saturation (each connection posts again when answered)", saturated)
    answered_stored = paced.stored + saturated.stored
    print(f"  events in the database: {stored} (answered as stored in the phases and warm-up)")
    print(f"  RetailCRM deliveries by status when the load stopped: {deliveries}")
    rate = len(saturated.latencies) / saturated.seconds
    met = (
        paced.errors == 0
        and saturated.errors == 0
        and paced.percentile(0.99) < TARGET_P99_MS
        and rate >= TARGET_RATE
        and stored >= answered_stored
    )
    print(
        f"  target p99 < {TARGET_P99_MS:.0f} ms at {TARGET_RATE:.0f}/s and ≥ {TARGET_RATE:.0f}/s "
        f"at saturation: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
