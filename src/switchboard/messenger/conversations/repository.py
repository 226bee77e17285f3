"""SQL of the widget's conversations: inboxes by key, contacts by token digest, conversations
and their messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ACTIVE = ("open", "pending")


@dataclass(frozen=True)
class InboxRow:
    id: int
    settings: dict[str, Any]


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str | None


@dataclass(frozen=True)
class ConversationRow:
    id: int
    status: str


@dataclass(frozen=True)
class MessageRow:
    id: int
    conversation_id: int
    direction: str
    author_kind: str
    body: str
    client_id: str | None
    created_at: datetime
    delivered_at: datetime | None


async def active_inbox(session: AsyncSession, public_key: str) -> InboxRow | None:
    row = (
        await session.execute(
            text("SELECT id, settings FROM messenger.inboxes WHERE public_key = :k AND active"),
            {"k": public_key},
        )
    ).one_or_none()
    return None if row is None else InboxRow(row.id, dict(row.settings or {}))


async def region_id(session: AsyncSession, code: str) -> int | None:
    found = await session.scalar(
        text("SELECT id FROM messenger.regions WHERE code = :c"), {"c": code}
    )
    return None if found is None else int(found)


async def insert_contact(
    session: AsyncSession,
    *,
    token_digest: str,
    name: str | None,
    email: str | None,
    region_id: int | None,
) -> ContactRow:
    row = (
        await session.execute(
            text(
                "INSERT INTO messenger.contacts (token_digest, name, email, region_id) "
                "VALUES (:t, :n, :e, :r) RETURNING id, name"
            ),
            {"t": token_digest, "n": name, "e": email, "r": region_id},
        )
    ).one()
    return ContactRow(row.id, row.name)


async def contact_by_digest(
    session: AsyncSession, token_digest: str, *, lock: bool = False
) -> ContactRow | None:
    sql = "SELECT id, name FROM messenger.contacts WHERE token_digest = :t"
    row = (
        await session.execute(text(sql + (" FOR UPDATE" if lock else "")), {"t": token_digest})
    ).one_or_none()
    return None if row is None else ContactRow(row.id, row.name)


async def touch_contact(
    session: AsyncSession,
    contact_id: int,
    *,
    name: str | None,
    email: str | None,
    region_id: int | None,
) -> ContactRow:
    """Mark the visitor seen; what they stated now (not null) replaces what they stated before."""
    row = (
        await session.execute(
            text(
                "UPDATE messenger.contacts SET last_seen_at = now(), "
                "name = coalesce(:n, name), email = coalesce(:e, email), "
                "region_id = coalesce(:r, region_id) WHERE id = :id RETURNING id, name"
            ),
            {"id": contact_id, "n": name, "e": email, "r": region_id},
        )
    ).one()
    return ContactRow(row.id, row.name)


async def latest_conversation(
    session: AsyncSession, contact_id: int, inbox_id: int
) -> ConversationRow | None:
    row = (
        await session.execute(
            text(
                "SELECT id, status FROM messenger.conversations "
                "WHERE contact_id = :c AND inbox_id = :i ORDER BY id DESC LIMIT 1"
            ),
            {"c": contact_id, "i": inbox_id},
        )
    ).one_or_none()
    return None if row is None else ConversationRow(row.id, row.status)


async def insert_conversation(session: AsyncSession, contact_id: int, inbox_id: int) -> int:
    return int(
        await session.scalar(
            text(
                "INSERT INTO messenger.conversations (inbox_id, contact_id) VALUES (:i, :c) "
                "RETURNING id"
            ),
            {"i": inbox_id, "c": contact_id},
        )
    )


async def conversation(session: AsyncSession, conversation_id: int) -> ConversationRow:
    row = (
        await session.execute(
            text("SELECT id, status FROM messenger.conversations WHERE id = :id"),
            {"id": conversation_id},
        )
    ).one()
    return ConversationRow(row.id, row.status)


async def message_by_client_id(
    session: AsyncSession, contact_id: int, inbox_id: int, client_id: str
) -> MessageRow | None:
    """The visitor's own message with this `client_id`, in any of their conversations here."""
    row = (
        await session.execute(
            text(
                "SELECT m.id, m.conversation_id, m.direction, m.author_kind, m.body, m.client_id, "
                "m.created_at, m.delivered_at FROM messenger.messages m "
                "JOIN messenger.conversations c ON c.id = m.conversation_id "
                "WHERE c.contact_id = :c AND c.inbox_id = :i AND m.client_id = :cid "
                "AND m.author_kind = 'contact' ORDER BY m.id LIMIT 1"
            ),
            {"c": contact_id, "i": inbox_id, "cid": client_id},
        )
    ).one_or_none()
    return None if row is None else _message(row)


async def insert_message(
    session: AsyncSession,
    *,
    conversation_id: int,
    direction: str,
    author_kind: str,
    body: str,
    client_id: str | None,
) -> MessageRow:
    row = (
        await session.execute(
            text(
                "INSERT INTO messenger.messages AS m (conversation_id, direction, author_kind, "
                "body, client_id, delivered_at) VALUES (:conv, :dir, :kind, :body, :cid, now()) "
                "RETURNING m.id, m.conversation_id, m.direction, m.author_kind, m.body, "
                "m.client_id, m.created_at, m.delivered_at"
            ),
            {
                "conv": conversation_id,
                "dir": direction,
                "kind": author_kind,
                "body": body,
                "cid": client_id,
            },
        )
    ).one()
    await session.execute(
        text("UPDATE messenger.conversations SET updated_at = now() WHERE id = :id"),
        {"id": conversation_id},
    )
    return _message(row)


async def messages_after(
    session: AsyncSession, conversation_id: int, after: int, limit: int
) -> list[MessageRow]:
    rows = await session.execute(
        text(
            "SELECT m.id, m.conversation_id, m.direction, m.author_kind, m.body, m.client_id, "
            "m.created_at, m.delivered_at FROM messenger.messages m "
            "WHERE m.conversation_id = :c AND m.id > :after ORDER BY m.id LIMIT :limit"
        ),
        {"c": conversation_id, "after": after, "limit": limit},
    )
    return [_message(row) for row in rows]


def _message(row: Any) -> MessageRow:
    return MessageRow(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=row.direction,
        author_kind=row.author_kind,
        body=row.body,
        client_id=row.client_id,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
