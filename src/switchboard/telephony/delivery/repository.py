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
              t.attempts, t.order_key,
              -- what the adapter may need of the call's earlier deliveries (a message id)
              (SELECT coalesce(jsonb_object_agg(e.kind, coalesce(e.result, CAST('{}' AS jsonb))),
                               CAST('{}' AS jsonb))
               FROM telephony.deliveries e
               WHERE e.order_key = t.order_key AND e.id < t.id AND e.status = 'done')
              AS earlier
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


_CALLS_SO_FAR = text(
    """
    SELECT k.enterprise_number, k.unique_id,
           (SELECT e.received_at FROM telephony.call_events e
            WHERE e.enterprise_number = k.enterprise_number AND e.unique_id = k.unique_id
            ORDER BY e.id LIMIT 1) AS first_seen,
           EXISTS (SELECT 1 FROM telephony.call_events e
                   WHERE e.enterprise_number = k.enterprise_number
                     AND e.unique_id = k.unique_id AND e.event_type = 'hangup') AS hung_up
    FROM jsonb_to_recordset(CAST(:keys AS jsonb)) AS k(enterprise_number text, unique_id text)
    """
)

_PLANNED_KINDS = text(
    """
    SELECT d.enterprise_number, d.integration, d.unique_id, d.kind
    FROM jsonb_to_recordset(CAST(:keys AS jsonb)) AS k(enterprise_number text, unique_id text)
    JOIN telephony.deliveries d
      ON d.enterprise_number = k.enterprise_number AND d.unique_id = k.unique_id
    """
)

CallKey = tuple[str, str]


def _keys_json(keys: Sequence[CallKey]) -> str:
    return orjson.dumps([{"enterprise_number": e, "unique_id": u} for e, u in keys]).decode()


async def calls_so_far(
    session: AsyncSession, keys: Sequence[CallKey]
) -> tuple[dict[CallKey, datetime], set[CallKey]]:
    """For each call: when its first event arrived, and whether a hangup of it is stored."""
    first_seen: dict[CallKey, datetime] = {}
    hung_up: set[CallKey] = set()
    if not keys:
        return first_seen, hung_up
    for enterprise, unique_id, first, hangup in await session.execute(
        _CALLS_SO_FAR, {"keys": _keys_json(keys)}
    ):
        if first is not None:
            first_seen[(enterprise, unique_id)] = first
        if hangup:
            hung_up.add((enterprise, unique_id))
    return first_seen, hung_up


async def planned_kinds_of(
    session: AsyncSession, keys: Sequence[CallKey]
) -> dict[tuple[str, str, str], set[str]]:
    """The kinds planned so far, by (enterprise, integration, call)."""
    planned: dict[tuple[str, str, str], set[str]] = {}
    if not keys:
        return planned
    for enterprise, integration, unique_id, kind in await session.execute(
        _PLANNED_KINDS, {"keys": _keys_json(keys)}
    ):
        planned.setdefault((enterprise, integration, unique_id), set()).add(kind)
    return planned


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


async def listen(connection: Any, channel: str) -> None:
    """LISTEN on a dedicated autocommit psycopg connection (the channel is ours, not input)."""
    await connection.execute(f"LISTEN {channel}")
