"""The event log behind the PostgreSQL bus: NOTIFY wakes listeners, this table lets them resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base


class BusEvent(Base):
    __tablename__ = "bus_events"
    __table_args__ = (
        Index("ix_bus_events_channel_id", "channel", "id"),
        Index("ix_bus_events_created_at", "created_at"),
        {"schema": "sys"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
