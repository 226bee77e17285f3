"""The record behind the PostgreSQL and Redis buses.

`bus_channels` holds each channel's head: the sequence number of its newest event. Publishing
raises the head inside the publisher's transaction, which locks the channel's row until that
transaction ends, so a channel's publishers take turns and sequence order is commit order.
`bus_events` keeps the events themselves for a few hours, for subscribers that catch up and
clients that resume.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base


class BusChannel(Base):
    __tablename__ = "bus_channels"
    __table_args__ = {"schema": "sys"}

    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    head: Mapped[int] = mapped_column(BigInteger)


class BusEvent(Base):
    __tablename__ = "bus_events"
    __table_args__ = (
        Index("ix_bus_events_created_at", "created_at"),
        {"schema": "sys"},
    )

    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
