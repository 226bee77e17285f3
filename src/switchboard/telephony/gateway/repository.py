"""SQL of the gateway: enterprises as the integration cache holds them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.gateway.cache import EnterpriseEntry
from switchboard.telephony.models import CallEvent, Delivery, Enterprise


def _entry(row: Enterprise) -> EnterpriseEntry:
    return EnterpriseEntry(
        number=row.number,
        name=row.name,
        token_digest=row.token_digest,
        active=row.active,
        time_zone=row.time_zone,
        config=dict(row.integrations_config or {}),
    )


async def by_token_digest(session: AsyncSession, digest: str) -> EnterpriseEntry | None:
    row = await session.scalar(select(Enterprise).where(Enterprise.token_digest == digest))
    return _entry(row) if row is not None else None


async def by_number(session: AsyncSession, number: str) -> EnterpriseEntry | None:
    row = await session.get(Enterprise, number)
    return _entry(row) if row is not None else None


async def everything(session: AsyncSession) -> list[EnterpriseEntry]:
    return [_entry(row) for row in await session.scalars(select(Enterprise))]


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {str(status): int(count) for status, count in rows.all()}


async def undispatched_count(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(CallEvent).where(CallEvent.dispatched_at.is_(None))
    )
    return int(count or 0)
