"""Tables of the `telephony` schema (seed 003).

An enterprise is a customer of the platform with its own PBX: the PBX authenticates its call
events with the enterprise's token (stored only as a SHA-256 digest), and each CRM integration
keeps its settings in `integrations_config` with API keys encrypted (`core/crypto.py`). Every
event the PBX sends is stored before it is answered; what CRMs and Telegram are owed is a row of
`deliveries`, carried out in order per call and never lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base, Timestamps

EVENT_TYPES = ("start", "dial", "bridge", "hangup", "download")
DELIVERY_STATUSES = ("pending", "done", "failed", "cancelled")
LOG_STATUSES = ("success", "error")
CALL_RESULTS = ("answered", "missed", "busy")
RECORD_STATUSES = ("pending", "stored", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Enterprise(Timestamps, Base):
    """A customer of the platform with its PBX (seed 003's `enterprises`)."""

    __tablename__ = "enterprises"
    __table_args__ = ({"schema": "telephony"},)

    number: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    #: SHA-256 (hex) of the token the PBX sends as `Token`: never stored in clear.
    token_digest: Mapped[str] = mapped_column(Text, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    #: The PBX's local time zone (its timestamps are naive local times).
    time_zone: Mapped[str] = mapped_column(Text, server_default=text("'Europe/Minsk'"))
    #: Per integration (`retailcrm`, `telegram` for call notifications, …): its settings, with
    #: `enabled`; secrets as `*_encrypted` values.
    integrations_config: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    #: The enterprise administrator's password for the admin pages (scrypt; None: no login,
    #: only the one-click link from RetailCRM).
    admin_password_hash: Mapped[str | None] = mapped_column(Text)
    #: Asterisk Manager Interface of the PBX (click-to-call); the secret encrypted.
    ami: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class CallEvent(Base):
    """One event as the PBX sent it. A repeated delivery of the same body is stored once; two
    different events of one type (a transfer's second dial) are two rows."""

    __tablename__ = "call_events"
    __table_args__ = (
        CheckConstraint(_in("event_type", EVENT_TYPES), name="event_type"),
        UniqueConstraint("enterprise_number", "body_digest", name="uq_call_events_body"),
        Index("ix_call_events_call", "enterprise_number", "unique_id", "id"),
        Index(
            "ix_call_events_undispatched",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
        {"schema": "telephony"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_number: Mapped[str] = mapped_column(Text)
    unique_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    raw_data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: `live` (the PBX), `download` (recovered later), `synthetic` (made up by the gateway).
    data_source: Mapped[str] = mapped_column(Text, server_default=text("'live'"))
    #: SHA-256 of the event's canonical body: what makes a redelivery the same event.
    body_digest: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    #: When the dispatcher turned the event into deliveries (NULL: not yet).
    dispatched_at: Mapped[datetime | None]


class InternalPhone(Base):
    """An internal number (extension) of an enterprise and who uses it."""

    __tablename__ = "user_internal_phones"
    __table_args__ = (
        UniqueConstraint("enterprise_number", "phone_number", name="uq_internal_phone"),
        {"schema": "telephony"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_number: Mapped[str] = mapped_column(Text)
    phone_number: Mapped[str] = mapped_column(Text)
    user_name: Mapped[str | None] = mapped_column(Text)


class Call(Timestamps, Base):
    """A call as the events so far tell it (one row per call)."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("enterprise_number", "unique_id", name="uq_calls_call"),
        CheckConstraint(f"result IS NULL OR {_in('result', CALL_RESULTS)}", name="result"),
        CheckConstraint(
            f"record_status IS NULL OR {_in('record_status', RECORD_STATUSES)}",
            name="record_status",
        ),
        Index("ix_calls_recent", "enterprise_number", "started_at"),
        {"schema": "telephony"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_number: Mapped[str] = mapped_column(Text)
    unique_id: Mapped[str] = mapped_column(Text)
    #: `in`, `out` or `internal` (CallType 0, 1, 2).
    direction: Mapped[str | None] = mapped_column(Text)
    #: The customer's number in E.164 (`+…`), when the call has one.
    phone: Mapped[str | None] = mapped_column(Text)
    trunk: Mapped[str | None] = mapped_column(Text)
    #: The internal numbers that rang, in order, and the one that answered.
    extensions: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    answered_by: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    #: Seconds of conversation (0 when not answered) and of the whole call.
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    total_seconds: Mapped[int | None] = mapped_column(Integer)
    #: The recording's public id (its signed `recordUrl`) and its key in the storage.
    record_id: Mapped[uuid.UUID | None] = mapped_column(UUID, unique=True)
    record_path: Mapped[str | None] = mapped_column(Text)
    #: Where the PBX serves it (`RecordUrl` of the hangup or of a `download` event).
    record_source: Mapped[str | None] = mapped_column(Text)
    #: pending (to fetch) → stored, or failed (the PBX refused it; `record_error` says why).
    record_status: Mapped[str | None] = mapped_column(Text)
    record_type: Mapped[str | None] = mapped_column(Text)
    record_bytes: Mapped[int | None] = mapped_column(BigInteger)
    record_error: Mapped[str | None] = mapped_column(Text)
    record_stored_at: Mapped[datetime | None]


class Delivery(Base):
    """A change owed to a CRM or to Telegram about one call. Unique per (enterprise,
    integration, call, kind): the same pop-up or upload is never made twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        UniqueConstraint(
            "enterprise_number", "integration", "unique_id", "kind", name="uq_deliveries_once"
        ),
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_deliveries_order", "order_key", "id"),
        {"schema": "telephony"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_number: Mapped[str] = mapped_column(Text)
    integration: Mapped[str] = mapped_column(Text)
    unique_id: Mapped[str] = mapped_column(Text)
    #: What is owed: `call_event:in`, `call_event:hangup`, `calls_upload`, `notify`, …
    kind: Mapped[str] = mapped_column(Text)
    #: Deliveries of one key are carried out in id order (one call, one integration).
    order_key: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    done_at: Mapped[datetime | None]


class IntegrationLog(Base):
    """Every call to a CRM (and every admin action towards it): what was sent and answered."""

    __tablename__ = "integration_logs"
    __table_args__ = (
        CheckConstraint(_in("status", LOG_STATUSES), name="status"),
        Index("ix_integration_logs_recent", "enterprise_number", "created_at"),
        {"schema": "telephony"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    enterprise_number: Mapped[str] = mapped_column(Text)
    integration_type: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    call_unique_id: Mapped[str | None] = mapped_column(Text)
    request_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    response_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
