"""Tables of the `messenger` schema (issue 8, seed 004).

An inbox is one chat widget (one website) with its settings; visitors are contacts, each chat is
a conversation of messages. Conversations are routed to a branch (by the visitor's region) and
within it to an operator (by load, round robin); every routing decision is a row of
`assignments` with the policy, the candidates considered and the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base, Timestamps

SCHEMA = "messenger"
STAFF_ROLES = ("operator", "supervisor", "admin")
STAFF_STATUSES = ("online", "away", "busy", "offline")
CONVERSATION_STATUSES = ("open", "pending", "resolved", "closed")
#: Conversations that occupy an operator (count against the capacity).
ACTIVE_STATUSES = ("open", "pending")
DIRECTIONS = ("in", "out")
AUTHOR_KINDS = ("contact", "staff", "system")
ASSIGNMENT_REASONS = (
    "new",
    "escalation",
    "transfer_branch",
    "transfer_manual",
    "offline",
    "no_operator",
    "no_branch",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _id() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=False), primary_key=True)


class Branch(Timestamps, Base):
    """A branch of the company whose operators answer chats (e.g. `ekb`)."""

    __tablename__ = "branches"
    __table_args__ = ({"schema": SCHEMA},)

    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)


class Region(Base):
    """A region visitors come from: `code` is ISO 3166 (`RU-SVE` a subdivision, `KZ` a country),
    as a MaxMind City database names it."""

    __tablename__ = "regions"
    __table_args__ = ({"schema": SCHEMA},)

    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)


class RegionRule(Base):
    """Visitors of `region` go to `branch`; the lowest `priority` wins (then the lowest id). A
    rule of an inbox comes before the rules of every inbox (`inbox_id` null) of equal priority."""

    __tablename__ = "region_rules"
    __table_args__ = (
        Index("ix_region_rules_region", "region_id", "priority", "id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    region_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.regions.id", ondelete="CASCADE")
    )
    branch_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.branches.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.inboxes.id", ondelete="CASCADE")
    )
    priority: Mapped[int] = mapped_column(Integer, server_default=text("100"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Inbox(Timestamps, Base):
    """One chat widget. `settings` (validated by `messenger.schemas.InboxSettings`): working
    hours (`schedule`: time zone, weekly hours, holidays), `offline` (the message out of hours),
    `rating`, `features` flags, `allowed_domains` (where the widget may run)."""

    __tablename__ = "inboxes"
    __table_args__ = ({"schema": SCHEMA},)

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(Text)
    #: The widget's public identifier (in the site's snippet; not a secret).
    public_key: Mapped[str] = mapped_column(Text, unique=True)
    #: A branch-bound inbox routes every chat to this branch; null: by the visitor's region.
    branch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.branches.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class Staff(Timestamps, Base):
    """An operator, supervisor or administrator of the messenger."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(_in("role", STAFF_ROLES), name="role"),
        CheckConstraint(_in("status", STAFF_STATUSES), name="status"),
        CheckConstraint("capacity >= 0", name="capacity"),
        Index("ix_staff_branch", "branch_id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    #: The login (an e-mail), stored lower-case.
    login: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    #: argon2id (argon2-cffi); null: cannot log in.
    password_hash: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, server_default=text("'operator'"))
    branch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.branches.id", ondelete="SET NULL")
    )
    #: Conversations (open or pending) the operator takes at most from routing.
    capacity: Mapped[int] = mapped_column(Integer, server_default=text("5"))
    #: Personal working hours (the format of an inbox's `schedule`); empty: always.
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'offline'"))
    last_seen_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class StaffSession(Base):
    """A staff member's login: the cookie's token and the CSRF token, kept as SHA-256 digests."""

    __tablename__ = "staff_sessions"
    __table_args__ = (
        Index("ix_staff_sessions_staff", "staff_id"),
        Index("ix_staff_sessions_expires", "expires_at"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    staff_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="CASCADE")
    )
    token_digest: Mapped[str] = mapped_column(Text, unique=True)
    csrf_digest: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class Contact(Base):
    """A visitor of a widget, known by the token their browser keeps (its digest here)."""

    __tablename__ = "contacts"
    __table_args__ = ({"schema": SCHEMA},)

    id: Mapped[int] = _id()
    token_digest: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    #: The region the visitor stated (a form); it wins over the one found by IP.
    region_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.regions.id", ondelete="SET NULL")
    )
    #: The region found from the visitor's IP address (GeoIP).
    ip_region_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.regions.id", ondelete="SET NULL")
    )
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Conversation(Base):
    """One chat of a contact in an inbox."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(_in("status", CONVERSATION_STATUSES), name="status"),
        # Stars are 1–5, a net promoter score 0–10 (`rating_scale` says which the visitor saw).
        CheckConstraint("rating BETWEEN 0 AND 10", name="rating"),
        CheckConstraint("rating_scale IN (5, 10)", name="rating_scale"),
        # An operator's load: their open and pending conversations.
        Index(
            "ix_conversations_active_assignee",
            "assignee_id",
            postgresql_where=text("status IN ('open', 'pending')"),
        ),
        Index("ix_conversations_contact", "contact_id", "id"),
        Index("ix_conversations_inbox", "inbox_id", "status", "id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.inboxes.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.contacts.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(Text, server_default=text("'open'"))
    branch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.branches.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="SET NULL")
    )
    #: When the current assignee got it: the escalation timer runs from here.
    assignee_assigned_at: Mapped[datetime | None]
    #: When the current assignee first opened it: no escalation by timeout after this.
    assignee_opened_at: Mapped[datetime | None]
    assignee_last_read_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    #: 5: stars 1–5; 10: a net promoter score 0–10 (the inbox's setting when it was rated).
    rating_scale: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]
    #: The region the conversation was routed by (the contact's, at its start).
    region_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.regions.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    closed_at: Mapped[datetime | None]


class Message(Base):
    """One message of a conversation. `client_id` is the sender's own id of it: a repeated send
    (a retry after a lost answer) is stored once."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("author_kind", AUTHOR_KINDS), name="author_kind"),
        CheckConstraint("author_kind <> 'staff' OR staff_id IS NOT NULL", name="staff_author"),
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_client_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(Text)
    author_kind: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text, server_default=text("''"))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    client_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class Assignment(Base):
    """Why a conversation went where it went (or why it waits): the audit of routing and of
    transfers. `candidates` lists every operator considered with their load and, for those
    passed over, why."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint(_in("reason", ASSIGNMENT_REASONS), name="reason"),
        Index("ix_assignments_conversation", "conversation_id", "id"),
        # The round robin: each operator's latest assignment.
        Index("ix_assignments_to_staff", "to_staff_id", "id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.conversations.id", ondelete="CASCADE")
    )
    from_staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="SET NULL")
    )
    to_staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="SET NULL")
    )
    branch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.branches.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text)
    #: The policy that decided, e.g. `least_loaded_round_robin`, `manual`.
    policy: Mapped[str] = mapped_column(Text)
    #: How the branch was found (`inbox`, `region_rule`, `default`, `transfer`) and the region.
    branch_source: Mapped[str | None] = mapped_column(Text)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    #: The decision in words, for a person reading the audit.
    explanation: Mapped[str] = mapped_column(Text, server_default=text("''"))
    #: Who made it (a transfer); null: routing itself.
    actor_staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class Attachment(Base):
    """A file a visitor or a staff member uploaded: kept in the messenger's storage under
    `storage_key`, its type found from its content. It belongs to its uploader until a message
    of theirs takes it (`message_id`, `conversation_id`)."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("(contact_id IS NULL) <> (staff_id IS NULL)", name="one_uploader"),
        CheckConstraint("bytes >= 0", name="bytes"),
        Index("ix_attachments_message", "message_id"),
        Index("ix_attachments_conversation", "conversation_id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = _id()
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.contacts.id", ondelete="CASCADE")
    )
    staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.staff.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(f"{SCHEMA}.messages.id", ondelete="CASCADE")
    )
    #: The name the uploader gave it (shown; never used as a path).
    file_name: Mapped[str] = mapped_column(Text)
    #: Found from the content (puremagic), not from the name or the browser's claim.
    content_type: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Preference(Base):
    """A messenger-wide setting an administrator changes in the admin pages (e.g.
    `default_branch`: the branch of visitors no region rule matches); it wins over the
    environment's default."""

    __tablename__ = "preferences"
    __table_args__ = ({"schema": SCHEMA},)

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
