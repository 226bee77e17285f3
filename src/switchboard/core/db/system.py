"""Tables of the `sys` schema that belong to the platform itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Identity, Text, func
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
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
