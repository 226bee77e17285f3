"""The record of events in PostgreSQL, shared by the PostgreSQL and Redis buses.

`append` runs inside the publisher's transaction: it raises the channel's head (an upsert on
the channel's row, whose lock is then held until the transaction ends) and writes the event under
the new head, in one statement. A second publisher of the same channel waits for the first to
commit or roll back, so sequence order is commit order, and a rolled-back event takes its number
with it: a channel's sequence numbers have no holes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.core.db.session import Database
from switchboard.core.realtime.events import EVENTS, Event, EventModel, InvalidEvent
from switchboard.core.realtime.models import BusChannel, BusEvent

log = structlog.get_logger(__name__)

#: How many channels one `heads` query asks about.
HEADS_BATCH = 1000

# Both statements raise the head and write the event under it; the second also queues
# `NOTIFY <notify_channel>, '<seq> <rest>'`, which PostgreSQL sends when the transaction commits.
_RAISE_HEAD_AND_WRITE = """
WITH head AS (
    INSERT INTO sys.bus_channels AS c (channel, head) VALUES (:channel, 1)
    ON CONFLICT (channel) DO UPDATE SET head = c.head + 1
    RETURNING head
), event AS (
    INSERT INTO sys.bus_events (channel, seq, type, data)
    SELECT :channel, head, :type, CAST(:data AS jsonb) FROM head
    RETURNING seq
)
"""
APPEND = text(_RAISE_HEAD_AND_WRITE + "SELECT seq FROM event")  # noqa: S608 - constants
APPEND_AND_NOTIFY = text(
    _RAISE_HEAD_AND_WRITE  # noqa: S608 - constants only
    + "SELECT seq, pg_notify(:notify_channel, seq::text || ' ' || :rest) FROM event"
)


def encode(event: EventModel) -> str:
    return event.model_dump_json()


def decode(channel: str, seq: int, event_type: str, data: Any) -> Event | None:
    """An event read back from the record or a wake-up; None (and an error in the log) for one
    that no longer fits its model, so that one bad row cannot block a channel."""
    try:
        payload = EVENTS.parse(event_type, data)
    except InvalidEvent as exc:
        log.error("bus event refused", channel=channel, seq=seq, reason=str(exc))
        return None
    # A wake-up carries the publisher's JSON of the payload: streams can send it as it is.
    return Event(channel, seq, payload, data if isinstance(data, str) else None)


class EventStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def append(
        self,
        connection: AsyncConnection,
        channel: str,
        event: EventModel,
        *,
        notify: tuple[str, str] | None = None,
    ) -> int:
        """Record `event` in `connection`'s transaction; its sequence number. With `notify`
        (channel, rest), the same statement queues `NOTIFY channel, '<seq> <rest>'`."""
        params = {"channel": channel, "type": event.event_name, "data": encode(event)}
        if notify is None:
            result = await connection.execute(APPEND, params)
        else:
            notify_channel, rest = notify
            result = await connection.execute(
                APPEND_AND_NOTIFY, {**params, "notify_channel": notify_channel, "rest": rest}
            )
        seq: int = result.one()[0]
        return seq

    async def history_page(
        self, channel: str, after: int, limit: int
    ) -> tuple[list[Event], int | None]:
        query = (
            select(BusEvent.seq, BusEvent.type, BusEvent.data)
            .where(BusEvent.channel == channel, BusEvent.seq > after)
            .order_by(BusEvent.seq)
            .limit(limit)
        )
        async with self.database.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        events = [
            event
            for row in rows
            if (event := decode(channel, row.seq, row.type, row.data)) is not None
        ]
        return events, (rows[-1].seq if len(rows) == limit else None)

    async def head(self, channel: str) -> int:
        async with self.database.engine.connect() as connection:
            head = await connection.scalar(
                select(BusChannel.head).where(BusChannel.channel == channel)
            )
        return head or 0

    async def heads(self, channels: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        async with self.database.engine.connect() as connection:
            for start in range(0, len(channels), HEADS_BATCH):
                batch = channels[start : start + HEADS_BATCH]
                rows = await connection.execute(
                    select(BusChannel.channel, BusChannel.head).where(BusChannel.channel.in_(batch))
                )
                found.update({row.channel: row.head for row in rows})
        return found

    async def prune(self, older_than: timedelta) -> int:
        """Forget events older than `older_than`; the heads stay, so numbering never restarts."""
        async with self.database.engine.begin() as connection:
            result = await connection.execute(
                delete(BusEvent).where(BusEvent.created_at < func.now() - older_than)
            )
        return result.rowcount or 0
