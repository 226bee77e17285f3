"""The integration cache's lookup of an enterprise by its PBX token, in process.

A cache of 1,000 enterprises (warm, listening), then 200,000 lookups by token of random ones
(`IntegrationCache.by_token`: the token's SHA-256, two dict reads and the TTL check), timed
one by one with `time.perf_counter_ns`. Target: median under 50 µs.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from switchboard.telephony.gateway.cache import (
    EnterpriseEntry,
    EnterpriseSource,
    IntegrationCache,
    token_digest,
)

ENTERPRISES = 1_000
LOOKUPS = 200_000
TARGET_MEDIAN_US = 50.0


async def main() -> int:
    tokens = [f"pbx-token-{n:04d}" for n in range(ENTERPRISES)]
    entries = [
        EnterpriseEntry(
            number=f"{n:04d}",
            name=f"Enterprise {n}",
            token_digest=token_digest(token),
            active=True,
            time_zone="Europe/Minsk",
            config={"retailcrm": {"enabled": n % 2 == 0}},
        )
        for n, token in enumerate(tokens)
    ]

    async def nothing(_: str) -> EnterpriseEntry | None:
        raise AssertionError("a warm cache reads no database")

    async def everything() -> list[EnterpriseEntry]:
        return entries

    cache = IntegrationCache(
        EnterpriseSource(by_token=nothing, by_number=nothing, everything=everything)
    )
    cache.listening = True
    await cache.refresh_all()
    rng = random.Random(7)
    picks = [rng.choice(tokens) for _ in range(LOOKUPS)]
    timings: list[int] = []
    for token in picks:
        started = time.perf_counter_ns()
        entry = await cache.by_token(token)
        timings.append(time.perf_counter_ns() - started)
        assert entry is not None
    timings.sort()
    median = statistics.median(timings) / 1000
    p99 = timings[int(len(timings) * 0.99)] / 1000
    print(f"integration cache: {LOOKUPS} lookups by token among {ENTERPRISES} enterprises")
    print(f"  median {median:.2f} µs   p99 {p99:.2f} µs   hit ratio {cache.report()['hit_ratio']}")
    met = median < TARGET_MEDIAN_US
    print(f"  target median < {TARGET_MEDIAN_US:.0f} µs: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
