"""SQL of the enterprises' settings and internal numbers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import Enterprise, IntegrationLog, InternalPhone


async def enterprise(
    session: AsyncSession, number: str, *, lock: bool = False
) -> Enterprise | None:
    return await session.get(Enterprise, number, with_for_update=lock)


def add(session: AsyncSession, row: Enterprise) -> None:
    session.add(row)


async def internal_phones(session: AsyncSession, number: str) -> list[InternalPhone]:
    rows = await session.scalars(
        select(InternalPhone)
        .where(InternalPhone.enterprise_number == number)
        .order_by(InternalPhone.phone_number)
    )
    return list(rows)


async def replace_internal_phones(
    session: AsyncSession, number: str, phones: Sequence[tuple[str, str | None]]
) -> None:
    await session.execute(delete(InternalPhone).where(InternalPhone.enterprise_number == number))
    session.add_all(
        InternalPhone(enterprise_number=number, phone_number=phone, user_name=name)
        for phone, name in phones
    )


async def recent_logs(session: AsyncSession, number: str, *, limit: int) -> list[IntegrationLog]:
    rows = await session.scalars(
        select(IntegrationLog)
        .where(IntegrationLog.enterprise_number == number)
        .order_by(IntegrationLog.id.desc())
        .limit(limit)
    )
    return list(rows)


def log(session: AsyncSession, **fields: object) -> None:
    session.add(IntegrationLog(**fields))
