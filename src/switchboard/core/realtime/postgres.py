"""Events through PostgreSQL: a row in `sys.bus_events` plus a NOTIFY that wakes every process.

Publishing inside the caller's transaction is the strong point of this backend: the row and the
NOTIFY become visible only when that transaction commits, so a rolled-back change never announces
itself and a committed one always does.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import psycopg
import structlog
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.core.db.session import Database
from switchboard.core.realtime.bus import Event, ListeningBus, check_names, integer_sort_key
from switchboard.core.realtime.models import BusEvent

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "switchboard_events"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; bigger events travel as an id only.
MAX_INLINE_PAYLOAD = 7000


def _event_from_row(row: Any) -> Event:
    return Event(str(row.id), row.channel, row.type, row.data)


class PostgresBus(ListeningBus):
    name = "postgres"

    def __init__(self, database: Database, *, reconnect_delay: float = 1.0) -> None:
        super().__init__(reconnect_delay=reconnect_delay)
        self.database = database
        self._last_seen = 0

    async def publish(self, channel: str, event_type: str, data: dict[str, Any]) -> Event:
        check_names(channel, event_type)
        async with self.database.engine.begin() as connection:
            return await self._write(connection, channel, event_type, data)

    async def publish_on_commit(
        self, session: AsyncSession, channel: str, event_type: str, data: dict[str, Any]
    ) -> None:
        check_names(channel, event_type)
        await self._write(await session.connection(), channel, event_type, data)

    async def _write(
        self, connection: AsyncConnection, channel: str, event_type: str, data: dict[str, Any]
    ) -> Event:
        row = (
            await connection.execute(
                insert(BusEvent)
                .values(channel=channel, type=event_type, data=data)
                .returning(BusEvent.id)
            )
        ).one()
        event = Event(str(row.id), channel, event_type, data)
        payload = orjson.dumps(event.as_json())
        if len(payload) > MAX_INLINE_PAYLOAD:
            payload = orjson.dumps({"id": event.id, "channel": channel})
        await connection.execute(select(func.pg_notify(NOTIFY_CHANNEL, payload.decode())))
        return event

    async def history(self, channel: str, after: str, limit: int = 1000) -> list[Event]:
        after_id = integer_sort_key(after)
        query = (
            select(BusEvent.id, BusEvent.channel, BusEvent.type, BusEvent.data)
            .where(BusEvent.channel == channel, BusEvent.id > after_id)
            .order_by(BusEvent.id)
            .limit(limit)
        )
        async with self.database.engine.connect() as connection:
            return [_event_from_row(row) for row in await connection.execute(query)]

    def sort_key(self, event_id: str) -> int:
        return integer_sort_key(event_id)

    async def prune(self, older_than: timedelta) -> int:
        """Forget events older than `older_than`; reconnecting clients cannot go further back."""
        async with self.database.engine.begin() as connection:
            result = await connection.execute(
                delete(BusEvent).where(BusEvent.created_at < func.now() - older_than)
            )
        return result.rowcount or 0

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.database.url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    await self._catch_up()
                    self._connected.set()
                    async for notify in connection.notifies():
                        await self._receive(notify.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                self._connected.clear()
                log.warning("event bus connection lost, reconnecting", error=str(exc))
                await asyncio.sleep(self.reconnect_delay)

    async def _receive(self, payload: str) -> None:
        message = orjson.loads(payload)
        event_id = int(message["id"])
        self._last_seen = max(self._last_seen, event_id)
        if not self.subscriber_count(message["channel"]):
            return
        if "type" in message:
            self._dispatch(
                Event(str(event_id), message["channel"], message["type"], message["data"])
            )
        else:
            for event in await self._fetch(BusEvent.id == event_id):
                self._dispatch(event)

    async def _catch_up(self) -> None:
        """After a reconnect, deliver what was published while the listener was away."""
        channels = self._channels_with_subscribers()
        if self._last_seen and channels:
            for event in await self._fetch(
                BusEvent.id > self._last_seen, BusEvent.channel.in_(channels)
            ):
                self._last_seen = max(self._last_seen, int(event.id))
                self._dispatch(event)
        elif not self._last_seen:
            async with self.database.engine.connect() as connection:
                newest = await connection.scalar(select(func.max(BusEvent.id)))
            self._last_seen = newest or 0

    async def _fetch(self, *conditions: Any) -> list[Event]:
        query = (
            select(BusEvent.id, BusEvent.channel, BusEvent.type, BusEvent.data)
            .where(*conditions)
            .order_by(BusEvent.id)
        )
        async with self.database.engine.connect() as connection:
            return [_event_from_row(row) for row in await connection.execute(query)]
