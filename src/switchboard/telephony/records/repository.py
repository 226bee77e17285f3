"""SQL of call records and their recordings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import Call


async def calls_of(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Call]:
    """The records of these calls that exist, by (enterprise, unique id)."""
    if not keys:
        return {}
    rows = await session.scalars(
        select(Call).where(tuple_(Call.enterprise_number, Call.unique_id).in_(list(keys)))
    )
    return {(call.enterprise_number, call.unique_id): call for call in rows}


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
