"""Conversations and messages as the APIs and the events show them, and the fan-out of a
conversation's changes (`conversation.changed`) to everyone who watches it.

Routing imports this module (a new assignee must hear of the chat), so it imports nothing of
routing or of the services above it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db.base import utcnow
from switchboard.core.realtime import EventBus
from switchboard.messenger import formatting
from switchboard.messenger.attachments.schemas import AttachmentView
from switchboard.messenger.conversations import events, repository
from switchboard.messenger.conversations.repository import ConversationRow, MessageRow
from switchboard.messenger.conversations.schemas import (
    ConversationSummary,
    ConversationView,
    MessageView,
)

#: Changes the visitor's widget hears of (the rest is the staff's business).
VISITOR_CHANGES = frozenset({"resolved", "closed", "reopened", "rated"})


class AttachmentLinks(Protocol):
    """What gives a message's files their signed links: the process's attachment store
    (`runtime.extension(Attachments)` of `messenger.attachments`)."""

    def views(self, items: Iterable[Mapping[str, Any]], now: datetime) -> Sequence[BaseModel]:
        """Views of files (the snapshots messages keep) with fresh signed links."""
        ...


def attachment_views(stored: list[dict[str, Any]]) -> list[AttachmentView]:
    """What a message took (its snapshot of each file), without links (`message_view` adds
    signed ones when it is given the process's `Attachments`)."""
    return [
        AttachmentView(
            id=int(item["id"]),
            name=str(item.get("name") or ""),
            content_type=str(item.get("content_type") or "application/octet-stream"),
            bytes=int(item.get("bytes") or 0),
            url=item.get("url"),
            is_image=str(item.get("content_type") or "").startswith("image/"),
        )
        for item in stored
    ]


def message_view(
    row: MessageRow, links: AttachmentLinks | None = None, *, now: datetime | None = None
) -> MessageView:
    """A stored message as both APIs and `message.created` show it: the text as typed, its safe
    HTML, the author's name, its files (with fresh signed links when `links` is given:
    `runtime.extension(Attachments)`), the delivery and read marks."""
    files = (
        [
            AttachmentView.model_validate(view.model_dump())
            for view in links.views(row.attachments, now or utcnow())
        ]
        if links is not None and row.attachments
        else attachment_views(row.attachments)
    )
    return MessageView(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=row.direction,
        author_kind=row.author_kind,
        author_name=row.author_name,
        text=row.body,
        html=formatting.render(row.body),
        attachments=files,
        client_id=row.client_id,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
    )


def conversation_view(row: ConversationRow | None) -> ConversationView | None:
    """The visitor's view of a conversation: its id, status and rating."""
    if row is None:
        return None
    return ConversationView.model_validate(
        {"id": row.id, "status": row.status, "rating": row.rating}
    )


def _named(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    found = row.get(f"{prefix}_id")
    return None if found is None else {"id": found, "name": row.get(f"{prefix}_name")}


def summary_of(row: dict[str, Any]) -> ConversationSummary:
    """A row of `repository.summary` as a `ConversationSummary`."""
    last = None
    if row["last_at"] is not None:
        last = {"text": row["last_text"], "direction": row["last_direction"], "at": row["last_at"]}
    return ConversationSummary.model_validate(
        {
            "id": row["id"],
            "status": row["status"],
            "inbox": _named(row, "inbox"),
            "contact": {
                "id": row["contact_id"],
                "name": row["contact_name"],
                "email": row["contact_email"],
                "phone": row["contact_phone"],
            },
            "branch": _named(row, "branch"),
            "assignee": _named(row, "assignee"),
            "unread": row["unread"],
            "last_message": last,
            "assignee_assigned_at": row["assignee_assigned_at"],
            "assignee_opened_at": row["assignee_opened_at"],
            "rating": row["rating"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )


async def conversation_summary(
    session: AsyncSession, conversation_id: int
) -> ConversationSummary | None:
    """The conversation as staff lists and events show it (with its unread count); None if
    there is no such conversation."""
    row = await repository.summary(session, conversation_id)
    return None if row is None else summary_of(row)


async def changed(
    session: AsyncSession,
    bus: EventBus,
    conversation_id: int,
    change: str,
    *,
    also_staff: tuple[int | None, ...] = (),
) -> ConversationSummary | None:
    """Queue `conversation.changed` for the conversation's assignee (and `also_staff`, e.g. the
    one it was just taken from) and supervision, with its summary as it is now; status changes
    and ratings also reach the visitor (their view only: id, status, rating)."""
    summary = await conversation_summary(session, conversation_id)
    if summary is None:
        return None
    assignee = summary.assignee.id if summary.assignee else None
    staff = events.channels_of(None, (assignee, *also_staff))
    events.queue(
        session,
        bus,
        events.ConversationChanged(
            conversation_id=conversation_id,
            change=change,
            conversation=summary.model_dump(mode="json"),
        ),
        staff,
    )
    if change in VISITOR_CHANGES:
        events.queue(
            session,
            bus,
            events.ConversationChanged(
                conversation_id=conversation_id,
                change=change,
                conversation={
                    "id": summary.id,
                    "status": summary.status,
                    "rating": summary.rating,
                },
            ),
            [events.visitor_channel(summary.contact.id)],
        )
    return summary
