"""Concurrent bookings never push a manager past `con_limit` (real concurrent transactions)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select

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
