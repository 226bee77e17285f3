"""Events recorded in PostgreSQL, woken through Redis.

PostgreSQL stays the record: the event, its sequence number and the channel's head are written
in the publisher's transaction exactly as with the PostgreSQL bus. Redis only carries the
wake-up, a PUBLISH sent after the commit to one Redis channel that every process subscribes to.

A wake-up can be lost (the PUBLISH fails, a listener is reconnecting; Redis pub/sub keeps
nothing). Nothing depends on it: the record is the outbox, and each listener re-reads the heads
of its subscribed channels every `resync_seconds` and after every reconnect, so a committed
event reaches every subscriber within that time even when Redis is down. Redis holds no events
and no keys, so it has nothing to trim.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.core.db.session import Database, after_commit
from switchboard.core.realtime.events import Event, EventModel, check_channel, check_event
from switchboard.core.realtime.postgres import PostgresBus, wake_text

log = structlog.get_logger(__name__)

PREFIX = "switchboard:events:"
#: A PUBLISH that takes longer than this is given up; the safety net delivers the event.
PUBLISH_TIMEOUT_SECONDS = 2.0


class RedisBus(PostgresBus):
    name = "redis"

    def __init__(
        self,
        database: Database,
        url: str,
        *,
        prefix: str = PREFIX,
        reconnect_delay: float = 1.0,
        resync_seconds: float = 2.0,
    ) -> None:
        super().__init__(database, reconnect_delay=reconnect_delay, resync_seconds=resync_seconds)
        self.url = url
        self.wake_channel = prefix + "wake"
        #: The listener's connection shows under this name in `CLIENT LIST`.
        self.listener_name = prefix + "listener"
        self.redis: aioredis.Redis = aioredis.from_url(
            url,
            socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
            socket_timeout=PUBLISH_TIMEOUT_SECONDS,
        )

    async def stop(self) -> None:
        await super().stop()
        await self.redis.aclose()

    async def publish(self, channel: str, event: EventModel) -> Event:
        delivered = await super().publish(channel, event)
        await self._announce(delivered)
        return delivered

    async def publish_on_commit(
        self, session: AsyncSession, channel: str, event: EventModel
    ) -> None:
        check_channel(channel)
        check_event(event)
        seq = await self._record(await session.connection(), channel, event)

        async def announce() -> None:
            await self._announce(Event(channel, seq, event))

        after_commit(session, announce)

    async def _record(self, connection: AsyncConnection, channel: str, event: EventModel) -> int:
        return await self.store.append(connection, channel, event)

    async def _announce(self, event: Event) -> None:
        message = f"{event.seq} {wake_text(event.channel, event.payload)}"
        try:
            await self.redis.publish(self.wake_channel, message)
        except (RedisError, OSError) as exc:
            log.warning(
                "event wake-up not sent; subscribers catch up from the record",
                channel=event.channel,
                seq=event.seq,
                error=str(exc),
                within_seconds=self.resync_seconds,
            )

    async def _listen_forever(self) -> None:
        lost = False
        while True:
            # A client of its own without a read timeout: a quiet channel is not a dead one.
            client: aioredis.Redis = aioredis.from_url(
                self.url, health_check_interval=15, client_name=self.listener_name
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.wake_channel)
                self._connected.set()
                if lost:
                    log.info("event bus reconnected")
                    lost = False
                await self._resync_safely()
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._receive(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._connected.clear()
                # Said once per outage; the retries every second stay quiet.
                if not lost:
                    log.warning("event bus connection lost, reconnecting", error=str(exc))
                lost = True
                await asyncio.sleep(self.reconnect_delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await client.aclose()
