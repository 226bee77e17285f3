"""Tables of the `sys` schema that belong to the platform itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db.base import Base


class DbMigration(Base):
    """One row per applied Alembic revision: a readable history beside alembic_version."""

    __tablename__ = "db_migrations"
    __table_args__ = {"schema": "sys"}

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    version: Mapped[str] = mapped_column(Text, unique=True)
    applied_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SyncState(Base):
    """The cursor of each incremental ETL job (the latest change it has fully processed)."""

    __tablename__ = "sync_state"
    __table_args__ = {"schema": "sys"}

    entity_name: Mapped[str] = mapped_column(Text, primary_key=True)
    last_synced_at: Mapped[datetime | None]
    #: A second cursor part for registers ordered by (moment, key): the last key at that moment.
    last_synced_key: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class EtlRun(Base):
    """One run of an ETL job (queued or from the command line): when, how it ended, what it did."""

    __tablename__ = "etl_runs"
    __table_args__ = (
        Index("ix_etl_runs_job_started_at", "job", "started_at"),
        {"schema": "sys"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job: Mapped[str] = mapped_column(Text)
    #: running | ok | failed | skipped | interrupted (killed before it could say)
    status: Mapped[str] = mapped_column(Text, server_default=text("'running'"))
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
    rows: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
