"""SQL of the outbox: insert, claim (in order, never twice at once), settle, list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.sync.models import ExternalFailure, OutboxTask
from switchboard.core.db.system import EtlRun, SyncState

# Due tasks, each only when no earlier task of its order key is still open (pending or failed):
# a consultation's changes reach a peer in the order they were made. SKIP LOCKED lets several
# workers claim side by side; the lease keeps a task from being taken again while it runs.
_CLAIM_DUE = text(
    """
    WITH due AS (
        SELECT o.id FROM sys.outbox o
        WHERE o.status = 'pending'
          AND o.next_attempt_at <= now()
          AND (o.lease_until IS NULL OR o.lease_until < now())
          AND (o.order_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM sys.outbox earlier
                WHERE earlier.order_key = o.order_key
                  AND earlier.id < o.id
                  AND earlier.status IN ('pending', 'failed')))
        ORDER BY o.next_attempt_at, o.id
        LIMIT :limit
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE sys.outbox t
    SET lease_until = now() + make_interval(secs => :lease), attempts = t.attempts + 1,
        updated_at = now()
    FROM due WHERE t.id = due.id
    RETURNING t.id
    """
)

RETRY_LEASE_SECONDS = 60


async def insert_task(
    session: AsyncSession,
    *,
    operation: str,
    target: str,
    payload: Mapping[str, Any],
    cons_id: str | None,
    order_key: str | None,
    dedupe_key: str | None,
    delay: timedelta,
    lease: timedelta | None,
) -> int | None:
    now = func.now()
    statement = (
        insert(OutboxTask)
        .values(
            operation=operation,
            target=target,
            payload=dict(payload),
            cons_id=cons_id,
            order_key=order_key,
            dedupe_key=dedupe_key,
            next_attempt_at=now + delay,
            lease_until=(now + lease) if lease is not None else None,
        )
        .on_conflict_do_nothing(index_elements=[OutboxTask.dedupe_key])
        .returning(OutboxTask.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


# Rows are numbered in the request's order and inserted in that order, so the identity column
# numbers them in it too: the ids, sorted, are the rows' in order.
_INSERT_TASKS = text(
    """
    INSERT INTO sys.outbox
        (operation, target, order_key, cons_id, payload, next_attempt_at, lease_until)
    SELECT t.operation, t.target, t.order_key, t.cons_id, t.payload, now(),
           now() + make_interval(secs => t.lease_seconds)
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS t(
        n int, operation text, target text, order_key text, cons_id text, payload jsonb,
        lease_seconds float8)
    ORDER BY t.n
    RETURNING id
    """
)


async def insert_tasks(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert tasks due now (no dedupe keys), in one statement; their ids in `rows`' order."""
    if not rows:
        return []
    numbered = [{**row, "n": n} for n, row in enumerate(rows)]
    result = await session.execute(_INSERT_TASKS, {"rows": orjson.dumps(numbered).decode()})
    return sorted(row[0] for row in result)


async def claim_due(session: AsyncSession, *, limit: int, lease_seconds: float) -> list[int]:
    rows = await session.execute(_CLAIM_DUE, {"limit": limit, "lease": lease_seconds})
    return [row[0] for row in rows]


async def claim_own(
    session: AsyncSession, task_id: int, *, lease_seconds: float
) -> OutboxTask | None:
    """Take a task this process created (its lease is ours already): None if it is settled."""
    claimed = await session.scalars(
        update(OutboxTask)
        .where(OutboxTask.id == task_id, OutboxTask.status == "pending")
        .values(
            lease_until=func.now() + timedelta(seconds=lease_seconds),
            attempts=OutboxTask.attempts + 1,
            updated_at=func.now(),
        )
        .returning(OutboxTask)
    )
    return claimed.one_or_none()


async def order_keys(session: AsyncSession, task_ids: Sequence[int]) -> dict[int, str | None]:
    rows = await session.execute(
        select(OutboxTask.id, OutboxTask.order_key).where(OutboxTask.id.in_(task_ids))
    )
    return {task_id: key for task_id, key in rows.all()}


async def task(session: AsyncSession, task_id: int) -> OutboxTask | None:
    return await session.get(OutboxTask, task_id)


async def mark_done(session: AsyncSession, task_id: int, result: Mapping[str, Any] | None) -> bool:
    """False when the task is gone (its consultation was deleted meanwhile)."""
    marked = await session.scalar(
        update(OutboxTask)
        .where(OutboxTask.id == task_id)
        .values(
            status="done",
            result=dict(result) if result is not None else None,
            lease_until=None,
            done_at=func.now(),
            last_error=None,
        )
        .returning(OutboxTask.id)
        .execution_options(synchronize_session=False)
    )
    return marked is not None


async def mark_closed(session: AsyncSession, task_id: int, *, status: str, reason: str) -> None:
    await session.execute(
        update(OutboxTask)
        .where(OutboxTask.id == task_id)
        .values(status=status, lease_until=None, last_error=reason, done_at=func.now())
    )


async def postpone(
    session: AsyncSession,
    task_id: int,
    *,
    delay: timedelta,
    error: str | None,
    count_attempt: bool,
) -> None:
    values: dict[str, Any] = {
        "lease_until": None,
        "next_attempt_at": func.now() + delay,
    }
    if error is not None:
        values["last_error"] = error
    if not count_attempt:
        values["attempts"] = OutboxTask.attempts - 1
    await session.execute(update(OutboxTask).where(OutboxTask.id == task_id).values(**values))


async def park_failed(session: AsyncSession, task_id: int, *, error: str) -> None:
    await session.execute(
        update(OutboxTask)
        .where(OutboxTask.id == task_id)
        .values(status="failed", lease_until=None, last_error=error)
    )


async def add_failure(
    session: AsyncSession,
    *,
    task: OutboxTask,
    error_kind: str,
    status_code: int | None,
    message: str,
    will_retry: bool,
) -> None:
    session.add(
        ExternalFailure(
            task_id=task.id,
            operation=task.operation,
            target=task.target,
            attempt=task.attempts,
            error_kind=error_kind,
            status_code=status_code,
            message=message,
            will_retry=will_retry,
        )
    )


async def reopen(session: AsyncSession, task_id: int) -> OutboxTask | None:
    """A failed or pending task made due now (the "retry now" of a person)."""
    row = await session.execute(
        update(OutboxTask)
        .where(OutboxTask.id == task_id, OutboxTask.status.in_(("pending", "failed")))
        # Leased to the caller, who runs it at once; the worker would take it after the lease.
        .values(
            status="pending",
            next_attempt_at=func.now(),
            lease_until=func.now() + timedelta(seconds=RETRY_LEASE_SECONDS),
        )
        .returning(OutboxTask.id)
    )
    if row.first() is None:
        return None
    await session.flush()
    return await session.get(OutboxTask, task_id, populate_existing=True)


async def list_tasks(
    session: AsyncSession,
    *,
    statuses: Sequence[str],
    operation: str | None,
    cons_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[OutboxTask], int]:
    query = select(OutboxTask).where(OutboxTask.status.in_(statuses))
    if operation is not None:
        query = query.where(OutboxTask.operation == operation)
    if cons_id is not None:
        query = query.where(OutboxTask.cons_id == cons_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(OutboxTask.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


async def list_failures(
    session: AsyncSession, *, task_id: int | None, limit: int, offset: int
) -> tuple[list[ExternalFailure], int]:
    query = select(ExternalFailure)
    if task_id is not None:
        query = query.where(ExternalFailure.task_id == task_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(ExternalFailure.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxTask.status, func.count()).group_by(OutboxTask.status)
    )
    return {status: int(count) for status, count in rows.all()}


async def next_due_at(session: AsyncSession) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(func.min(OutboxTask.next_attempt_at)).where(OutboxTask.status == "pending")
    )
    return value


async def etl_runs_summary(session: AsyncSession, jobs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """For each job: its latest run, latest successful run and failures in the last 24 h."""
    summary: dict[str, dict[str, Any]] = {}
    for job in jobs:
        latest = await session.scalar(
            select(EtlRun).where(EtlRun.job == job).order_by(EtlRun.id.desc()).limit(1)
        )
        success = await session.scalar(
            select(EtlRun)
            .where(EtlRun.job == job, EtlRun.status == "ok")
            .order_by(EtlRun.id.desc())
            .limit(1)
        )
        failures = await session.scalar(
            select(func.count()).where(
                EtlRun.job == job,
                EtlRun.status == "failed",
                EtlRun.started_at >= func.now() - timedelta(hours=24),
            )
        )
        summary[job] = {"last_run": latest, "last_success": success, "failures": int(failures or 0)}
    return summary


async def sync_cursors(session: AsyncSession) -> list[SyncState]:
    return list(await session.scalars(select(SyncState).order_by(SyncState.entity_name)))


_PRUNE = (
    # Settled changes and the failures of settled changes: the record of what was sent.
    "DELETE FROM sys.outbox WHERE status IN ('done', 'cancelled') AND done_at < now() - "
    "make_interval(days => :days)",
    # Webhook deliveries (their effect is in the consultations; the log is for debugging).
    "DELETE FROM log.webhook_log WHERE created_at < now() - make_interval(days => :days)",
    "DELETE FROM sys.etl_runs WHERE started_at < now() - make_interval(days => :days)",
)


async def prune_logs(session: AsyncSession, *, days: int) -> int:
    """Forget logs older than `days` (a failed or pending change is never forgotten)."""
    removed = 0
    for statement in _PRUNE:
        result = await session.execute(text(statement), {"days": days})
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
