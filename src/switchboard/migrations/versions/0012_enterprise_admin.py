"""Telephony: an enterprise administrator's password (scrypt), for the RetailCRM admin page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "enterprises",
        sa.Column("admin_password_hash", sa.Text(), nullable=True),
        schema="telephony",
    )


def downgrade() -> None:
    op.drop_column("enterprises", "admin_password_hash", schema="telephony")
