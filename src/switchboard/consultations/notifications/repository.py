"""SQL of client notifications: the log that keeps each one from being sent twice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.models import Consultation
from switchboard.consultations.sync.models import OutboxTask
from switchboard.integrations.models import NotificationLog


async def log_once(session: AsyncSession, *, kind: str, entity_id: str, unique_hash: str) -> bool:
    """Record the notification; False when one with this hash was recorded before."""
    statement = (
        insert(NotificationLog)
        .values(notification_type=kind, entity_id=entity_id, unique_hash=unique_hash)
        .on_conflict_do_nothing(index_elements=[NotificationLog.unique_hash])
        .returning(NotificationLog.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def conversation_of(session: AsyncSession, cons_id: str) -> tuple[int | None, bool]:
    """(the consultation's Chatwoot conversation id, whether the consultation exists)."""
    row = (
        await session.execute(
            select(Consultation.chatwoot_conversation_id).where(Consultation.cons_id == cons_id)
        )
    ).first()
    return (row[0], True) if row is not None else (None, False)


async def conversation_pending(session: AsyncSession, cons_id: str) -> bool:
    """Whether an outbox task that opens the consultation's conversation is still open."""
    found = await session.scalar(
        select(OutboxTask.id)
        .where(
            OutboxTask.cons_id == cons_id,
            OutboxTask.operation == "chatwoot.open_conversation",
            OutboxTask.status.in_(("pending", "failed")),
        )
        .limit(1)
    )
    return found is not None
