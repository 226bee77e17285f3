"""A small HTTP/1.1 keep-alive load generator on raw asyncio sockets (fast enough that the
server, not the client, is what gets measured)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


async def _connection(host: str, port: int, path: str, deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if head[9:12] == b"200":
                result.requests += 1
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1
    finally:
        writer.close()


async def run_load(
    host: str, port: int, path: str, *, seconds: float, connections: int = 32
) -> LoadResult:
    result = LoadResult(0, 0, seconds, [])
    deadline = time.perf_counter() + seconds
    await asyncio.gather(
        *(_connection(host, port, path, deadline, result) for _ in range(connections))
    )
    return result


def measure(host: str, port: int, path: str, *, seconds: float, warmup: float = 1.0) -> LoadResult:
    asyncio.run(run_load(host, port, path, seconds=warmup))
    return asyncio.run(run_load(host, port, path, seconds=seconds))
