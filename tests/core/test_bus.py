"""The event bus: the same behaviour through each backend."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from switchboard.core.db import Database
from switchboard.core.realtime import EventBus, InvalidEventId, MemoryBus
from switchboard.core.realtime.bus import Event


@pytest.fixture(params=["memory", "postgres", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    backend = request.param
    if backend == "memory":
        instance: EventBus = MemoryBus()
        await instance.start()
        yield instance
        await instance.stop()
        return
    if backend == "postgres":
        database = Database(request.getfixturevalue("clean_database"))
        from switchboard.core.realtime.postgres import PostgresBus

        instance = PostgresBus(database)
        await instance.start()
        yield instance
        await instance.stop()
        await database.dispose()
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("Redis backend not tested: REDIS_URL is not set (no Redis server here)")
    from switchboard.core.realtime.redis import RedisBus

    # A prefix of its own, so that test runs sharing one Redis never see each other's events.
    prefix = f"switchboard-test-{uuid.uuid4().hex[:8]}:"
    instance = RedisBus(url, prefix=prefix)
    await instance.start()
    yield instance
    keys = [key async for key in instance.redis.scan_iter(prefix + "*")]
    if keys:
        await instance.redis.delete(*keys)
    await instance.stop()


async def _collect(
    bus: EventBus, channel: str, count: int, ready: asyncio.Event, after: str | None = None
) -> list[Event]:
    received: list[Event] = []
    async with bus.subscribe(channel) as subscription:
        ready.set()
        async for event in subscription.events(after):
            received.append(event)
            if len(received) == count:
                break
    return received


async def _subscribe_then(
    bus: EventBus, channel: str, count: int, publish: Any, after: str | None = None
) -> list[Event]:
    ready = asyncio.Event()
    task = asyncio.create_task(_collect(bus, channel, count, ready, after))
    await asyncio.wait_for(ready.wait(), 5)
    await publish()
    return await asyncio.wait_for(task, 10)


def _channel() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


async def test_subscriber_receives_events_of_its_channel_only(bus: EventBus) -> None:
    channel = _channel()

    async def publish() -> None:
        await bus.publish("other", "thing.happened", {"n": 0})
        await bus.publish(channel, "thing.happened", {"n": 1})
        await bus.publish(channel, "thing.changed", {"n": 2})

    events = await _subscribe_then(bus, channel, 2, publish)
    assert [(e.type, e.data["n"]) for e in events] == [("thing.happened", 1), ("thing.changed", 2)]
    assert all(e.channel == channel for e in events)


async def test_resume_after_last_event_id_replays_missed_events_once(bus: EventBus) -> None:
    channel = _channel()
    first = await bus.publish(channel, "item.added", {"n": 1})
    await bus.publish(channel, "item.added", {"n": 2})
    await bus.publish(channel, "item.added", {"n": 3})

    async def publish_live() -> None:
        await bus.publish(channel, "item.added", {"n": 4})

    events = await _subscribe_then(bus, channel, 3, publish_live, after=first.id)
    assert [e.data["n"] for e in events] == [2, 3, 4]


async def test_ids_increase_and_unknown_ids_are_refused(bus: EventBus) -> None:
    channel = _channel()
    a = await bus.publish(channel, "item.added", {})
    b = await bus.publish(channel, "item.added", {})
    assert bus.sort_key(b.id) > bus.sort_key(a.id)
    with pytest.raises(InvalidEventId):
        bus.sort_key("not-an-id")


async def test_names_follow_the_house_rule(bus: EventBus) -> None:
    with pytest.raises(ValueError, match="past_tense"):
        await bus.publish("dicts", "Changed", {})
    with pytest.raises(ValueError, match="channel"):
        await bus.publish("Bad Channel", "thing.happened", {})


async def test_publish_on_commit_sends_only_committed_changes(
    bus: EventBus, clean_database: str
) -> None:
    database = Database(clean_database)
    channel = _channel()
    try:

        async def publish() -> None:
            with pytest.raises(RuntimeError):
                async with database.transaction() as session:
                    await session.execute(text("SELECT 1"))
                    await bus.publish_on_commit(session, channel, "change.rolled_back", {})
                    raise RuntimeError("rollback")
            async with database.transaction() as session:
                await session.execute(text("SELECT 1"))
                await bus.publish_on_commit(session, channel, "change.committed", {})

        events = await _subscribe_then(bus, channel, 1, publish)
        assert [e.type for e in events] == ["change.committed"]
        await asyncio.sleep(0.2)
        assert [
            e.type for e in await bus.history(channel, "0" if bus.name != "redis" else "0-0")
        ] == ["change.committed"]
    finally:
        await database.dispose()


async def test_slow_subscriber_is_cut_off_and_can_resume() -> None:
    bus = MemoryBus(history_size=5000)
    channel = _channel()
    async with bus.subscribe(channel) as subscription:
        for n in range(1200):
            await bus.publish(channel, "item.added", {"n": n})
        received = [e async for e in subscription.events()]
    assert len(received) < 1200
    last = received[-1].id if received else "0"
    replayed = await bus.history(channel, last, limit=5000)
    assert len(received) + len(replayed) == 1200
