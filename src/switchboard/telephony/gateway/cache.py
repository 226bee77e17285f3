"""The integration cache of seed 003: which enterprise a PBX token names and which CRM
integrations it has enabled, in process memory.

- Reads take no lock: two dicts, swapped whole by a refresh.
- An entry is trusted for the TTL (90 s); older, it is read again from the database.
- A full refresh every 180–300 s (jittered, so processes do not hit the database together) and a
  cleanup of expired entries every 30 s run in `maintain()`.
- Misses are single-flight: concurrent requests for one key share one database read.
- A saved change is announced on the event bus after its transaction commits (PostgreSQL
  LISTEN/NOTIFY across processes); every process drops the entry at once (`invalidate`).
- While this process does not hear those announcements (`listening` is false: the watcher is not
  running or lost its connection), nothing is served from memory: each read goes to the database.
- Unknown tokens are remembered briefly (bounded), so random tokens cannot flood the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

log = structlog.get_logger(__name__)

#: How long an unknown token is remembered as unknown, and how many are.
NEGATIVE_TTL_SECONDS = 5.0
NEGATIVE_MAX_ENTRIES = 10_000


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class EnterpriseEntry:
    number: str
    name: str
    token_digest: str
    active: bool
    time_zone: str
    #: The enterprise's `integrations_config` as stored (secrets still encrypted).
    config: Mapping[str, Any]
    loaded_at: float = 0.0

    @property
    def integrations(self) -> dict[str, bool]:
        """Integration type → enabled (seed 003's "matrix")."""
        return {
            name: bool(value.get("enabled"))
            for name, value in self.config.items()
            if isinstance(value, Mapping)
        }

    def enabled(self, integration: str) -> bool:
        return self.active and self.integrations.get(integration, False)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    database_reads: int = 0
    invalidations: int = 0
    last_full_refresh: datetime | None = None
    last_invalidation: datetime | None = None


class EnterpriseSource:
    """Where entries come from (the repository), as the cache needs it."""

    def __init__(
        self,
        *,
        by_token: Callable[[str], Awaitable[EnterpriseEntry | None]],
        by_number: Callable[[str], Awaitable[EnterpriseEntry | None]],
        everything: Callable[[], Awaitable[list[EnterpriseEntry]]],
    ) -> None:
        self.by_token = by_token
        self.by_number = by_number
        self.everything = everything


@dataclass
class IntegrationCache:
    source: EnterpriseSource
    ttl: float = 90.0
    refresh_between: tuple[float, float] = (180.0, 300.0)
    cleanup_every: float = 30.0
    clock: Callable[[], float] = time.monotonic
    #: True while this process hears the change announcements (see the module's docstring).
    listening: bool = False
    stats: CacheStats = field(default_factory=CacheStats)
    _by_number: dict[str, EnterpriseEntry] = field(default_factory=dict)
    _by_token: dict[str, str] = field(default_factory=dict)
    _unknown: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _loading: dict[str, asyncio.Future[EnterpriseEntry | None]] = field(default_factory=dict)
    _generation: int = 0

    # --- reads ---------------------------------------------------------------------------------

    def cached_by_token(self, digest: str) -> EnterpriseEntry | None:
        """The fresh entry for a token digest, from memory only (None: not there or stale)."""
        if not self.listening:
            return None
        number = self._by_token.get(digest)
        entry = self._by_number.get(number) if number is not None else None
        if entry is None or self.clock() - entry.loaded_at > self.ttl:
            return None
        return entry

    async def by_token(self, token: str) -> EnterpriseEntry | None:
        digest = token_digest(token)
        entry = self.cached_by_token(digest)
        if entry is not None:
            self.stats.hits += 1
            return entry
        if self.listening and self._known_unknown(digest):
            self.stats.hits += 1
            return None
        self.stats.misses += 1
        entry = await self._load(f"token:{digest}", lambda: self.source.by_token(digest))
        if entry is None:
            self._remember_unknown(digest)
        return entry

    async def by_number(self, number: str) -> EnterpriseEntry | None:
        entry = self._by_number.get(number) if self.listening else None
        if entry is not None and self.clock() - entry.loaded_at <= self.ttl:
            self.stats.hits += 1
            return entry
        self.stats.misses += 1
        return await self._load(f"number:{number}", lambda: self.source.by_number(number))

    def entries(self) -> int:
        return len(self._by_number)

    # --- changes -------------------------------------------------------------------------------

    def invalidate(self, number: str | None = None) -> None:
        """Drop one enterprise (or, with None, everything): the next read goes to the database."""
        self._generation += 1
        if number is None:
            self._by_number, self._by_token = {}, {}
        else:
            entry = self._by_number.pop(number, None)
            if entry is not None:
                self._by_token.pop(entry.token_digest, None)
        # A token may have been unknown until this change (a new enterprise, a new token).
        self._unknown.clear()
        self.stats.invalidations += 1
        self.stats.last_invalidation = datetime.now(UTC)

    async def refresh_all(self) -> None:
        """Read every enterprise again and swap the maps whole (readers never see a half)."""
        generation = self._generation
        loaded = await self.source.everything()
        self.stats.database_reads += 1
        if generation != self._generation:
            return  # a change arrived meanwhile: this read may predate it; the next one wins
        now = self.clock()
        by_number = {entry.number: _stamped(entry, now) for entry in loaded}
        self._by_number = by_number
        self._by_token = {entry.token_digest: entry.number for entry in by_number.values()}
        self.stats.last_full_refresh = datetime.now(UTC)

    def cleanup(self) -> int:
        """Forget entries past their TTL; how many were dropped."""
        now = self.clock()
        expired = [n for n, e in self._by_number.items() if now - e.loaded_at > self.ttl]
        for number in expired:
            entry = self._by_number.pop(number)
            self._by_token.pop(entry.token_digest, None)
        while self._unknown and next(iter(self._unknown.values())) < now:
            self._unknown.popitem(last=False)
        return len(expired)

    async def maintain(self, *, rng: random.Random | None = None) -> None:
        """Full refreshes (jittered) and cleanups, until cancelled."""
        rng = rng or random.Random()
        next_refresh = self.clock()
        while True:
            now = self.clock()
            if now >= next_refresh:
                try:
                    await self.refresh_all()
                except (SQLAlchemyError, OSError) as error:  # the next refresh tries again
                    log.warning("integration cache refresh failed", error=str(error))
                next_refresh = self.clock() + rng.uniform(*self.refresh_between)
            self.cleanup()
            await asyncio.sleep(min(self.cleanup_every, max(0.0, next_refresh - self.clock())))

    def report(self) -> dict[str, Any]:
        stats = self.stats
        looked_up = stats.hits + stats.misses
        return {
            "total_entries": self.entries(),
            "hits": stats.hits,
            "misses": stats.misses,
            "hit_ratio": round(stats.hits / looked_up, 4) if looked_up else None,
            "database_reads": stats.database_reads,
            "invalidations": stats.invalidations,
            "last_full_refresh": stats.last_full_refresh,
            "last_invalidation": stats.last_invalidation,
            "listening": self.listening,
            "ttl_seconds": self.ttl,
        }

    # --- internals -----------------------------------------------------------------------------

    async def _load(
        self, key: str, read: Callable[[], Awaitable[EnterpriseEntry | None]]
    ) -> EnterpriseEntry | None:
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[EnterpriseEntry | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generation
        try:
            entry = await read()
            self.stats.database_reads += 1
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._loading.pop(key, None)
        if entry is not None:
            entry = _stamped(entry, self.clock())
            if self.listening and generation == self._generation:
                self._store(entry)
        future.set_result(entry)
        return entry

    def _store(self, entry: EnterpriseEntry) -> None:
        old = self._by_number.get(entry.number)
        if old is not None and old.token_digest != entry.token_digest:
            self._by_token.pop(old.token_digest, None)
        self._by_number[entry.number] = entry
        self._by_token[entry.token_digest] = entry.number

    def _known_unknown(self, digest: str) -> bool:
        until = self._unknown.get(digest)
        return until is not None and until >= self.clock()

    def _remember_unknown(self, digest: str) -> None:
        if not self.listening:
            return
        self._unknown[digest] = self.clock() + NEGATIVE_TTL_SECONDS
        self._unknown.move_to_end(digest)
        while len(self._unknown) > NEGATIVE_MAX_ENTRIES:
            self._unknown.popitem(last=False)


def _stamped(entry: EnterpriseEntry, now: float) -> EnterpriseEntry:
    return EnterpriseEntry(
        number=entry.number,
        name=entry.name,
        token_digest=entry.token_digest,
        active=entry.active,
        time_zone=entry.time_zone,
        config=entry.config,
        loaded_at=now,
    )
