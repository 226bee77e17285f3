"""Concurrent bookings never push a manager past `con_limit` (real concurrent transactions)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select, text

from switchboard.consultations.managers.service import ManagerPick
from switchboard.consultations.models import ACCOUNTING, Consultation
from switchboard.core.db.base import utcnow
from switchboard.runtime import Runtime
from tests.consultations.managers.factories import key, manager, pick, queued, store

LIMITS = {"anna": 5, "boris": 3, "vera": 4}
ALREADY_QUEUED = {"vera": 2}
BOOKINGS = 50


async def _book(runtime: Runtime, number: int, start: asyncio.Event) -> ManagerPick | None:
    """What the booking flow does: pick and insert the consultation in one transaction."""
    await start.wait()
    async with runtime.database.transaction() as session:
        chosen = await pick(session, rng=random.Random(number))
        if chosen is None:
            return None
        # Widen the window between the pick and the insert, where a race would slip in.
        await asyncio.sleep(random.Random(number).uniform(0, 0.02))
        session.add(
            Consultation(
                cons_id=str(uuid.uuid4()),
                manager=chosen.manager_key,
                status="open",
                consultation_type=ACCOUNTING,
                create_date=utcnow(),
            )
        )
    return chosen


async def test_fifty_concurrent_bookings_never_exceed_a_limit(runtime_factory: Any) -> None:
    runtime: Runtime = await runtime_factory(DB_POOL_SIZE=30, DB_MAX_OVERFLOW=0)
    await store(
        runtime,
        *[manager(name, limit=limit) for name, limit in LIMITS.items()],
        *[queued(name, count) for name, count in ALREADY_QUEUED.items()],
    )
    start = asyncio.Event()
    bookings = [asyncio.ensure_future(_book(runtime, n, start)) for n in range(BOOKINGS)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*bookings)

    chosen = [r for r in results if r is not None]
    free = sum(LIMITS.values()) - sum(ALREADY_QUEUED.values())
    assert len(chosen) == free
    async with runtime.database.transaction() as session:
        rows = await session.execute(
            select(Consultation.manager, func.count())
            .where(Consultation.status == "open")
            .group_by(Consultation.manager)
        )
        in_queue = dict(rows.all())
    assert in_queue == {key(name): limit for name, limit in LIMITS.items()}
    # Each pick saw the queue as it stood when it got the manager: places 1..limit, each once.
    places = Counter((r.manager_key, r.queue_position) for r in chosen)
    assert set(places.values()) == {1}
    for name, limit in LIMITS.items():
        already = ALREADY_QUEUED.get(name, 0)
        assert sorted(p for k, p in places if k == key(name)) == list(range(already + 1, limit + 1))


async def _waiting_for_a_lock(runtime: Runtime) -> bool:
    async with runtime.database.transaction() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(text("pg_stat_activity"))
            .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
        )
    return bool(waiting)


async def test_a_manager_being_assigned_is_passed_over_for_the_next(runtime: Runtime) -> None:
    await store(
        runtime, manager("idle", limit=10), manager("busier", limit=10), queued("busier", 3)
    )
    async with runtime.database.transaction() as first:
        taken = await pick(first)
        assert taken is not None
        assert taken.name == "idle"
        # While the first booking holds "idle", a second one does not wait for it.
        async with runtime.database.transaction() as second:
            other = await pick(second)
        assert other is not None
        assert other.name == "busier"


async def test_when_everyone_is_being_assigned_the_pick_waits_and_counts_their_booking(
    runtime: Runtime,
) -> None:
    await store(runtime, manager("only", limit=2))
    async with runtime.database.transaction() as first:
        taken = await pick(first)
        assert taken is not None
        first.add(Consultation(cons_id="first", manager=key("only"), status="open"))
        await first.flush()

        async def second_booking() -> ManagerPick | None:
            async with runtime.database.transaction() as second:
                chosen = await pick(second)
                second.add(Consultation(cons_id="second", manager=key("only"), status="open"))
                return chosen

        waiting = asyncio.ensure_future(second_booking())
        while not await _waiting_for_a_lock(runtime):
            assert not waiting.done()
            await asyncio.sleep(0.01)
    # The first booking committed: the second one counted it, and took the last place.
    second = await waiting
    assert second is not None
    assert (second.name, second.queue_before) == ("only", 1)

    # Now the queue is full.
    async with runtime.database.transaction() as third:
        assert await pick(third) is None


async def test_a_manager_found_full_is_let_go_at_once(runtime: Runtime) -> None:
    from switchboard.consultations.managers import repository

    await store(runtime, manager("full", limit=1), queued("full", 1), manager("free", limit=1))
    async with runtime.database.transaction() as first:
        assert await repository.claim(first, key("full"), wait=True) is None
        assert await repository.claim(first, key("free"), wait=True) == 0
        async with runtime.database.transaction() as second:
            # "full" is not held by the first transaction any more (the claim found it full and
            # released it); "free" is, until the first transaction ends.
            assert await repository.claim(second, key("full"), wait=False) is None
            assert await repository.claim(second, key("free"), wait=False) == (
                repository.HELD_ELSEWHERE
            )
