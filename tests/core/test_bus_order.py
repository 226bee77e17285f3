"""One order per channel, fixed at commit: every subscriber and every resume sees exactly the
committed events, once, in the same order — with overlapping transactions on real connections."""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import AsyncExitStack
from typing import ClassVar

import psycopg
import pytest

from switchboard.core.db import Database
from switchboard.core.realtime import Event, EventBus, EventModel
from switchboard.core.realtime.bus import Subscription
from tests.core.test_bus import channel_name, collect, open_bus

pytestmark = pytest.mark.parametrize("backend", ["postgres", "redis"])


class NoteWritten(EventModel):
    event_name: ClassVar[str] = "note.written"
    author: str


def table(database_url: str, channel: str) -> list[tuple[int, str]]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT seq, data->>'author' FROM sys.bus_events WHERE channel = %s ORDER BY seq",
            (channel,),
        ).fetchall()
    return [(seq, author) for seq, author in rows]


def authors(events: list[Event]) -> list[tuple[int, str]]:
    return [(event.seq, event.data["author"]) for event in events]


async def test_lower_id_committing_last_is_not_lost_live_or_on_resume(
    backend: str, clean_database: str
) -> None:
    """The issue's case: two overlapping transactions on one channel, the one that published
    first commits last. Before, the live subscriber saw only the later id and a resume skipped
    the earlier one. Now the second publisher waits for the first, and the order is theirs."""
    async with (
        open_bus(backend, clean_database) as publisher,
        open_bus(backend, clean_database) as listener,
    ):
        database = Database(clean_database)
        channel = channel_name()
        first_published = asyncio.Event()
        release_first = asyncio.Event()
        times: dict[str, float] = {}

        async def first() -> None:
            async with database.transaction() as session:
                await publisher.publish_on_commit(session, channel, NoteWritten(author="first"))
                first_published.set()
                await release_first.wait()

        async def second() -> None:
            async with database.transaction() as session:
                await publisher.publish_on_commit(session, channel, NoteWritten(author="second"))
                times["second published"] = time.monotonic()

        try:
            async with listener.subscribe(channel) as live:
                first_task = asyncio.create_task(first())
                await first_published.wait()
                second_task = asyncio.create_task(second())
                await asyncio.sleep(0.5)
                # The second transaction wants to commit now, but it cannot even take its number.
                assert not second_task.done()
                times["first released"] = time.monotonic()
                release_first.set()
                await asyncio.gather(first_task, second_task)
                received = await collect(live, 2)
        finally:
            await database.dispose()
        assert times["second published"] >= times["first released"]
        assert authors(received) == [(1, "first"), (2, "second")]
        assert table(clean_database, channel) == [(1, "first"), (2, "second")]
        async with listener.subscribe(channel, after=0) as resumed:
            assert authors(await collect(resumed, 2)) == [(1, "first"), (2, "second")]


async def test_a_rolled_back_publisher_leaves_no_hole_and_no_event(
    backend: str, clean_database: str
) -> None:
    async with open_bus(backend, clean_database) as bus:
        database = Database(clean_database)
        channel = channel_name()
        holding = asyncio.Event()
        try:

            async def doomed() -> None:
                with pytest.raises(RuntimeError):
                    async with database.transaction() as session:
                        await bus.publish_on_commit(session, channel, NoteWritten(author="doomed"))
                        holding.set()
                        await asyncio.sleep(0.3)
                        raise RuntimeError("rolled back")

            async def survivor() -> None:
                await holding.wait()
                async with database.transaction() as session:
                    await bus.publish_on_commit(session, channel, NoteWritten(author="survivor"))

            async with bus.subscribe(channel) as live:
                await asyncio.gather(doomed(), survivor())
                received = await collect(live, 1)
        finally:
            await database.dispose()
        assert authors(received) == [(1, "survivor")]
        assert table(clean_database, channel) == [(1, "survivor")]


async def test_publishers_of_different_channels_do_not_wait_for_each_other(
    backend: str, clean_database: str
) -> None:
    async with open_bus(backend, clean_database) as bus:
        database = Database(clean_database)
        holding, done = asyncio.Event(), asyncio.Event()
        try:

            async def long_transaction() -> None:
                async with database.transaction() as session:
                    await bus.publish_on_commit(session, channel_name(), NoteWritten(author="a"))
                    holding.set()
                    await asyncio.wait_for(done.wait(), 5)

            async def other_channel() -> None:
                await holding.wait()
                async with database.transaction() as session:
                    await bus.publish_on_commit(session, channel_name(), NoteWritten(author="b"))
                done.set()

            await asyncio.wait_for(asyncio.gather(long_transaction(), other_channel()), 10)
        finally:
            await database.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_concurrent_publishers_rollbacks_subscribers_and_resumes_agree(
    backend: str, seed: int, clean_database: str
) -> None:
    """Many publishers on real connections with random delays before and after publishing (the
    channel lock is held meanwhile) and random rollbacks; live subscribers in two processes' worth
    of buses, and resumes from random ids taken while the publishing goes on. Each sees exactly
    the committed events of its channel, in the one order of the record."""
    rng = random.Random(seed)
    channels = [channel_name() for _ in range(2)]
    publishers_per_channel = 14
    async with AsyncExitStack() as stack:
        buses: list[EventBus] = [
            await stack.enter_async_context(open_bus(backend, clean_database)) for _ in range(2)
        ]
        database = Database(clean_database, pool_size=20, max_overflow=20)
        stack.push_async_callback(database.dispose)
        committed: dict[str, set[str]] = {channel: set() for channel in channels}
        rolled_back: set[str] = set()

        async def publish(channel: str, index: int) -> None:
            author = f"{channel}/{index}"
            bus = buses[index % 2]
            await asyncio.sleep(rng.uniform(0, 0.3))
            try:
                async with database.transaction() as session:
                    notes = 2 if rng.random() < 0.2 else 1
                    for part in range(notes):
                        await bus.publish_on_commit(
                            session, channel, NoteWritten(author=f"{author}.{part}")
                        )
                    await asyncio.sleep(rng.uniform(0, 0.05))
                    if rng.random() < 0.25:
                        raise RuntimeError("rolled back")
                committed[channel].update(f"{author}.{part}" for part in range(notes))
            except RuntimeError:
                rolled_back.update(f"{author}.{part}" for part in range(notes))

        live: list[tuple[str, Subscription]] = []
        for channel in channels:
            for bus in buses:
                for _ in range(2):
                    live.append((channel, await stack.enter_async_context(bus.subscribe(channel))))
        resumed: list[tuple[str, int, Subscription]] = []

        async def resume_now_and_then() -> None:
            for _ in range(6):
                await asyncio.sleep(rng.uniform(0.02, 0.2))
                channel = rng.choice(channels)
                bus = rng.choice(buses)
                start = rng.randint(0, await bus.head(channel))
                subscription = await stack.enter_async_context(bus.subscribe(channel, start))
                resumed.append((channel, start, subscription))

        await asyncio.gather(
            resume_now_and_then(),
            *(
                publish(channel, index)
                for channel in channels
                for index in range(publishers_per_channel)
            ),
        )
        records = {channel: table(clean_database, channel) for channel in channels}
        for channel in channels:
            record = records[channel]
            assert [seq for seq, _ in record] == list(range(1, len(record) + 1))
            assert {author for _, author in record} == committed[channel]
            assert not rolled_back & {author for _, author in record}
        assert rolled_back, "the seed should roll some transactions back"

        for channel, subscription in live:
            expected = records[channel]
            assert authors(await collect(subscription, len(expected))) == expected
        for channel, start, subscription in resumed:
            expected = records[channel][start:]
            assert authors(await collect(subscription, len(expected))) == expected
        for channel in channels:
            page = await buses[1].history(channel, 3)
            assert authors(page) == records[channel][3:]
        # Nothing more arrives: every subscriber is exactly at the end.
        for _, subscription in live:
            with pytest.raises(TimeoutError):
                await collect(subscription, 1, timeout=0.1)
