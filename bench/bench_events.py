"""Real-time events: publish → SSE client latency on 1,000 channels, and memory per idle stream.

1. Latency. A bench-only app built from the platform's own pieces (`PostgresBus` and
   `core/realtime/sse.event_stream`, one uvicorn process) serves `/events/{channel}`; 1,000 SSE
   clients on raw asyncio sockets each hold one of 1,000 channels. This process publishes events
   on random channels (each in its own transaction, several publishers at once, at a steady
   rate), with the publish time inside the event; each client records when the event arrived.
   Every client must receive exactly the events of its channel, in order. Targets: p50 under
   25 ms and p99 under 100 ms, from before the publishing transaction to the client's socket.
2. Memory. `switchboard serve` (the real API, PostgreSQL bus) holds 5,000 idle SSE connections to
   `/api/dicts/events`; its resident memory is read from /proc before and after, and one event
   is then published to show that every stream is alive. Target: under 200 MB RSS in all.

Run: `.venv/bin/python bench/bench_events.py [--channels 1000] [--events 3000] [--rate 300]
[--idle 5000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, bench_database, free_port, process, wait_until_up

from switchboard.core.realtime import EventModel

P50_TARGET_MS = 25.0
P99_TARGET_MS = 100.0
IDLE_RSS_TARGET_MB = 200.0
CONNECT_BATCH = 250


class BenchPinged(EventModel):
    """The bench's event: when it was published (CLOCK_MONOTONIC, shared by all processes)."""

    event_name: ClassVar[str] = "bench.pinged"
    sent: float


# --- the bench-only server ------------------------------------------------------------------


def create_bench_app() -> Any:
    """`uvicorn --factory bench.bench_events:create_bench_app`: one SSE endpoint per channel over
    the PostgreSQL bus, nothing else (no auth, limits or metrics) so the bus is what is timed."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from switchboard.core.db import Database
    from switchboard.core.realtime.postgres import PostgresBus
    from switchboard.core.realtime.sse import StreamHandoff, event_stream

    database = Database(os.environ["BENCH_DATABASE_URL"], pool_size=20)
    bus = PostgresBus(database)

    async def stream(request: Request) -> Any:
        return await event_stream(
            request,
            bus,
            request.path_params["channel"],
            heartbeat_seconds=15,
            max_lifetime_seconds=3600,
        )

    async def up(_: Request) -> PlainTextResponse:
        return PlainTextResponse("up")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await bus.start()
        yield
        await bus.stop()
        await database.dispose()

    return Starlette(
        routes=[Route("/up", up), Route("/events/{channel}", stream)],
        middleware=[Middleware(StreamHandoff)],
        lifespan=lifespan,
    )


# --- SSE clients on raw sockets -------------------------------------------------------------


@dataclass
class Progress:
    """Events received by all clients; `done` is set once `target` have arrived."""

    target: int = 0
    received: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, target: int) -> None:
        self.target, self.received = target, 0
        self.done.clear()

    def add(self) -> None:
        self.received += 1
        if self.received >= self.target:
            self.done.set()


@dataclass
class Client:
    """One SSE connection: reads chunked frames and keeps (id, arrival, data) of each event."""

    channel: str
    progress: Progress
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    events: list[tuple[int, float, dict[str, Any]]] = field(default_factory=list)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    buffer: bytes = b""
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            while True:
                size_line = await self.reader.readline()
                if not size_line:
                    return
                size = int(size_line.strip() or b"0", 16)
                if size == 0:
                    return
                chunk = await self.reader.readexactly(size + 2)
                self._frames(chunk[:-2])
        except (ConnectionError, asyncio.IncompleteReadError):
            return

    def _frames(self, chunk: bytes) -> None:
        arrived = time.monotonic()
        self.buffer += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in self.buffer:
            frame, self.buffer = self.buffer.split(b"\n\n", 1)
            fields: dict[bytes, bytes] = {}
            for line in frame.split(b"\n"):
                name, _, value = line.partition(b":")
                fields[name] = value.strip()
            if b"" in fields and fields[b""].startswith(b"connected"):
                self.opened.set()
            if b"event" in fields:
                self.events.append((int(fields[b"id"]), arrived, orjson.loads(fields[b"data"])))
                self.progress.add()

    def close(self) -> None:
        self.writer.close()


async def connect(port: int, path: str, channel: str, progress: Progress) -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{path}: {head.splitlines()[0].decode()}")
    client = Client(channel, progress, reader, writer)
    client.task = asyncio.create_task(client.run())
    return client


async def connect_many(port: int, paths: list[tuple[str, str]], progress: Progress) -> list[Client]:
    """Connect in batches (the listen backlog is finite) and wait for each opening frame."""
    clients: list[Client] = []
    for start in range(0, len(paths), CONNECT_BATCH):
        batch = await asyncio.gather(
            *(
                connect(port, path, channel, progress)
                for path, channel in paths[start : start + CONNECT_BATCH]
            )
        )
        await asyncio.wait_for(asyncio.gather(*(c.opened.wait() for c in batch)), 60)
        clients.extend(batch)
    return clients


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


# --- 1. latency on 1,000 channels -----------------------------------------------------------


async def publish_steadily(
    database_url: str, channels: list[str], total: int, rate: float, publishers: int
) -> dict[str, list[int]]:
    """`total` events at `rate` per second on random channels; the ids published per channel."""
    from switchboard.core.db import Database
    from switchboard.core.realtime.postgres import PostgresBus

    database = Database(database_url, pool_size=publishers)
    bus = PostgresBus(database)
    published: dict[str, list[int]] = {channel: [] for channel in channels}
    rng = random.Random(5)
    schedule = asyncio.Queue[float]()
    started = time.monotonic()
    for n in range(total):
        schedule.put_nowait(started + n / rate)

    async def publisher() -> None:
        while not schedule.empty():
            due = schedule.get_nowait()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            channel = rng.choice(channels)
            event = await bus.publish(channel, BenchPinged(sent=time.monotonic()))
            published[channel].append(event.seq)

    try:
        await asyncio.gather(*(publisher() for _ in range(publishers)))
    finally:
        await database.dispose()
    return published


async def measure_latency(
    database_url: str, port: int, channels: int, events: int, rate: float
) -> tuple[list[float], int, float]:
    names = [f"bench:{n}" for n in range(channels)]
    progress = Progress()
    clients = await connect_many(port, [(f"/events/{name}", name) for name in names], progress)
    progress.expect(events)
    try:
        started = time.monotonic()
        published = await publish_steadily(database_url, names, events, rate, publishers=8)
        achieved = events / (time.monotonic() - started)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(progress.done.wait(), 30)
        await asyncio.sleep(0.5)  # anything extra (a duplicate) would show up now
    finally:
        for client in clients:
            client.close()
    wrong = 0
    latencies: list[float] = []
    for client in clients:
        ids = [event_id for event_id, _, _ in client.events]
        if ids != sorted(published[client.channel]):
            wrong += 1
        latencies.extend((arrived - data["sent"]) * 1000 for _, arrived, data in client.events)
    return latencies, wrong, achieved


# --- 2. memory per idle connection ----------------------------------------------------------


async def measure_idle_memory(
    database_url: str, pid: int, port: int, idle: int
) -> dict[str, float]:
    from switchboard.consultations.dictionaries.events import DictionariesChanged
    from switchboard.core.db import Database
    from switchboard.core.realtime.postgres import PostgresBus

    before = rss_mb(pid)
    progress = Progress()
    clients = await connect_many(port, [("/api/dicts/events", "dicts")] * idle, progress)
    progress.expect(idle)
    try:
        await asyncio.sleep(3)
        held = rss_mb(pid)
        database = Database(database_url, pool_size=1)
        try:
            sent = time.monotonic()
            await PostgresBus(database).publish("dicts", DictionariesChanged(catalogs=["bench"]))
        finally:
            await database.dispose()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(progress.done.wait(), 60)
        reached = sum(1 for c in clients if c.events)
        fan_out = max((c.events[0][1] - sent for c in clients if c.events), default=float("nan"))
        after_event = rss_mb(pid)
    finally:
        for client in clients:
            client.close()
    return {
        "before": before,
        "held": held,
        "after_event": after_event,
        "reached": reached,
        "fan_out_ms": fan_out * 1000,
    }


def serve_env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "EVENT_BUS": "postgres",
        "REDIS_URL": "",
        "LOAD_DICTS_ON_START": "false",
        "RATE_LIMIT_PER_MINUTE": "0",
        "RATE_LIMIT_CREATE_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
        "ACCESS_LOG": "off",
        "FRONT_SECRET": "",
        "FRONT_BEARER_TOKEN": "",
        "ENV": "dev",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0, help="events per second")
    parser.add_argument("--idle", type=int, default=5000, help="idle SSE connections")
    options, _ = parser.parse_known_args()
    if len(os.sched_getaffinity(0)) < 2:
        print("note: one CPU; server and clients share it", file=sys.stderr)

    with bench_database() as database_url:
        port = free_port()
        with process(
            PYTHON,
            "-m",
            "uvicorn",
            "bench.bench_events:create_bench_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            env={"BENCH_DATABASE_URL": database_url},
        ) as server:
            wait_until_up(f"http://127.0.0.1:{port}/up", server, timeout=60)
            latencies, wrong, achieved = asyncio.run(
                measure_latency(database_url, port, options.channels, options.events, options.rate)
            )
        api_port = free_port()
        with process(
            PYTHON,
            "-m",
            "switchboard",
            "serve",
            "--port",
            str(api_port),
            env=serve_env(database_url),
        ) as api:
            wait_until_up(f"http://127.0.0.1:{api_port}/api/health", api, timeout=60)
            memory = asyncio.run(measure_idle_memory(database_url, api.pid, api_port, options.idle))

    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    per_connection_kb = (memory["held"] - memory["before"]) * 1024 / options.idle
    latency_met = p50 < P50_TARGET_MS and p99 < P99_TARGET_MS and wrong == 0
    latency_met = latency_met and len(latencies) == options.events
    memory_met = memory["held"] < IDLE_RSS_TARGET_MB and memory["reached"] == options.idle

    print(f"publish → SSE client, {options.channels} subscribers on {options.channels} channels")
    print(
        f"  events            {len(latencies)} of {options.events} delivered, published at {achieved:.0f}/s"
    )
    print(f"  clients wrong     {wrong} (must be 0: each sees exactly its channel's ids, in order)")
    print(
        f"  latency           p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {max(latencies):6.1f} ms"
        f"   mean {statistics.fmean(latencies):6.1f} ms"
    )
    print(
        f"  target            p50 < {P50_TARGET_MS:.0f} ms, p99 < {P99_TARGET_MS:.0f} ms: "
        f"{'met' if latency_met else 'NOT met'}"
    )
    print("idle SSE connections on `switchboard serve` (/api/dicts/events, PostgreSQL bus)")
    print(f"  connections       {options.idle}")
    print(f"  RSS               {memory['before']:6.1f} MB before, {memory['held']:6.1f} MB held")
    print(f"  per connection    {per_connection_kb:6.1f} KB")
    print(
        f"  one event         reached {memory['reached']:.0f} streams in {memory['fan_out_ms']:.0f} ms"
        f" (RSS then {memory['after_event']:.1f} MB)"
    )
    print(
        f"  target            < {IDLE_RSS_TARGET_MB:.0f} MB with {options.idle}: "
        f"{'met' if memory_met else 'NOT met'}"
    )
    return 0 if latency_met and memory_met else 1


if __name__ == "__main__":
    sys.exit(main())
