"""The gateway's long-running parts in every process: the integration cache (a runtime
extension reading the database on its own) and the watchers that keep it current."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Self

import structlog

from switchboard.telephony.gateway import repository
from switchboard.telephony.gateway.cache import EnterpriseEntry, EnterpriseSource, IntegrationCache
from switchboard.telephony.gateway.events import CHANNEL, IntegrationConfigChanged
from switchboard.telephony.settings import TelephonySettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)


class Gateway:
    """This process's integration cache (`runtime.extension(Gateway).cache`)."""

    def __init__(self, cache: IntegrationCache) -> None:
        self.cache = cache

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        settings = TelephonySettings.of(runtime.settings)
        database = runtime.database

        async def by_token(digest: str) -> EnterpriseEntry | None:
            async with database.transaction() as session:
                return await repository.by_token_digest(session, digest)

        async def by_number(number: str) -> EnterpriseEntry | None:
            async with database.transaction() as session:
                return await repository.by_number(session, number)

        async def everything() -> list[EnterpriseEntry]:
            async with database.transaction() as session:
                return await repository.everything(session)

        cache = IntegrationCache(
            EnterpriseSource(by_token=by_token, by_number=by_number, everything=everything),
            ttl=settings.integration_cache_ttl_seconds,
            refresh_between=(
                settings.integration_cache_refresh_min_seconds,
                max(
                    settings.integration_cache_refresh_min_seconds,
                    settings.integration_cache_refresh_max_seconds,
                ),
            ),
            cleanup_every=settings.integration_cache_cleanup_seconds,
        )
        return cls(cache)


async def keep_cache_current(runtime: Runtime, *, retry_delay: float = 1.0) -> None:
    """Hear the change announcements; while not hearing them the cache serves nothing from
    memory (`IntegrationCache.listening`)."""
    cache = runtime.extension(Gateway).cache
    while True:
        try:
            async with runtime.bus.subscribe(CHANNEL) as subscription:
                cache.invalidate()  # what changed while not listening is unknown
                cache.listening = True
                async for event in subscription.events():
                    if event.type == IntegrationConfigChanged.event_name:
                        cache.invalidate(str(event.data.get("enterprise_number") or "") or None)
        except asyncio.CancelledError:
            raise
        except Exception:  # a supervisor: logged with its traceback, then restarted
            log.exception("integration cache watcher failed; restarting")
        finally:
            cache.listening = False
        await asyncio.sleep(retry_delay)


async def maintain_cache(runtime: Runtime) -> None:
    """The cache's jittered full refreshes and cleanups, for as long as the process runs."""
    await runtime.extension(Gateway).cache.maintain()
