"""The outbox of changes owed to Chatwoot and 1C, and the record of every failed attempt.

A change to an external system is written here in the same transaction as the change in our
database, so it can be neither lost (it is committed with the change) nor sent for a change that
rolled back. A worker (or the request, right after its commit) carries it out; failures are kept
in `log.external_failures` and retried with backoff until the peer takes the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base

TASK_STATUSES = ("pending", "done", "failed", "cancelled")


class OutboxTask(Base):
    """One change owed to an external system (`sys.outbox`).

    `order_key` keeps a consultation's changes to one system in order (a conversation is opened
    before a message is posted to it); `dedupe_key` makes a second request for the same change a
    no-op. `lease_until` marks a task being carried out right now (by a worker or by the request
    that created it); nobody else takes it before the lease ends.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed', 'cancelled')", name="status"),
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_order_key_id",
            "order_key",
            "id",
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index("ix_outbox_cons_id", "cons_id"),
        {"schema": "sys"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    #: The operation's registered name, e.g. `chatwoot.open_conversation`.
    operation: Mapped[str] = mapped_column(Text)
    #: `chatwoot` or `onec`: which peer the change goes to.
    target: Mapped[str] = mapped_column(Text)
    order_key: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(Text, unique=True)
    cons_id: Mapped[str | None] = mapped_column(
        Text, ForeignKey("cons.cons.cons_id", ondelete="CASCADE")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    done_at: Mapped[datetime | None]


class ExternalFailure(Base):
    """One failed attempt to carry out an outbox task (`log.external_failures`)."""

    __tablename__ = "external_failures"
    __table_args__ = (
        Index("ix_external_failures_task_id", "task_id"),
        Index("ix_external_failures_created_at", "created_at"),
        {"schema": "log"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    task_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sys.outbox.id", ondelete="CASCADE")
    )
    operation: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer)
    #: The class of our integration error: PeerUnavailable, PeerTimeout, PeerBusinessError, …
    error_kind: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    #: Whether another attempt will follow on its own (False: it needs a person).
    will_retry: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
