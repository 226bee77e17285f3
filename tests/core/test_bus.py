"""The event bus: the same behaviour through each backend."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
from sqlalchemy import text

from switchboard.core.db import Database
from switchboard.core.realtime import Event, EventBus, EventModel, InvalidEventId, MemoryBus
from switchboard.core.realtime.bus import COMPACT_AFTER, SUBSCRIBER_QUEUE_SIZE, Subscription

BACKENDS = ["memory", "postgres", "redis"]


class ItemAdded(EventModel):
    event_name: ClassVar[str] = "item.added"
    n: int


class ItemRemoved(EventModel):
    event_name: ClassVar[str] = "item.removed"
    n: int


def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("Redis backend not tested: REDIS_URL is not set (no Redis server here)")
    return url


@asynccontextmanager
async def open_bus(backend: str, database_url: str, **options: Any) -> AsyncIterator[EventBus]:
    """A started bus of `backend` on the test database; a Redis bus gets a prefix of its own,
    so that test runs sharing one Redis never see each other's wake-ups."""
    database = Database(database_url, pool_size=20)
    bus: EventBus
    if backend == "memory":
        bus = MemoryBus(history_size=5000)
    elif backend == "postgres":
        from switchboard.core.realtime.postgres import PostgresBus

        bus = PostgresBus(database, **options)
    else:
        from switchboard.core.realtime.redis import RedisBus

        prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
        bus = RedisBus(database, redis_url(), prefix=prefix, **options)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()
        await database.dispose()


@pytest.fixture(params=BACKENDS)
async def bus(request: pytest.FixtureRequest, clean_database: str) -> AsyncIterator[EventBus]:
    async with open_bus(request.param, clean_database) as instance:
        yield instance


async def collect(subscription: Subscription, count: int, timeout: float = 10) -> list[Event]:
    received: list[Event] = []
    if count == 0:
        return received

    async def read() -> None:
        async for event in subscription.events():
            received.append(event)
            if len(received) == count:
                return

    await asyncio.wait_for(read(), timeout)
    return received


async def reading(
    subscription: Subscription, count: int, timeout: float = 10
) -> asyncio.Task[list[Event]]:
    """A reader of `count` events, started and waiting for live ones before this returns, so
    that what the test publishes next travels the live path, not the first read of the record."""
    task = asyncio.create_task(collect(subscription, count, timeout))
    await asyncio.sleep(0.1)
    assert not task.done()
    return task


def channel_name() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


def numbers(events: list[Event]) -> list[int]:
    return [event.data["n"] for event in events]


async def test_subscriber_receives_events_of_its_channel_only(bus: EventBus) -> None:
    channel = channel_name()
    async with bus.subscribe(channel) as subscription:
        reader = await reading(subscription, 2)
        await bus.publish("other", ItemAdded(n=0))
        await bus.publish(channel, ItemAdded(n=1))
        await bus.publish(channel, ItemRemoved(n=2))
        events = await reader
    assert [(e.type, e.data["n"]) for e in events] == [("item.added", 1), ("item.removed", 2)]
    assert all(e.channel == channel for e in events)
    assert isinstance(events[1].payload, ItemRemoved)


async def test_ids_are_the_channel_sequence_without_holes(bus: EventBus) -> None:
    channel, other = channel_name(), channel_name()
    first = await bus.publish(channel, ItemAdded(n=1))
    await bus.publish(other, ItemAdded(n=1))
    second = await bus.publish(channel, ItemAdded(n=2))
    assert first.id.isdigit()
    assert int(second.id) == int(first.id) + 1
    assert await bus.head(channel) == second.seq
    if bus.name != "memory":
        # A fresh database: every channel counts from 1.
        assert (first.id, second.id) == ("1", "2")
        assert await bus.head(other) == 1


async def test_resume_after_an_id_replays_missed_events_once_then_goes_live(
    bus: EventBus,
) -> None:
    channel = channel_name()
    first = await bus.publish(channel, ItemAdded(n=1))
    await bus.publish(channel, ItemAdded(n=2))
    await bus.publish(channel, ItemAdded(n=3))
    async with bus.subscribe(channel, after=first.seq) as subscription:
        reader = await reading(subscription, 3)
        await bus.publish(channel, ItemAdded(n=4))
        events = await reader
    assert numbers(events) == [2, 3, 4]
    assert [e.seq for e in events] == [first.seq + 1, first.seq + 2, first.seq + 3]


async def test_subscriber_without_a_start_point_gets_what_follows_the_head(bus: EventBus) -> None:
    channel = channel_name()
    await bus.publish(channel, ItemAdded(n=1))
    async with bus.subscribe(channel) as subscription:
        assert subscription.position == await bus.head(channel)
        reader = await reading(subscription, 1)
        await bus.publish(channel, ItemAdded(n=2))
        events = await reader
    assert numbers(events) == [2]


async def test_publish_on_commit_delivers_if_and_only_if_committed(
    bus: EventBus, clean_database: str
) -> None:
    database = Database(clean_database)
    channel = channel_name()
    try:
        async with bus.subscribe(channel) as subscription:
            reader = await reading(subscription, 1)
            with pytest.raises(RuntimeError):
                async with database.transaction() as session:
                    await session.execute(text("SELECT 1"))
                    await bus.publish_on_commit(session, channel, ItemAdded(n=-1))
                    raise RuntimeError("rollback")
            async with database.transaction() as session:
                await session.execute(text("SELECT 1"))
                await bus.publish_on_commit(session, channel, ItemAdded(n=1))
            events = await reader
        assert numbers(events) == [1]
        assert numbers(await bus.history(channel, 0)) == [1]
        # The rolled-back event took its number with it: no hole in the sequence.
        assert await bus.head(channel) == events[0].seq
    finally:
        await database.dispose()


async def test_a_subscriber_far_behind_catches_up_from_the_record(bus: EventBus) -> None:
    channel = channel_name()
    total = SUBSCRIBER_QUEUE_SIZE + 200
    async with bus.subscribe(channel) as subscription:
        for n in range(total):
            await bus.publish(channel, ItemAdded(n=n))
        # Its queue overflowed long ago; it reads the rest from the record, losing nothing.
        assert subscription.backlog <= SUBSCRIBER_QUEUE_SIZE
        events = await collect(subscription, total, timeout=30)
    assert numbers(events) == list(range(total))


async def test_client_ids_are_parsed_strictly_and_never_ahead_of_the_channel(
    bus: EventBus,
) -> None:
    channel = channel_name()
    await bus.publish(channel, ItemAdded(n=1))
    head = await bus.head(channel)
    assert await bus.resume_point(channel, str(head)) == head
    assert await bus.resume_point(channel, "0") == 0
    for bad in ["²", "١", "-1", "+1", " 1", "1.0", "", "x", "1" * 20, "9223372036854775808"]:
        with pytest.raises(InvalidEventId):
            await bus.resume_point(channel, bad)
    with pytest.raises(InvalidEventId) as future:
        await bus.resume_point(channel, str(head + 1))
    assert future.value.head == head


async def test_only_typed_events_on_well_named_channels(bus: EventBus) -> None:
    with pytest.raises(TypeError):
        await bus.publish("dicts", {"catalogs": []})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel"):
        await bus.publish("Bad Channel", ItemAdded(n=1))
    with pytest.raises(ValueError, match="channel"):
        bus.subscribe("Bad Channel")


async def test_channels_without_subscribers_are_not_tracked(bus: EventBus) -> None:
    channels = [channel_name() for _ in range(3)]
    for channel in channels:
        async with bus.subscribe(channel), bus.subscribe(channel):
            assert bus.subscriber_count(channel) == 2
    assert bus.subscriber_count() == 0
    assert bus.channel_count() == 0


@pytest.mark.parametrize("backend", ["postgres", "redis"])
async def test_a_recorded_event_that_no_longer_fits_its_model_is_skipped_not_delivered(
    backend: str, clean_database: str
) -> None:
    async with open_bus(backend, clean_database) as bus:
        channel = channel_name()
        await bus.publish(channel, ItemAdded(n=1))
        database = Database(clean_database)
        try:
            async with database.transaction() as session:
                # A row written by a version whose model had another field.
                await session.execute(
                    text(
                        "WITH h AS (UPDATE sys.bus_channels SET head = head + 1 "
                        "WHERE channel = :c RETURNING head) "
                        "INSERT INTO sys.bus_events (channel, seq, type, data) "
                        'SELECT :c, head, \'item.added\', \'{"n": 2, "colour": "red"}\' FROM h'
                    ),
                    {"c": channel},
                )
        finally:
            await database.dispose()
        await bus.publish(channel, ItemAdded(n=3))
        async with bus.subscribe(channel, after=0) as subscription:
            events = await collect(subscription, 2)
        assert [(e.seq, e.data["n"]) for e in events] == [(1, 1), (3, 3)]


async def test_memory_bus_forgets_idle_channels_and_never_reuses_their_ids() -> None:
    bus = MemoryBus(max_channels=3, idle_seconds=3600)
    watched = channel_name()
    async with bus.subscribe(watched):
        old = await bus.publish(watched, ItemAdded(n=0))
        for _ in range(20):
            await bus.publish(channel_name(), ItemAdded(n=1))
        assert bus.known_channels() <= 4
        # A channel with a subscriber is kept whatever the bound.
        assert await bus.head(watched) == old.seq
    first = channel_name()
    early = await bus.publish(first, ItemAdded(n=1))
    for _ in range(10):
        await bus.publish(channel_name(), ItemAdded(n=1))
    later = await bus.publish(first, ItemAdded(n=2))
    # `first` was forgotten and started again above every id this bus has issued.
    assert later.seq > early.seq + 1
    assert numbers(await bus.history(first, early.seq)) == [2]


async def test_memory_bus_forgets_channels_idle_for_too_long() -> None:
    bus = MemoryBus(idle_seconds=0.05)
    quiet = channel_name()
    await bus.publish(quiet, ItemAdded(n=1))
    await asyncio.sleep(0.1)
    await bus.publish(channel_name(), ItemAdded(n=1))
    assert bus.known_channels() == 1
    assert await bus.history(quiet, 0) == []


async def test_a_subscriber_always_one_behind_keeps_nothing_it_has_read() -> None:
    bus = MemoryBus()
    channel = channel_name()
    async with bus.subscribe(channel) as subscription:
        await bus.publish(channel, ItemAdded(n=0))
        received: list[int] = []
        for n in range(1, 500):
            await bus.publish(channel, ItemAdded(n=n))
            event = await subscription.next()
            assert event is not None
            received.append(event.data["n"])
            assert subscription.backlog == 1
        held = len(subscription._inbox or [])
    assert received == list(range(499))
    assert held <= 2 * COMPACT_AFTER
