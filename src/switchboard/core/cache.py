"""A small in-process cache of rendered responses, with a TTL and explicit invalidation.

Values are stored already rendered (JSON bytes plus an ETag), so a hit costs a dict lookup.
Concurrent misses for one key wait for a single load (no stampede on the database). Several
processes each keep their own copy; they are told to drop it through the event bus.

Keys often carry what a client chose (a filter's GUID), so the cache is bounded: at most
`max_entries`, the least recently used going first.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from switchboard.core.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Rendered:
        return cls(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')


DEFAULT_MAX_ENTRIES = 512


class ResponseCache:
    def __init__(
        self,
        name: str,
        ttl_seconds: float,
        metrics: Metrics | None = None,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.name = name
        self.ttl = ttl_seconds
        self.metrics = metrics
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Rendered]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Rendered]] = {}
        self._generation = 0
        self._counters: dict[str, Any] = {}

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[bytes]]) -> Rendered:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self._entries.move_to_end(key)
            self._count("hit")
            return entry[1]
        self._count("miss")
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generation
        try:
            rendered = Rendered.of(await load())
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters get it, nobody else must
            raise
        finally:
            self._loading.pop(key, None)
        # A load that began before an invalidation may hold old data: serve it once, keep it not.
        if generation == self._generation:
            self._store(key, rendered)
        future.set_result(rendered)
        return rendered

    def _store(self, key: str, rendered: Rendered) -> None:
        self._entries[key] = (time.monotonic() + self.ttl, rendered)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _count(self, result: str) -> None:
        if self.metrics is None:
            return
        counter = self._counters.get(result)
        if counter is None:
            counter = self._counters[result] = self.metrics.cache_hits.labels(self.name, result)
        counter.inc()


def cached_response(rendered: Rendered, if_none_match: str | None) -> Response:
    """The cached JSON, or 304 when the client already holds this version."""
    headers = {"ETag": rendered.etag, "Cache-Control": "private, no-cache"}
    if if_none_match and rendered.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)
