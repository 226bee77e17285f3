"""The bus's record in PostgreSQL: pruning by the housekeeping job, and the migration that gave
each channel its own sequence."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import psycopg
import pytest
from alembic import command
from procrastinate import JobContext

from switchboard.core.db import Database
from switchboard.core.db.migrate import alembic_config, upgrade
from switchboard.core.housekeeping import EVENT_HISTORY, prune_events
from switchboard.core.jobs import RUNTIME_KEY
from switchboard.core.realtime import EventModel
from switchboard.core.realtime.postgres import PostgresBus
from switchboard.runtime import Runtime
from tests.core.test_bus import channel_name, collect
from tests.databases import created_database


class PageTurned(EventModel):
    event_name: ClassVar[str] = "page.turned"
    n: int


@pytest.mark.parametrize("backend", ["postgres", "redis"])
async def test_housekeeping_prunes_old_events_and_keeps_the_numbering(
    backend: str, runtime_factory: Any, clean_database: str
) -> None:
    overrides: dict[str, str] = {"EVENT_BUS": backend}
    if backend == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("Redis backend not tested: REDIS_URL is not set (no Redis server here)")
        overrides["REDIS_URL"] = os.environ["REDIS_URL"]
    runtime: Runtime = await runtime_factory(**overrides)
    assert isinstance(runtime.bus, PostgresBus)
    channel = channel_name()
    for n in range(1, 4):
        await runtime.bus.publish(channel, PageTurned(n=n))
    with psycopg.connect(clean_database, autocommit=True) as connection:
        connection.execute(
            "UPDATE sys.bus_events SET created_at = now() - %s - interval '1 minute' "
            "WHERE channel = %s AND seq < 3",
            (EVENT_HISTORY, channel),
        )
    # The job reads only its runtime from the context the worker gives it.
    context = cast(JobContext, SimpleNamespace(additional_context={RUNTIME_KEY: runtime}))
    assert await prune_events(context) == 2
    assert await runtime.bus.head(channel) == 3
    # A client that saw event 1 is still a valid client; it gets what is kept.
    assert await runtime.bus.resume_point(channel, "1") == 1
    async with runtime.bus.subscribe(channel, after=1) as subscription:
        assert [e.seq for e in await collect(subscription, 1)] == [3]
    assert (await runtime.bus.publish(channel, PageTurned(n=4))).seq == 4


@pytest.fixture
def database_at_0002(database_url: str) -> Iterator[str]:
    with created_database(database_url, "switchboard_bus_migration") as url:
        upgrade(url, "0002")
        yield url


async def test_migration_keeps_old_ids_as_sequence_numbers(database_at_0002: str) -> None:
    url = database_at_0002
    with psycopg.connect(url, autocommit=True) as connection:
        for channel, n in [("dicts", 1), ("other", 2), ("dicts", 3), ("dicts", 4), ("other", 5)]:
            connection.execute(
                "INSERT INTO sys.bus_events (channel, type, data) VALUES (%s, 'page.turned', %s)",
                (channel, f'{{"n": {n}}}'),
            )
    upgrade(url)
    with psycopg.connect(url) as connection:
        heads: dict[str, int] = dict(
            connection.execute("SELECT channel, head FROM sys.bus_channels").fetchall()
        )
    assert heads == {"dicts": 4, "other": 5}
    database = Database(url)
    bus = PostgresBus(database)
    try:
        assert [e.data["n"] for e in await bus.history("dicts", 1)] == [3, 4]
        assert (await bus.publish("dicts", PageTurned(n=6))).seq == 5
    finally:
        await database.dispose()
    command.downgrade(alembic_config(url), "0002")
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT id, channel, data->>'n' FROM sys.bus_events ORDER BY id"
        ).fetchall()
        connection.execute(
            "INSERT INTO sys.bus_events (channel, type, data) VALUES ('x', 'page.turned', '{}')"
        )
    assert [(channel, int(n)) for _, channel, n in rows] == [
        ("dicts", 1),
        ("other", 2),
        ("dicts", 3),
        ("dicts", 4),
        ("other", 5),
        ("dicts", 6),
    ]
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5, 6]
    upgrade(url)
