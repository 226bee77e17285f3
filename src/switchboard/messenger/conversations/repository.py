"""SQL of conversations: inboxes by key, contacts by token digest, conversations and their
messages, attachments taken by a message, delivery and read marks, ratings, summaries."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    """A conversation as the services need it: who sees it (the contact, the assignee)."""

    id: int
    status: str
    inbox_id: int
    contact_id: int
    assignee_id: int | None
    rating: int | None = None


@dataclass(frozen=True)
class MessageRow:
    id: int
    conversation_id: int
    direction: str
    author_kind: str
    #: The staff author's display name, the contact's name, or None (system).
    author_name: str | None
    body: str
    #: What the message took when it was sent: [{id, name, content_type, bytes}].
    attachments: list[dict[str, Any]]
    client_id: str | None
    created_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    contact_id: int | None
    staff_id: int | None
    message_id: int | None
    file_name: str
    content_type: str
    bytes: int
    storage_key: str


_CONVERSATION = (
    "SELECT id, status, inbox_id, contact_id, assignee_id, rating FROM messenger.conversations"
)

_MESSAGE = """
    SELECT m.id, m.conversation_id, m.direction, m.author_kind, m.body, m.attachments,
           m.client_id, m.created_at, m.delivered_at, m.read_at,
           CASE m.author_kind WHEN 'staff' THEN s.display_name
                              WHEN 'contact' THEN k.name END AS author_name
    FROM messenger.messages m
    JOIN messenger.conversations c ON c.id = m.conversation_id
    JOIN messenger.contacts k ON k.id = c.contact_id
    LEFT JOIN messenger.staff s ON s.id = m.staff_id
"""


def _conversation(row: Any) -> ConversationRow:
    return ConversationRow(
        row.id, row.status, row.inbox_id, row.contact_id, row.assignee_id, row.rating
    )


def _message(row: Any) -> MessageRow:
    return MessageRow(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=row.direction,
        author_kind=row.author_kind,
        author_name=row.author_name,
        body=row.body,
        attachments=list(row.attachments or []),
        client_id=row.client_id,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
    )


# --- inboxes and contacts ----------------------------------------------------------------------


async def active_inbox(session: AsyncSession, public_key: str) -> InboxRow | None:
    row = (
        await session.execute(
            text("SELECT id, settings FROM messenger.inboxes WHERE public_key = :k AND active"),
            {"k": public_key},
        )
    ).one_or_none()
    return None if row is None else InboxRow(row.id, dict(row.settings or {}))


async def inbox_settings(session: AsyncSession, inbox_id: int) -> dict[str, Any]:
    found = await session.scalar(
        text("SELECT settings FROM messenger.inboxes WHERE id = :i"), {"i": inbox_id}
    )
    return dict(found or {})


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
        await session.execute(
            text(sql + (" FOR NO KEY UPDATE" if lock else "")), {"t": token_digest}
        )
    ).one_or_none()
    return None if row is None else ContactRow(row.id, row.name)


async def contact_by_id(session: AsyncSession, contact_id: int) -> ContactRow | None:
    row = (
        await session.execute(
            text("SELECT id, name FROM messenger.contacts WHERE id = :id"), {"id": contact_id}
        )
    ).one_or_none()
    return None if row is None else ContactRow(row.id, row.name)


async def touch_contact(
    session: AsyncSession,
    contact_id: int,
    *,
    name: str | None,
    email: str | None,
    region_id: int | None,
    phone: str | None = None,
) -> ContactRow:
    """Mark the visitor seen; what they stated now (not null) replaces what they stated before."""
    row = (
        await session.execute(
            text(
                "UPDATE messenger.contacts SET last_seen_at = now(), "
                "name = coalesce(:n, name), email = coalesce(:e, email), "
                "phone = coalesce(:p, phone), "
                "region_id = coalesce(:r, region_id) WHERE id = :id RETURNING id, name"
            ),
            {"id": contact_id, "n": name, "e": email, "p": phone, "r": region_id},
        )
    ).one()
    return ContactRow(row.id, row.name)


# --- conversations -----------------------------------------------------------------------------


async def latest_conversation(
    session: AsyncSession, contact_id: int, inbox_id: int
) -> ConversationRow | None:
    row = (
        await session.execute(
            text(
                f"{_CONVERSATION} WHERE contact_id = :c AND inbox_id = :i ORDER BY id DESC LIMIT 1"
            ),
            {"c": contact_id, "i": inbox_id},
        )
    ).one_or_none()
    return None if row is None else _conversation(row)


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


async def find_conversation(
    session: AsyncSession, conversation_id: int, *, lock: bool = False
) -> ConversationRow | None:
    # NO KEY UPDATE: serialises changes of the conversation without blocking the foreign-key
    # checks of messages being added to it (FOR UPDATE would, and a visitor's message racing an
    # operator's answer could deadlock).
    sql = f"{_CONVERSATION} WHERE id = :id" + (" FOR NO KEY UPDATE" if lock else "")
    row = (await session.execute(text(sql), {"id": conversation_id})).one_or_none()
    return None if row is None else _conversation(row)


async def conversation(session: AsyncSession, conversation_id: int) -> ConversationRow:
    found = await find_conversation(session, conversation_id)
    if found is None:
        raise LookupError(f"no conversation {conversation_id}")
    return found


async def newer_conversation_exists(session: AsyncSession, found: ConversationRow) -> bool:
    return bool(
        await session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM messenger.conversations WHERE contact_id = :c "
                "AND inbox_id = :i AND id > :id)"
            ),
            {"c": found.contact_id, "i": found.inbox_id, "id": found.id},
        )
    )


async def set_status(
    session: AsyncSession, conversation_id: int, status: str, *, finished_at: datetime | None
) -> None:
    await session.execute(
        text(
            "UPDATE messenger.conversations SET status = :s, closed_at = :at, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": conversation_id, "s": status, "at": finished_at},
    )


async def set_pending(session: AsyncSession, conversation_id: int) -> None:
    await session.execute(
        text(
            "UPDATE messenger.conversations SET status = 'pending', updated_at = now() "
            "WHERE id = :id AND status = 'open' AND assignee_id IS NULL"
        ),
        {"id": conversation_id},
    )


async def rate(
    session: AsyncSession,
    conversation_id: int,
    *,
    score: int,
    scale: int,
    comment: str | None,
    now: datetime,
) -> bool:
    """Rate once: False when it was rated already."""
    found = await session.scalar(
        text(
            "UPDATE messenger.conversations SET rating = :r, rating_scale = :s, "
            "rating_comment = :c, rated_at = :at, updated_at = now() "
            "WHERE id = :id AND rating IS NULL RETURNING id"
        ),
        {"id": conversation_id, "r": score, "s": scale, "c": comment, "at": now},
    )
    return found is not None


async def set_assignee_read(
    session: AsyncSession, conversation_id: int, read_up_to: int, staff_id: int | None
) -> bool:
    """The assignee read the visitor's messages up to `read_up_to`: the unread count starts
    after that message (never moves back). `staff_id`: only if they are the assignee. Whether
    it moved."""
    found = await session.scalar(
        text(
            "UPDATE messenger.conversations c SET assignee_last_read_at = m.created_at "
            "FROM messenger.messages m WHERE c.id = :id AND m.id = :m "
            "AND m.conversation_id = c.id "
            "AND (c.assignee_last_read_at IS NULL OR c.assignee_last_read_at < m.created_at) "
            "AND (CAST(:staff AS bigint) IS NULL OR c.assignee_id = :staff) RETURNING c.id"
        ),
        {"id": conversation_id, "m": read_up_to, "staff": staff_id},
    )
    return found is not None


# --- messages ----------------------------------------------------------------------------------


async def message_by_client_id(
    session: AsyncSession, contact_id: int, inbox_id: int, client_id: str
) -> MessageRow | None:
    """The visitor's own message with this `client_id`, in any of their conversations here."""
    row = (
        await session.execute(
            text(
                f"{_MESSAGE} WHERE c.contact_id = :c AND c.inbox_id = :i AND m.client_id = :cid "
                "AND m.author_kind = 'contact' ORDER BY m.id LIMIT 1"
            ),
            {"c": contact_id, "i": inbox_id, "cid": client_id},
        )
    ).one_or_none()
    return None if row is None else _message(row)


async def message_with_client_id(
    session: AsyncSession, conversation_id: int, client_id: str
) -> MessageRow | None:
    """The message of the conversation with this `client_id` (whoever wrote it)."""
    row = (
        await session.execute(
            text(f"{_MESSAGE} WHERE m.conversation_id = :c AND m.client_id = :cid"),
            {"c": conversation_id, "cid": client_id},
        )
    ).one_or_none()
    return None if row is None else _message(row)


async def message(session: AsyncSession, message_id: int) -> MessageRow:
    row = (await session.execute(text(f"{_MESSAGE} WHERE m.id = :id"), {"id": message_id})).one()
    return _message(row)


async def insert_message(
    session: AsyncSession,
    *,
    conversation_id: int,
    direction: str,
    author_kind: str,
    body: str,
    client_id: str | None,
    staff_id: int | None = None,
) -> int:
    """Store a message (not yet delivered: the other side's app says when it got it) and touch
    the conversation; its id, or 0 when the conversation has a message with this `client_id`
    already (nothing stored)."""
    found = await session.scalar(
        text(
            "INSERT INTO messenger.messages (conversation_id, direction, author_kind, staff_id, "
            "body, client_id) VALUES (:conv, :dir, :kind, :staff, :body, :cid) "
            "ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING id"
        ),
        {
            "conv": conversation_id,
            "dir": direction,
            "kind": author_kind,
            "staff": staff_id,
            "body": body,
            "cid": client_id,
        },
    )
    await session.execute(
        text("UPDATE messenger.conversations SET updated_at = now() WHERE id = :id"),
        {"id": conversation_id},
    )
    return int(found) if found is not None else 0


async def messages_after(
    session: AsyncSession, conversation_id: int, after: int, limit: int
) -> list[MessageRow]:
    rows = await session.execute(
        text(
            f"{_MESSAGE} WHERE m.conversation_id = :c AND m.id > :after ORDER BY m.id LIMIT :limit"
        ),
        {"c": conversation_id, "after": after, "limit": limit},
    )
    return [_message(row) for row in rows]


async def mark_messages(
    session: AsyncSession,
    conversation_id: int,
    direction: str,
    *,
    delivered_up_to: int | None,
    read_up_to: int | None,
    now: datetime,
) -> tuple[int, int]:
    """Mark `direction`'s messages delivered up to one id and read up to another (read implies
    delivered); the highest ids newly marked delivered and read (0: none)."""
    delivered = read = 0
    top = max(delivered_up_to or 0, read_up_to or 0)
    if top:
        delivered = int(
            await session.scalar(
                text(
                    "WITH changed AS (UPDATE messenger.messages SET delivered_at = :now "
                    "WHERE conversation_id = :c AND direction = :d AND id <= :top "
                    "AND delivered_at IS NULL RETURNING id) "
                    "SELECT coalesce(max(id), 0) FROM changed"
                ),
                {"c": conversation_id, "d": direction, "top": top, "now": now},
            )
            or 0
        )
    if read_up_to:
        read = int(
            await session.scalar(
                text(
                    "WITH changed AS (UPDATE messenger.messages SET read_at = :now "
                    "WHERE conversation_id = :c AND direction = :d AND id <= :top "
                    "AND read_at IS NULL RETURNING id) "
                    "SELECT coalesce(max(id), 0) FROM changed"
                ),
                {"c": conversation_id, "d": direction, "top": read_up_to, "now": now},
            )
            or 0
        )
    return delivered, read


# --- attachments -------------------------------------------------------------------------------


async def lock_attachments(session: AsyncSession, ids: Sequence[int]) -> list[AttachmentRow]:
    rows = await session.execute(
        text(
            "SELECT id, contact_id, staff_id, message_id, file_name, content_type, bytes, "
            "storage_key FROM messenger.attachments WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"
        ),
        {"ids": list(ids)},
    )
    return [AttachmentRow(**row) for row in rows.mappings()]


async def attach(
    session: AsyncSession,
    message_id: int,
    conversation_id: int,
    rows: Sequence[AttachmentRow],
    snapshot: list[dict[str, Any]],
) -> None:
    """The message takes these files; it keeps what they were (`snapshot`) for its views."""
    await session.execute(
        text(
            "UPDATE messenger.attachments SET message_id = :m, conversation_id = :c "
            "WHERE id = ANY(:ids)"
        ),
        {"m": message_id, "c": conversation_id, "ids": [row.id for row in rows]},
    )
    await session.execute(
        text("UPDATE messenger.messages SET attachments = CAST(:a AS jsonb) WHERE id = :m"),
        {"m": message_id, "a": json.dumps(snapshot)},
    )


async def attachments_of(session: AsyncSession, message_ids: Sequence[int]) -> list[AttachmentRow]:
    rows = await session.execute(
        text(
            "SELECT id, contact_id, staff_id, message_id, file_name, content_type, bytes, "
            "storage_key FROM messenger.attachments WHERE message_id = ANY(:ids) ORDER BY id"
        ),
        {"ids": list(message_ids)},
    )
    return [AttachmentRow(**row) for row in rows.mappings()]


# --- summaries ---------------------------------------------------------------------------------

# One row per conversation in the shape of `ConversationSummary` (flat; the service nests it);
# the operator's lists select from it too.
# `unread`: the visitor's messages after the assignee last read the conversation.
SUMMARY_SQL = """
    SELECT c.id, c.status, c.assignee_assigned_at, c.assignee_opened_at, c.rating,
           c.created_at, c.updated_at,
           i.id AS inbox_id, i.name AS inbox_name,
           k.id AS contact_id, k.name AS contact_name, k.email AS contact_email,
           k.phone AS contact_phone,
           b.id AS branch_id, b.name AS branch_name,
           s.id AS assignee_id, s.display_name AS assignee_name,
           (SELECT count(*) FROM messenger.messages u
             WHERE u.conversation_id = c.id AND u.direction = 'in'
               AND (c.assignee_last_read_at IS NULL OR u.created_at > c.assignee_last_read_at)
           ) AS unread,
           last.body AS last_text, last.direction AS last_direction, last.created_at AS last_at
    FROM messenger.conversations c
    JOIN messenger.inboxes i ON i.id = c.inbox_id
    JOIN messenger.contacts k ON k.id = c.contact_id
    LEFT JOIN messenger.branches b ON b.id = c.branch_id
    LEFT JOIN messenger.staff s ON s.id = c.assignee_id
    LEFT JOIN LATERAL (
        SELECT m.body, m.direction, m.created_at FROM messenger.messages m
        WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1
    ) last ON true
"""


async def summary(session: AsyncSession, conversation_id: int) -> dict[str, Any] | None:
    row = (
        (await session.execute(text(SUMMARY_SQL + " WHERE c.id = :id"), {"id": conversation_id}))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def latest_inbound(session: AsyncSession, conversation_id: int) -> int | None:
    """The id of the visitor's newest message in the conversation."""
    found = await session.scalar(
        text(
            "SELECT max(id) FROM messenger.messages "
            "WHERE conversation_id = :id AND direction = 'in'"
        ),
        {"id": conversation_id},
    )
    return None if found is None else int(found)
