"""Tables of the `log` schema: what came in from peers, and what we told people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base


class WebhookLog(Base):
    """Every inbound webhook, stored before it is processed (seed 001 `log.webhook_log`)."""

    __tablename__ = "webhook_log"
    __table_args__ = (
        Index("ix_webhook_log_source_created_at", "source", "created_at"),
        # A redelivery carries the same delivery id: stored once, processed once.
        Index(
            "uq_webhook_log_source_delivery_id",
            "source",
            "delivery_id",
            unique=True,
            postgresql_where=text("delivery_id IS NOT NULL"),
        ),
        # A signed delivery replayed under another delivery id is still the same delivery.
        Index(
            "uq_webhook_log_source_signature",
            "source",
            "signature",
            unique=True,
            postgresql_where=text("signature IS NOT NULL"),
        ),
        {"schema": "log"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    event: Mapped[str | None] = mapped_column(Text)
    delivery_id: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: The valid signature the delivery came with (the timestamp is inside it).
    signature: Mapped[str | None] = mapped_column(Text)
    #: Whether the signature checked out (None: no secret configured, nothing to check).
    signature_valid: Mapped[bool | None]
    processed_at: Mapped[datetime | None]
    #: Why processing failed or what it skipped, in words.
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class NotificationLog(Base):
    """One notification a person was (or is to be) sent; `unique_hash` keeps it from repeating."""

    __tablename__ = "notification_log"
    __table_args__ = {"schema": "log"}

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    notification_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    unique_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
