"""The Redis bus: PostgreSQL is the record, Redis only the wake-up; a wake-up that never comes
delays an event by at most the resync interval and loses nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import ClassVar

from sqlalchemy import text

from switchboard.core.db import Database
from switchboard.core.realtime import EventModel
from switchboard.core.realtime.redis import RedisBus
from tests.core.test_bus import channel_name, collect, reading, redis_url
from tests.servers import free_port

RESYNC_SECONDS = 0.5


class ParcelSent(EventModel):
    event_name: ClassVar[str] = "parcel.sent"
    n: int


def closed_port_url() -> str:
    """A Redis URL nobody listens on: every PUBLISH through it fails."""
    return f"redis://127.0.0.1:{free_port()}/15"


async def test_event_whose_wake_up_cannot_be_sent_still_arrives_in_bounded_time(
    clean_database: str,
) -> None:
    redis_url()
    database = Database(clean_database)
    prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
    # Two processes' worth of buses on one prefix: the publisher's Redis is unreachable.
    broken = RedisBus(database, closed_port_url(), prefix=prefix)
    listener = RedisBus(database, redis_url(), prefix=prefix, resync_seconds=RESYNC_SECONDS)
    await listener.start()
    channel = channel_name()
    try:
        async with listener.subscribe(channel) as subscription:
            reader = await reading(subscription, 2)
            started = time.monotonic()
            sent = await broken.publish(channel, ParcelSent(n=1))
            async with database.transaction() as session:
                await session.execute(text("SELECT 1"))
                await broken.publish_on_commit(session, channel, ParcelSent(n=2))
            events = await reader
            waited = time.monotonic() - started
    finally:
        await listener.stop()
        await broken.stop()
        await database.dispose()
    assert sent.seq == 1
    assert [(e.seq, e.data["n"]) for e in events] == [(1, 1), (2, 2)]
    # Two failed PUBLISHes (refused at once) plus at most one resync interval and a query.
    assert waited < RESYNC_SECONDS + 3


async def test_wake_ups_lost_while_the_listener_reconnects_are_caught_up(
    clean_database: str,
) -> None:
    redis_url()
    database = Database(clean_database)
    prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
    publisher = RedisBus(database, redis_url(), prefix=prefix)
    # A long resync interval: what is caught up here is caught up by the reconnect.
    listener = RedisBus(
        database, redis_url(), prefix=prefix, reconnect_delay=0.5, resync_seconds=3600
    )
    await listener.start()
    channel = channel_name()
    try:
        async with listener.subscribe(channel) as subscription:
            await publisher.publish(channel, ParcelSent(n=1))
            assert [e.data["n"] for e in await collect(subscription, 1)] == [1]
            clients = await publisher.redis.client_list()
            (ours,) = [c for c in clients if c["name"] == listener.listener_name]
            reader = await reading(subscription, 4)
            await publisher.redis.client_kill_filter(_id=ours["id"])
            # Published while nobody listens: these wake-ups go nowhere.
            for n in range(2, 6):
                await publisher.publish(channel, ParcelSent(n=n))
            events = await reader
            assert [e.data["n"] for e in events] == [2, 3, 4, 5]
            reconnected = [c for c in await publisher.redis.client_list() if c["id"] != ours["id"]]
            assert any(c["name"] == listener.listener_name for c in reconnected)
    finally:
        await listener.stop()
        await publisher.stop()
        await database.dispose()


async def test_redis_holds_no_events(clean_database: str) -> None:
    redis_url()
    database = Database(clean_database)
    prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
    bus = RedisBus(database, redis_url(), prefix=prefix)
    try:
        for n in range(50):
            await bus.publish(channel_name(), ParcelSent(n=n))
        keys = [key async for key in bus.redis.scan_iter(prefix + "*")]
    finally:
        await bus.stop()
        await database.dispose()
    assert keys == []


async def test_a_listener_that_cannot_reach_redis_still_delivers_through_the_resync(
    clean_database: str,
) -> None:
    redis_url()
    database = Database(clean_database)
    prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
    publisher = RedisBus(database, redis_url(), prefix=prefix)
    deaf = RedisBus(database, closed_port_url(), prefix=prefix, resync_seconds=RESYNC_SECONDS)
    starting = asyncio.create_task(deaf.start())
    channel = channel_name()
    try:
        async with deaf.subscribe(channel) as subscription:
            reader = await reading(subscription, 1)
            await publisher.publish(channel, ParcelSent(n=7))
            events = await reader
        assert [e.data["n"] for e in events] == [7]
    finally:
        starting.cancel()
        await deaf.stop()
        await publisher.stop()
        await database.dispose()
