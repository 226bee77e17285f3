"""SQL of the dispatcher and the delivery runner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import CallEvent, Delivery, IntegrationLog

#: One dispatcher at a time (any process): a call's events are planned in their order.
_DISPATCH_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended('telephony.dispatch', 0))")

_UNDISPATCHED = text(
    """
    SELECT id FROM telephony.call_events
    WHERE dispatched_at IS NULL
    ORDER BY id
    LIMIT :limit
    """
)

# Due deliveries, each only when no earlier one of its order key (a call's, per integration)
# is still open: a CRM hears of a call in the order it happened.
_CLAIM_DUE = text(
    """
    WITH due AS (
        SELECT d.id FROM telephony.deliveries d
        WHERE d.status = 'pending'
          AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until < now())
          AND NOT EXISTS (
                SELECT 1 FROM telephony.deliveries earlier
                WHERE earlier.order_key = d.order_key
                  AND earlier.id < d.id
                  AND earlier.status IN ('pending', 'failed'))
        ORDER BY d.next_attempt_at, d.id
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE telephony.deliveries t
    SET lease_until = now() + make_interval(secs => :lease), attempts = t.attempts + 1
    FROM due WHERE t.id = due.id
    RETURNING t.id, t.enterprise_number, t.integration, t.unique_id, t.kind, t.payload,
              t.attempts, t.order_key
    """
)

_INSERT_DELIVERIES = text(
    """
    INSERT INTO telephony.deliveries
        (enterprise_number, integration, unique_id, kind, order_key, payload)
    SELECT d.enterprise_number, d.integration, d.unique_id, d.kind, d.order_key, d.payload
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS d(
        enterprise_number text, integration text, unique_id text, kind text, order_key text,
        payload jsonb, n int)
    ORDER BY d.n
    ON CONFLICT ON CONSTRAINT uq_deliveries_once DO NOTHING
    """
)


async def take_dispatch_lock(session: AsyncSession) -> bool:
    return bool(await session.scalar(_DISPATCH_LOCK))


async def undispatched(session: AsyncSession, limit: int) -> list[CallEvent]:
    ids = [row[0] for row in await session.execute(_UNDISPATCHED, {"limit": limit})]
    if not ids:
        return []
    rows = await session.scalars(
        select(CallEvent).where(CallEvent.id.in_(ids)).order_by(CallEvent.id)
    )
    return list(rows)


async def mark_dispatched(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(
        update(CallEvent)
        .where(CallEvent.id.in_(ids))
        .values(dispatched_at=text("now()"))
        .execution_options(synchronize_session=False)
    )


async def first_seen(session: AsyncSession, enterprise: str, unique_id: str) -> datetime | None:
    return await session.scalar(
        select(CallEvent.received_at)
        .where(CallEvent.enterprise_number == enterprise, CallEvent.unique_id == unique_id)
        .order_by(CallEvent.id)
        .limit(1)
    )


async def has_hangup(session: AsyncSession, enterprise: str, unique_id: str) -> bool:
    found = await session.scalar(
        select(CallEvent.id)
        .where(
            CallEvent.enterprise_number == enterprise,
            CallEvent.unique_id == unique_id,
            CallEvent.event_type == "hangup",
        )
        .limit(1)
    )
    return found is not None


async def planned_kinds(
    session: AsyncSession, enterprise: str, integration: str, unique_id: str
) -> set[str]:
    rows = await session.scalars(
        select(Delivery.kind).where(
            Delivery.enterprise_number == enterprise,
            Delivery.integration == integration,
            Delivery.unique_id == unique_id,
        )
    )
    return set(rows)


async def insert_deliveries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        numbered = [{**row, "n": n} for n, row in enumerate(rows)]
        await session.execute(_INSERT_DELIVERIES, {"rows": orjson.dumps(numbered).decode()})


async def claim_due(session: AsyncSession, *, limit: int, lease_seconds: float) -> list[Any]:
    result = await session.execute(_CLAIM_DUE, {"limit": limit, "lease": lease_seconds})
    return list(result.all())


async def settle(
    session: AsyncSession,
    delivery_id: int,
    *,
    status: str,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
    retry_in_seconds: float | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "lease_until": None, "last_error": error}
    if result is not None:
        values["result"] = dict(result)
    if status in ("done", "failed", "cancelled"):
        values["done_at"] = text("now()")
    if retry_in_seconds is not None:
        values["next_attempt_at"] = func.now() + timedelta(seconds=retry_in_seconds)
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def add_log(session: AsyncSession, **fields: Any) -> None:
    session.add(IntegrationLog(**fields))


async def earlier_results(session: AsyncSession, order_key: str, before: int) -> dict[str, Any]:
    """The results of a call's deliveries to one CRM done before `before`, by kind."""
    rows = await session.execute(
        select(Delivery.kind, Delivery.result).where(
            Delivery.order_key == order_key, Delivery.id < before, Delivery.status == "done"
        )
    )
    return {kind: result or {} for kind, result in rows.all()}


async def listen(connection: Any, channel: str) -> None:
    """LISTEN on a dedicated autocommit psycopg connection (the channel is ours, not input)."""
    await connection.execute(f"LISTEN {channel}")
