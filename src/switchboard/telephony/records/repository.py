"""SQL of call records and their recordings."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import Call


async def call_of(session: AsyncSession, enterprise: str, unique_id: str) -> Call | None:
    return await session.scalar(
        select(Call).where(Call.enterprise_number == enterprise, Call.unique_id == unique_id)
    )


def add(session: AsyncSession, call: Call) -> None:
    session.add(call)


async def by_record(session: AsyncSession, record_id: uuid.UUID) -> Call | None:
    return await session.scalar(select(Call).where(Call.record_id == record_id))


async def mark_stored(
    session: AsyncSession, call_id: int, *, key: str, content_type: str, size: int
) -> None:
    await _set(
        session,
        call_id,
        record_path=key,
        record_type=content_type,
        record_bytes=size,
        record_status="stored",
        record_error=None,
        record_stored_at=text("now()"),
    )


async def mark_failed(session: AsyncSession, call_id: int, error: str) -> None:
    await _set(session, call_id, record_status="failed", record_error=error[:2000])


async def _set(session: AsyncSession, call_id: int, **values: Any) -> None:
    await session.execute(
        update(Call)
        .where(Call.id == call_id)
        .values(**values, updated_at=text("now()"))
        .execution_options(synchronize_session=False)
    )
