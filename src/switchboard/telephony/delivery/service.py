"""Turning stored events into what each CRM is owed (in the caller's transaction), and the rules
of retrying what did not land."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.integrations.crm import CallCrm, CallFacts
from switchboard.telephony.delivery import repository
from switchboard.telephony.gateway.cache import EnterpriseEntry
from switchboard.telephony.models import CallEvent
from switchboard.telephony.records import service as records
from switchboard.telephony.records.schemas import CallRecord

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
    recording_link: Callable[[uuid.UUID], str],
) -> int:
    """Update each event's call record and plan its deliveries for every consumer its
    enterprise has enabled, in event order (a call's later event sees what its earlier ones
    planned). A batch costs a fixed number of statements, whatever its size. Returns how many
    deliveries were planned."""
    known = await _Known.load(session, events)
    rows: list[dict[str, Any]] = []
    for event in events:
        entry = await enterprise_of(event.enterprise_number)
        if entry is None or not entry.active:
            continue
        facts = _facts_of(event, entry, known, recording_link)
        for name, crm in crms.items():
            if not (crm.always_enabled or entry.enabled(name)):
                continue
            if facts.event_type == "download" and not crm.always_enabled:
                continue  # the PBX's copy of a hangup the consumers already had
            rows += _plan_for(facts, crm, entry.config.get(name) or {}, known)
    await records.save(session, list(known.calls.values()))
    await repository.insert_deliveries(session, rows)
    await repository.mark_dispatched(session, [event.id for event in events])
    return len(rows)


@dataclass
class _Known:
    """What the batch's calls already have, read in three statements and kept current as the
    batch is planned."""

    first_seen: dict[tuple[str, str], datetime]
    hung_up: set[tuple[str, str]]
    planned: dict[tuple[str, str, str], set[str]]
    calls: dict[tuple[str, str], CallRecord]

    @classmethod
    async def load(cls, session: AsyncSession, events: Sequence[CallEvent]) -> _Known:
        keys = sorted({(event.enterprise_number, event.unique_id) for event in events})
        first_seen, hung_up = await repository.calls_so_far(session, keys)
        return cls(
            first_seen=first_seen,
            hung_up=hung_up,
            planned=await repository.planned_kinds_of(session, keys),
            calls=await records.calls_of(session, keys),
        )


def _facts_of(
    event: CallEvent,
    entry: EnterpriseEntry,
    known: _Known,
    recording_link: Callable[[uuid.UUID], str],
) -> CallFacts:
    key = (event.enterprise_number, event.unique_id)
    first = known.first_seen.get(key, event.received_at)
    event_type = event.event_type
    if event_type == "download" and key not in known.hung_up:
        event_type = "hangup"  # the PBX recovered a hangup that never came: it is the hangup
    if event.event_type == "hangup":
        known.hung_up.add(key)
    call = records.note_event(known.calls.get(key), event, first, local_zone(entry.time_zone))
    known.calls[key] = call
    return CallFacts(
        enterprise_number=event.enterprise_number,
        unique_id=event.unique_id,
        event_type=event_type,
        raw=event.raw_data,
        first_seen=pbx_time(first, entry.time_zone),
        planned=frozenset(),
        record_url=recording_link(call.record_id) if call.record_id else None,
    )


def local_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def pbx_time(moment: datetime | None, zone_name: str) -> datetime | None:
    """`moment` as the PBX's wall clock shows it (naive, as the PBX sends its times)."""
    if moment is None:
        return None
    return moment.astimezone(local_zone(zone_name)).replace(tzinfo=None)


def _plan_for(
    facts: CallFacts, crm: CallCrm, config: Mapping[str, Any], known: _Known
) -> list[dict[str, Any]]:
    enterprise, unique_id = facts.enterprise_number, facts.unique_id
    kinds = known.planned.setdefault((enterprise, crm.name, unique_id), set())
    planned = [
        item
        for item in crm.plan(replace(facts, planned=frozenset(kinds)), config)
        if item.kind not in kinds
    ]
    kinds.update(item.kind for item in planned)
    return [
        {
            "enterprise_number": enterprise,
            "integration": crm.name,
            "unique_id": unique_id,
            "kind": item.kind,
            "order_key": order_key(enterprise, crm.name, unique_id, item.lane),
            "payload": dict(item.payload),
        }
        for item in planned
    ]
