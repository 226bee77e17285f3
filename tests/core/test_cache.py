"""The response cache: TTL, one load for many waiters, and invalidation that wins races."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from switchboard.core.cache import Rendered, ResponseCache, cached_response
from switchboard.core.metrics import Metrics


async def test_concurrent_misses_load_once() -> None:
    cache = ResponseCache("t", ttl_seconds=60)
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return b"[1]"

    results = await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(20)))
    assert loads == 1
    assert {r.body for r in results} == {b"[1]"}


async def test_entries_expire_after_ttl() -> None:
    cache = ResponseCache("t", ttl_seconds=0.05)
    values = iter([b"1", b"2"])

    async def load() -> bytes:
        return next(values)

    assert (await cache.get_or_load("k", load)).body == b"1"
    assert (await cache.get_or_load("k", load)).body == b"1"
    await asyncio.sleep(0.06)
    assert (await cache.get_or_load("k", load)).body == b"2"


async def test_a_load_overtaken_by_invalidation_is_not_kept() -> None:
    cache = ResponseCache("t", ttl_seconds=60)
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_old() -> bytes:
        started.set()
        await release.wait()
        return b"old"

    task = asyncio.create_task(cache.get_or_load("k", slow_old))
    await started.wait()
    cache.invalidate()
    release.set()
    assert (await task).body == b"old"

    async def fresh() -> bytes:
        return b"new"

    assert (await cache.get_or_load("k", fresh)).body == b"new"


async def test_failed_load_is_not_cached_and_reaches_every_waiter() -> None:
    cache = ResponseCache("t", ttl_seconds=60)

    async def broken() -> bytes:
        await asyncio.sleep(0.01)
        raise RuntimeError("db down")

    results = await asyncio.gather(
        *(cache.get_or_load("k", broken) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(cache) == 0


async def test_hits_and_misses_are_counted() -> None:
    metrics = Metrics()
    cache = ResponseCache("dicts", ttl_seconds=60, metrics=metrics)

    async def load() -> bytes:
        return b"[]"

    await cache.get_or_load("k", load)
    await cache.get_or_load("k", load)
    text = metrics.render().decode()
    assert 'switchboard_cache_requests_total{cache="dicts",result="hit"} 1.0' in text
    assert 'switchboard_cache_requests_total{cache="dicts",result="miss"} 1.0' in text


@pytest.mark.parametrize(("header", "status"), [(None, 200), ('"nope"', 200), ("MATCH", 304)])
def test_etag_revalidation(header: str | None, status: int) -> None:
    rendered = Rendered.of(b'[{"a":1}]')
    response = cached_response(rendered, rendered.etag if header == "MATCH" else header)
    assert response.status_code == status
    assert response.headers["etag"] == rendered.etag


async def test_the_cache_keeps_at_most_max_entries_dropping_the_least_recently_used() -> None:
    cache = ResponseCache("t", ttl_seconds=60, max_entries=3)
    loads: list[str] = []

    def loader(key: str) -> Any:
        async def load() -> bytes:
            loads.append(key)
            return key.encode()

        return load

    for key in ("a", "b", "c"):
        await cache.get_or_load(key, loader(key))
    await cache.get_or_load("a", loader("a"))  # used again: now the most recent
    await cache.get_or_load("d", loader("d"))  # evicts b, the least recently used
    assert len(cache) == 3
    await cache.get_or_load("a", loader("a"))
    await cache.get_or_load("b", loader("b"))
    assert loads == ["a", "b", "c", "d", "b"]


async def test_ten_thousand_distinct_keys_stay_within_the_bound() -> None:
    cache = ResponseCache("t", ttl_seconds=60, max_entries=100)

    async def load() -> bytes:
        return b"[]"

    for n in range(10_000):
        await cache.get_or_load(f"questions:ru:{n}", load)
    assert len(cache) == 100
