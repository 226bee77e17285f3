"""Webhook deliveries remember their valid signature: a replay under a new delivery id is one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_log", sa.Column("signature", sa.Text(), nullable=True), schema="log")
    op.create_index(
        "uq_webhook_log_source_signature",
        "webhook_log",
        ["source", "signature"],
        unique=True,
        schema="log",
        postgresql_where=sa.text("signature IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_webhook_log_source_signature", table_name="webhook_log", schema="log")
    op.drop_column("webhook_log", "signature", schema="log")
