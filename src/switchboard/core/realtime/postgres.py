"""Events through PostgreSQL: a row in the record plus a NOTIFY that wakes every process.

Publishing inside the caller's transaction is the strong point of this backend: the row, the
channel's new head and the NOTIFY become visible only when that transaction commits, so a
rolled-back change never announces itself and a committed one always does, in commit order.

Each process keeps one LISTEN connection for all channels. What arrives for a channel without
local subscribers is dropped after reading its first two words. A safety net re-reads the
channels' heads every `resync_seconds` (and after every reconnect) and wakes the subscribers
that are behind, so nothing waits forever on a wake-up that never came.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import psycopg
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.core.db.session import Database
from switchboard.core.realtime.bus import EventBus
from switchboard.core.realtime.events import Event, EventModel, check_channel, check_event
from switchboard.core.realtime.store import EventStore, decode, encode

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "switchboard_events"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; bigger events wake with their
# channel only, and subscribers read them from the record.
MAX_INLINE_PAYLOAD = 7000


def wake_text(channel: str, event: EventModel) -> str:
    """What follows the sequence number in a wake-up: `<channel> <type> <json>`, or just
    `<channel>` when the event is too big to travel inline."""
    inline = f"{channel} {event.event_name} {encode(event)}"
    return inline if len(inline.encode()) <= MAX_INLINE_PAYLOAD else channel


class PostgresBus(EventBus):
    name = "postgres"

    def __init__(
        self,
        database: Database,
        *,
        reconnect_delay: float = 1.0,
        resync_seconds: float = 5.0,
    ) -> None:
        super().__init__()
        self.database = database
        self.store = EventStore(database)
        self.reconnect_delay = reconnect_delay
        self.resync_seconds = resync_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._listen_forever(), name=f"bus-{self.name}-listener"),
                asyncio.create_task(self._resync_forever(), name=f"bus-{self.name}-resync"),
            ]
            await self._wait_connected()

    async def stop(self) -> None:
        await super().stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _wait_connected(self, timeout: float = 10) -> None:
        """Wait a little for the listener; if the backend is down, go on and let it retry."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout=timeout)
        except TimeoutError:
            log.warning("event bus not connected yet; live events resume when it is", bus=self.name)

    # --- publishing --------------------------------------------------------------------------

    async def publish(self, channel: str, event: EventModel) -> Event:
        check_channel(channel)
        check_event(event)
        async with self.database.engine.begin() as connection:
            seq = await self._record(connection, channel, event)
        return Event(channel, seq, event)

    async def publish_on_commit(
        self, session: AsyncSession, channel: str, event: EventModel
    ) -> None:
        """Record `event` in `session`'s transaction now. The channel stays locked for other
        publishers until that transaction ends: publish as the transaction's last step."""
        check_channel(channel)
        check_event(event)
        await self._record(await session.connection(), channel, event)

    async def _record(self, connection: AsyncConnection, channel: str, event: EventModel) -> int:
        return await self.store.append(
            connection, channel, event, notify=(NOTIFY_CHANNEL, wake_text(channel, event))
        )

    # --- reading -----------------------------------------------------------------------------

    async def history_page(
        self, channel: str, after: int, limit: int
    ) -> tuple[list[Event], int | None]:
        return await self.store.history_page(channel, after, limit)

    async def head(self, channel: str) -> int:
        return await self.store.head(channel)

    async def prune(self, older_than: timedelta) -> int:
        """Forget events older than `older_than`; reconnecting clients cannot go further back."""
        return await self.store.prune(older_than)

    # --- listening ---------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        lost = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.database.url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._connected.set()
                    if lost:
                        log.info("event bus reconnected")
                        lost = False
                    # Whatever was published while this listener was away.
                    await self._resync_safely()
                    async for notify in connection.notifies():
                        self._receive(notify.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, SQLAlchemyError, OSError) as exc:
                self._connected.clear()
                # Said once per outage; the retries every second stay quiet.
                if not lost:
                    log.warning("event bus connection lost, reconnecting", error=str(exc))
                lost = True
                await asyncio.sleep(self.reconnect_delay)

    def _receive(self, message: str) -> None:
        """A wake-up: `<seq> <channel>[ <type> <json>]`."""
        seq_text, _, rest = message.partition(" ")
        channel, _, inline = rest.partition(" ")
        if channel not in self._subscribers:
            return
        seq = int(seq_text)
        event_type, _, data = inline.partition(" ")
        event = decode(channel, seq, event_type, data) if event_type else None
        if event is not None:
            self._dispatch(event)
        else:
            self._wake(channel, seq)

    async def _resync(self) -> None:
        """Wake the subscribers whose channel's head is beyond what they were offered."""
        channels = list(self._subscribers)
        if not channels:
            return
        for channel, head in (await self.store.heads(channels)).items():
            self._wake(channel, head)

    async def _resync_safely(self) -> None:
        try:
            await self._resync()
        except (psycopg.Error, SQLAlchemyError, OSError) as exc:
            log.warning("event bus resync failed; retrying", error=str(exc))

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            await self._resync_safely()
