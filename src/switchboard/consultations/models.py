"""Tables of the `cons` schema (seed 001) and the manager mapping in `sys`.

Keys that come from 1C are GUIDs and stored as `uuid`, never as free text. Every natural key the
code looks up by (`cl_ref_key`, an owner's `code_abonent` and INN, Chatwoot ids) is unique in the
database, so a lookup can never find two rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base, Timestamps

CONSULTATION_STATUSES = ("new", "open", "pending", "resolved", "closed", "cancelled")
TERMINAL_STATUSES = ("resolved", "closed", "cancelled")
TECH_SUPPORT = "Техническая поддержка"
ACCOUNTING = "Консультация по ведению учёта"
CONSULTATION_TYPES = (TECH_SUPPORT, ACCOUNTING)


def _in(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"{column} IN ({listed})"


class Client(Timestamps, Base):
    """A customer: an owner of a subscription (`is_parent`) or one of the owner's users."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(
            "(is_parent AND parent_id IS NULL) OR (NOT is_parent AND parent_id IS NOT NULL)",
            name="hierarchy",
        ),
        Index(
            "uq_clients_owner_code_abonent",
            "code_abonent",
            unique=True,
            postgresql_where=text("is_parent AND code_abonent IS NOT NULL"),
        ),
        Index(
            "uq_clients_owner_org_inn",
            "org_inn",
            unique=True,
            postgresql_where=text("is_parent AND org_inn IS NOT NULL"),
        ),
        Index("ix_clients_parent_id", "parent_id"),
        {"schema": "cons"},
    )

    client_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    client_id_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    is_parent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID, ForeignKey("cons.clients.client_id", ondelete="RESTRICT")
    )
    name: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    company_name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone_number: Mapped[str | None] = mapped_column(Text)
    org_inn: Mapped[str | None] = mapped_column(Text)
    code_abonent: Mapped[str | None] = mapped_column(Text)
    partner: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    cl_ref_key: Mapped[uuid.UUID | None] = mapped_column(UUID, unique=True)
    parent_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    source_id: Mapped[str | None] = mapped_column(Text)
    chatwoot_contact_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    chatwoot_pubsub_token: Mapped[str | None] = mapped_column(Text)
    subs_id: Mapped[str | None] = mapped_column(Text)
    subs_start: Mapped[date | None] = mapped_column(Date)
    subs_end: Mapped[date | None] = mapped_column(Date)
    tariff_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    tariffperiod_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    #: Where the client came from first: SITE, TELEGRAM or CALL_CENTER.
    source: Mapped[str | None] = mapped_column(Text)
    #: The Telegram user behind a Mini App client (verified `initData`).
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    #: Digests of what Chatwoot's contact and 1C's counterparty last received from us: a
    #: change is queued for the outbox only when the client's data differs from them.
    chatwoot_synced_digest: Mapped[str | None] = mapped_column(Text)
    onec_synced_digest: Mapped[str | None] = mapped_column(Text)


class Consultation(Timestamps, Base):
    """A consultation. `cons_id` is assigned once at insert and never changes; the Chatwoot
    conversation and the 1C document are linked by their own unique columns."""

    __tablename__ = "cons"
    __table_args__ = (
        CheckConstraint(_in("status", CONSULTATION_STATUSES), name="status"),
        CheckConstraint(
            "consultation_type IS NULL OR " + _in("consultation_type", CONSULTATION_TYPES),
            name="consultation_type",
        ),
        CheckConstraint(
            "source IS NULL OR source IN ('SITE', 'TELEGRAM', 'CALL_CENTER', 'ONEC')",
            name="source",
        ),
        Index("ix_cons_client_id", "client_id"),
        Index("ix_cons_manager_status", "manager", "status"),
        Index("ix_cons_start_date", "start_date"),
        # The queue of a manager (seed 001): open/pending and not denied.
        Index(
            "ix_cons_queue",
            "manager",
            "create_date",
            postgresql_where=text("status IN ('open', 'pending') AND NOT denied"),
        ),
        # The 30-day average closing time of a manager.
        Index(
            "ix_cons_closed",
            "manager",
            "end_date",
            postgresql_where=text("status IN ('resolved', 'closed') AND NOT denied"),
        ),
        # The daily limit: an owner's consultations on one day.
        Index("ix_cons_client_key_start_date", "client_key", "start_date"),
        {"schema": "cons"},
    )

    cons_id: Mapped[str] = mapped_column(Text, primary_key=True)
    chatwoot_conversation_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    chatwoot_source_id: Mapped[str | None] = mapped_column(Text)
    cl_ref_key: Mapped[uuid.UUID | None] = mapped_column(UUID, unique=True)
    number: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID, ForeignKey("cons.clients.client_id", ondelete="SET NULL")
    )
    client_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    org_inn: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'new'"))
    consultation_type: Mapped[str | None] = mapped_column(Text)
    manager: Mapped[uuid.UUID | None] = mapped_column(UUID)
    author: Mapped[uuid.UUID | None] = mapped_column(UUID)
    create_date: Mapped[datetime | None]
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    redate: Mapped[date | None] = mapped_column(Date)
    redate_time: Mapped[time | None] = mapped_column(Time)
    denied: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    con_rates: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    con_calls: Mapped[list[Any] | None] = mapped_column(JSONB)
    con_blocks: Mapped[uuid.UUID | None] = mapped_column(UUID)
    source: Mapped[str | None] = mapped_column(Text)
    online_question_cat: Mapped[uuid.UUID | None] = mapped_column(UUID)
    online_question: Mapped[uuid.UUID | None] = mapped_column(UUID)
    #: The kind of software and its section the client picked when booking (dict keys).
    po_type_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    po_section_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    importance: Mapped[int | None] = mapped_column(Integer)
    lang: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[Any] | None] = mapped_column(JSONB)
    custom_attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Manager(Timestamps, Base):
    """A consultant (seed 001 `cons.users`), loaded from 1C `Catalog_Пользователи`."""

    __tablename__ = "users"
    __table_args__ = {"schema": "cons"}

    account_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    cl_ref_key: Mapped[uuid.UUID] = mapped_column(UUID, unique=True)
    code: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    con_limit: Mapped[int | None] = mapped_column(Integer)
    start_hour: Mapped[time | None] = mapped_column(Time)
    end_hour: Mapped[time | None] = mapped_column(Time)
    ru: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    uz: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    deletion_mark: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    invalid: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    service_account: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    consultation_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    chatwoot_user_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class ManagerSkill(Base):
    """A question category a manager can consult on; no rows means 'universal'."""

    __tablename__ = "users_skill"
    __table_args__ = {"schema": "cons"}

    user_key: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    category_key: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)


class Redate(Base):
    """A move of a consultation to another date (1C `РегистрацияПереносаКонсультации`)."""

    __tablename__ = "cons_redate"
    __table_args__ = (
        UniqueConstraint(
            "cons_key", "clients_key", "manager_key", "period", postgresql_nulls_not_distinct=True
        ),
        {"schema": "cons"},
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    cons_key: Mapped[uuid.UUID] = mapped_column(UUID)
    clients_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    manager_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    period: Mapped[datetime]
    old_date: Mapped[datetime | None]
    new_date: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class RatingAnswer(Base):
    """One answer of a client's rating (1C `ОценкаКонсультацийПоЗаявкам`)."""

    __tablename__ = "cons_rating_answers"
    __table_args__ = (
        UniqueConstraint("cons_key", "manager_key", "question_number"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        {"schema": "cons"},
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    cons_key: Mapped[uuid.UUID] = mapped_column(UUID)
    client_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    manager_key: Mapped[uuid.UUID] = mapped_column(UUID)
    question_number: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(Integer)
    question: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    sent_to_base: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    rating_date: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Call(Base):
    """A manager's attempt to call the client (1C `РегистрацияДозвона`)."""

    __tablename__ = "calls"
    __table_args__ = (
        # A consultation's calls (the API's list, the ETL's `con_calls`); the key leads by period.
        Index("ix_calls_cons_key_period", "cons_key", "period"),
        {"schema": "cons"},
    )

    period: Mapped[datetime] = mapped_column(primary_key=True)
    cons_key: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    manager: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class QuestionAnswer(Base):
    """A question asked and answered during a consultation (1C tabular sections, by
    `line_number`), or a chat message of its Chatwoot conversation (by `chatwoot_message_id`,
    with no line number: an ETL rebuilding the 1C lines leaves these rows alone)."""

    __tablename__ = "q_and_a"
    __table_args__ = (
        UniqueConstraint("cons_id", "line_number"),
        CheckConstraint(
            "line_number IS NOT NULL OR chatwoot_message_id IS NOT NULL", name="line_or_message"
        ),
        {"schema": "cons"},
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    cons_id: Mapped[str] = mapped_column(Text, ForeignKey("cons.cons.cons_id", ondelete="CASCADE"))
    line_number: Mapped[int | None] = mapped_column(Integer)
    po_type_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    po_section_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    interference_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    manager_help_key: Mapped[uuid.UUID | None] = mapped_column(UUID)
    repeat_request: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    #: Chat rows (from the `message_created` webhook): Chatwoot's message id, who wrote it
    #: ("contact", "user", "agent_bot"), incoming/outgoing/template, the text and when.
    chatwoot_message_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    sender_type: Mapped[str | None] = mapped_column(Text)
    message_type: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class QueueClosing(Base):
    """A manager's queue closed for one day (1C `ЗакрытиеОчередиНаКонсультанта`)."""

    __tablename__ = "queue_closing"
    __table_args__ = {"schema": "cons"}

    period: Mapped[date] = mapped_column(Date, primary_key=True)
    manager_key: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ManagerMapping(Timestamps, Base):
    """Which Chatwoot agent is which 1C manager (seed 001 `sys.user_mapping`)."""

    __tablename__ = "user_mapping"
    __table_args__ = {"schema": "sys"}

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    chatwoot_user_id: Mapped[int] = mapped_column(Integer, unique=True)
    cl_manager_key: Mapped[uuid.UUID] = mapped_column(UUID, unique=True)
