"""SQL of click-to-call and smart redirect."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import Enterprise


async def enterprise(session: AsyncSession, number: str) -> Enterprise | None:
    return await session.get(Enterprise, number)
