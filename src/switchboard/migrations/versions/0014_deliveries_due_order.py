"""Telephony: due deliveries indexed in the order they are claimed (time, then id), so a claim
reads a few rows however long the backlog is.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _due(columns: list[str]) -> None:
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        columns,
        unique=False,
        schema="telephony",
        postgresql_where=sa.text("status = 'pending'"),
    )


def upgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries", schema="telephony")
    _due(["next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries", schema="telephony")
    _due(["next_attempt_at"])
