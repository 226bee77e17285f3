"""Bookings at the same moment: a manager is never pushed past their limit, a subscriber never
past the daily limit, and one idempotency key books once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import text

from switchboard.consultations.booking import repository
from switchboard.runtime import Runtime
from tests.consultations.booking.support import (
    accounting,
    add_manager,
    book,
    in_days,
    owner,
    rows,
    settings,
)


async def test_fifty_simultaneous_bookings_never_exceed_a_managers_limit(
    runtime_factory: Any, client_factory: Any
) -> None:
    # No peers: what is decided here is decided in the database.
    runtime: Runtime = await runtime_factory(**settings(None, None, BOOKING_WAIT_SECONDS="0"))
    client = await client_factory(runtime)
    limits = {}
    for name, limit in (("Алишер", 7), ("Дилноза", 5), ("Санжар", 3)):
        key, _ = await add_manager(runtime, None, name, limit=limit)
        limits[key] = limit

    answers = await asyncio.gather(
        *(
            book(client, {"client": owner(), "consultation": accounting(start_date=in_days(1))})
            for _ in range(50)
        )
    )

    assert [a.status_code for a in answers] == [201] * 50, [
        a.text for a in answers if a.status_code != 201
    ]
    per_manager = Counter(row.manager for row in await rows(runtime))
    assert per_manager.pop(None) == 50 - sum(limits.values())  # the rest wait for a manager
    assert per_manager == limits  # every manager filled up to the limit, none beyond
    positions = sorted(
        (a.json()["manager"]["manager_key"], a.json()["queue"]["position"])
        for a in answers
        if a.json()["manager"] is not None
    )
    expected = sorted((str(key), n) for key, limit in limits.items() for n in range(1, limit + 1))
    assert positions == expected


async def test_simultaneous_bookings_of_one_subscriber_never_exceed_the_daily_limit(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**settings(None, None, BOOKING_WAIT_SECONDS="0"))
    client = await client_factory(runtime)
    await add_manager(runtime, None, "Алишер", limit=50)
    subscriber = owner()
    first = await book(client, {"client": subscriber, "consultation": accounting()})
    assert first.status_code == 201

    answers = await asyncio.gather(
        *(
            book(
                client,
                {"client": subscriber, "consultation": accounting(start_date=in_days(2, 9 + n))},
            )
            for n in range(6)
        )
    )

    assert sorted(a.status_code for a in answers) == [201, 201, 201, 429, 429, 429]
    assert len(await rows(runtime)) == 4


async def test_one_idempotency_key_sent_ten_times_at_once_books_once(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**settings(None, None, BOOKING_WAIT_SECONDS="0"))
    client = await client_factory(runtime)
    await add_manager(runtime, None, "Алишер")
    body = {"client": owner(), "consultation": accounting(start_date=in_days(1))}

    answers = await asyncio.gather(
        *(book(client, body, **{"Idempotency-Key": "same-booking"}) for _ in range(10))
    )

    assert [a.status_code for a in answers] == [201] * 10
    assert len({a.json()["cons_id"] for a in answers}) == 1
    assert len(await rows(runtime)) == 1


async def test_a_key_older_than_a_day_is_taken_over_and_purged(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**settings(None, None, BOOKING_WAIT_SECONDS="0"))
    client = await client_factory(runtime)
    await add_manager(runtime, None, "Алишер")
    subscriber = owner()
    first = await book(
        client,
        {"client": subscriber, "consultation": accounting(start_date=in_days(1))},
        **{"Idempotency-Key": "old"},
    )
    await book(
        client,
        {"client": subscriber, "consultation": accounting(start_date=in_days(2))},
        **{"Idempotency-Key": "older"},
    )
    async with runtime.database.transaction() as session:
        await session.execute(
            text("UPDATE sys.idempotency_keys SET created_at = now() - interval '25 hours'")
        )

    reused = await book(
        client,
        {"client": subscriber, "consultation": accounting(start_date=in_days(3))},
        **{"Idempotency-Key": "old"},
    )
    async with runtime.database.transaction() as session:
        purged = await repository.purge_idempotency_keys(session)
        left = (await session.execute(text("SELECT key FROM sys.idempotency_keys"))).all()

    assert reused.status_code == 201
    assert reused.json()["cons_id"] != first.json()["cons_id"]  # a new booking
    assert purged == 1  # "older"; "old" was taken over and is fresh again
    assert [row[0] for row in left] == ["old"]
