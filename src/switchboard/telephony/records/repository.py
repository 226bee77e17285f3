"""SQL of call records and their recordings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import Call
from switchboard.telephony.records.schemas import CallRecord

# The columns the dispatcher keeps (`schemas.CallRecord`).
_RECORDS_OF = text(
    """
    SELECT c.enterprise_number, c.unique_id, c.started_at, c.direction, c.phone, c.trunk,
           c.extensions, c.answered_by, c.answered_at, c.ended_at, c.result, c.talk_seconds,
           c.total_seconds, c.record_id, c.record_source, c.record_status, c.record_error
    FROM jsonb_to_recordset(CAST(:keys AS jsonb)) AS k(enterprise_number text, unique_id text)
    JOIN telephony.calls c
      ON c.enterprise_number = k.enterprise_number AND c.unique_id = k.unique_id
    """
)

# The fetcher may have stored the recording meanwhile: a stored one stays stored.
_SAVE_RECORDS = text(
    """
    INSERT INTO telephony.calls AS c
        (enterprise_number, unique_id, started_at, direction, phone, trunk, extensions,
         answered_by, answered_at, ended_at, result, talk_seconds, total_seconds,
         record_id, record_source, record_status, record_error)
    SELECT r.enterprise_number, r.unique_id, r.started_at, r.direction, r.phone, r.trunk,
           r.extensions, r.answered_by, r.answered_at, r.ended_at, r.result, r.talk_seconds,
           r.total_seconds, r.record_id, r.record_source, r.record_status, r.record_error
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        enterprise_number text, unique_id text, started_at timestamptz, direction text,
        phone text, trunk text, extensions jsonb, answered_by text, answered_at timestamptz,
        ended_at timestamptz, result text, talk_seconds int, total_seconds int, record_id uuid,
        record_source text, record_status text, record_error text)
    ON CONFLICT ON CONSTRAINT uq_calls_call DO UPDATE SET
        started_at = EXCLUDED.started_at, direction = EXCLUDED.direction,
        phone = EXCLUDED.phone, trunk = EXCLUDED.trunk, extensions = EXCLUDED.extensions,
        answered_by = EXCLUDED.answered_by, answered_at = EXCLUDED.answered_at,
        ended_at = EXCLUDED.ended_at, result = EXCLUDED.result,
        talk_seconds = EXCLUDED.talk_seconds, total_seconds = EXCLUDED.total_seconds,
        record_id = EXCLUDED.record_id, record_source = EXCLUDED.record_source,
        record_status = CASE WHEN c.record_status = 'stored' THEN c.record_status
                             ELSE EXCLUDED.record_status END,
        record_error = CASE WHEN c.record_status = 'stored' THEN c.record_error
                            ELSE EXCLUDED.record_error END,
        updated_at = now()
    """
)


async def records_of(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], CallRecord]:
    """The records of these calls that exist, by (enterprise, unique id)."""
    if not keys:
        return {}
    found = await session.execute(
        _RECORDS_OF,
        {
            "keys": orjson.dumps(
                [{"enterprise_number": e, "unique_id": u} for e, u in keys]
            ).decode()
        },
    )
    records = {}
    for row in found.mappings():
        record = CallRecord(**row)
        record.extensions = list(record.extensions or [])
        records[(record.enterprise_number, record.unique_id)] = record
    return records


async def save_records(session: AsyncSession, records: Sequence[CallRecord]) -> None:
    if records:
        rows = [vars(record) for record in records]  # orjson writes times and UUIDs itself
        await session.execute(_SAVE_RECORDS, {"rows": orjson.dumps(rows).decode()})


async def call_of(session: AsyncSession, enterprise: str, unique_id: str) -> Call | None:
    return await session.scalar(
        select(Call).where(Call.enterprise_number == enterprise, Call.unique_id == unique_id)
    )


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
