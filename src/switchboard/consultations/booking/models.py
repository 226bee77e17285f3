"""Tables of the booking part: idempotency reservations of creates and each consultation's
status history.

`sys.idempotency_keys` is a reservation, not a cache: the first request with a key inserts the
row in its own transaction, so a concurrent repeat waits on the unique key and then sees the
committed answer (or takes the key over when the first one rolled back). A repeat whose body
differs is refused instead of being run again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base


class IdempotencyKey(Base):
    """One `Idempotency-Key` of a create request and the consultation it made."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("ix_idempotency_keys_created_at", "created_at"),
        {"schema": "sys"},
    )

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    #: Which endpoint took the key (`consultations.create`, `consultations.simple`).
    operation: Mapped[str] = mapped_column(Text)
    #: sha256 of the operation and the canonical JSON of the body.
    request_hash: Mapped[str] = mapped_column(Text)
    #: Gone with the consultation (a create that was undone leaves the key free again).
    cons_id: Mapped[str | None] = mapped_column(
        Text, ForeignKey("cons.cons.cons_id", ondelete="CASCADE")
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class StatusChange(Base):
    """A consultation's status moved (`cons.status_history`), whoever moved it."""

    __tablename__ = "status_history"
    __table_args__ = (
        Index("ix_status_history_cons_id_changed_at", "cons_id", "changed_at"),
        {"schema": "cons"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    cons_id: Mapped[str] = mapped_column(Text, ForeignKey("cons.cons.cons_id", ondelete="CASCADE"))
    #: None for the first status of a new consultation.
    old_status: Mapped[str | None] = mapped_column(Text)
    new_status: Mapped[str] = mapped_column(Text)
    #: Who changed it: booking, api, chatwoot, onec, etl …
    source: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
