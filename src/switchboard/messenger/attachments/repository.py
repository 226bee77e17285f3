"""Rows of `messenger.attachments`: an upload, one file by id, the files of many messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class AttachmentRecord:
    id: int
    contact_id: int | None
    staff_id: int | None
    conversation_id: int | None
    message_id: int | None
    file_name: str
    content_type: str
    bytes: int
    storage_key: str
    created_at: datetime


_SELECT = (
    "SELECT id, contact_id, staff_id, conversation_id, message_id, file_name, content_type, "
    "bytes, storage_key, created_at FROM messenger.attachments"
)


async def insert(
    session: AsyncSession,
    *,
    contact_id: int | None,
    staff_id: int | None,
    file_name: str,
    content_type: str,
    size: int,
    storage_key: str,
) -> AttachmentRecord:
    row = (
        await session.execute(
            text(
                "INSERT INTO messenger.attachments (contact_id, staff_id, file_name, "
                "content_type, bytes, storage_key) VALUES (:contact, :staff, :name, :type, "
                ":size, :key) RETURNING id, contact_id, staff_id, conversation_id, message_id, "
                "file_name, content_type, bytes, storage_key, created_at"
            ),
            {
                "contact": contact_id,
                "staff": staff_id,
                "name": file_name,
                "type": content_type,
                "size": size,
                "key": storage_key,
            },
        )
    ).one()
    return AttachmentRecord(**row._mapping)


async def by_id(session: AsyncSession, attachment_id: int) -> AttachmentRecord | None:
    row = (
        await session.execute(
            text(f"{_SELECT} WHERE id = :id"),
            {"id": attachment_id},
        )
    ).one_or_none()
    return None if row is None else AttachmentRecord(**row._mapping)


async def of_messages(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[AttachmentRecord]]:
    """The files each of these messages took (one query), by message id, in upload order."""
    if not message_ids:
        return {}
    rows = await session.execute(
        text(f"{_SELECT} WHERE message_id = ANY(:ids) ORDER BY message_id, id"),
        {"ids": list(dict.fromkeys(message_ids))},
    )
    found: dict[int, list[AttachmentRecord]] = {}
    for row in rows:
        record = AttachmentRecord(**row._mapping)
        found.setdefault(int(row.message_id), []).append(record)
    return found


async def recent_uploads(
    session: AsyncSession, contact_id: int, since: datetime
) -> tuple[int, datetime | None]:
    """How many files the contact uploaded since `since`, and when the first of them was."""
    row = (
        await session.execute(
            text(
                "SELECT count(*) AS n, min(created_at) AS first FROM messenger.attachments "
                "WHERE contact_id = :c AND created_at >= :since"
            ),
            {"c": contact_id, "since": since},
        )
    ).one()
    return int(row.n), row.first


async def delete_unclaimed(session: AsyncSession, before: datetime, limit: int) -> list[str]:
    """Forget up to `limit` files no message took that were uploaded before `before`; their
    storage keys. A file a message is taking meanwhile (its row locked) is left alone."""
    rows = await session.execute(
        text(
            "DELETE FROM messenger.attachments WHERE id IN (SELECT id FROM messenger.attachments "
            "WHERE message_id IS NULL AND created_at < :before ORDER BY id LIMIT :limit "
            "FOR UPDATE SKIP LOCKED) RETURNING storage_key"
        ),
        {"before": before, "limit": limit},
    )
    return [str(key) for key in rows.scalars()]
