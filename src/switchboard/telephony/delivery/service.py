"""Turning stored events into what each CRM is owed (in the caller's transaction), and the rules
of retrying what did not land."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.integrations.crm import CallCrm, CallFacts
from switchboard.telephony.delivery import repository
from switchboard.telephony.gateway.cache import EnterpriseEntry
from switchboard.telephony.models import CallEvent

#: Waits after the 1st, 2nd, … failed attempt (then the last one again), before jitter: a CRM
#: that is down for a minute gets its calls within seconds of coming back.
BACKOFF_SECONDS = (2, 5, 15, 30, 60, 120, 300, 900)

Lookup = Callable[[str], Awaitable[EnterpriseEntry | None]]


def backoff(attempt: int, *, retry_after: float | None = None) -> timedelta:
    base = BACKOFF_SECONDS[min(max(attempt, 1), len(BACKOFF_SECONDS)) - 1]
    return timedelta(seconds=max(base * random.uniform(0.8, 1.2), retry_after or 0.0))


def order_key(enterprise: str, integration: str, unique_id: str, lane: str = "") -> str:
    key = f"{enterprise}:{integration}:{unique_id}"
    return f"{key}:{lane}" if lane else key


async def dispatch(
    session: AsyncSession,
    events: Sequence[CallEvent],
    *,
    enterprise_of: Lookup,
    crms: Mapping[str, CallCrm],
) -> int:
    """Plan each event's deliveries for every CRM its enterprise has enabled, in event order
    (a call's later event sees what its earlier ones planned). Returns how many were planned."""
    planned_count = 0
    for event in events:
        entry = await enterprise_of(event.enterprise_number)
        if entry is None or not entry.active:
            continue
        for name, crm in crms.items():
            if not entry.enabled(name):
                continue
            planned_count += await _plan_for(session, event, crm, entry.config.get(name) or {})
    await repository.mark_dispatched(session, [event.id for event in events])
    return planned_count


async def _plan_for(
    session: AsyncSession, event: CallEvent, crm: CallCrm, config: Mapping[str, Any]
) -> int:
    enterprise, unique_id = event.enterprise_number, event.unique_id
    facts = CallFacts(
        enterprise_number=enterprise,
        unique_id=unique_id,
        event_type=event.event_type,
        raw=event.raw_data,
        first_seen=await repository.first_seen(session, enterprise, unique_id),
        planned=frozenset(await repository.planned_kinds(session, enterprise, crm.name, unique_id)),
    )
    planned = crm.plan(facts, config)
    await repository.insert_deliveries(
        session,
        [
            {
                "enterprise_number": enterprise,
                "integration": crm.name,
                "unique_id": unique_id,
                "kind": item.kind,
                "order_key": order_key(enterprise, crm.name, unique_id, item.lane),
                "payload": dict(item.payload),
            }
            for item in planned
        ],
    )
    return len(planned)
