"""Clients: what Chatwoot's contact and 1C's counterparty last received (issue 6, clients slice).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clients", sa.Column("chatwoot_synced_digest", sa.Text(), nullable=True), schema="cons"
    )
    op.add_column(
        "clients", sa.Column("onec_synced_digest", sa.Text(), nullable=True), schema="cons"
    )


def downgrade() -> None:
    op.drop_column("clients", "onec_synced_digest", schema="cons")
    op.drop_column("clients", "chatwoot_synced_digest", schema="cons")
