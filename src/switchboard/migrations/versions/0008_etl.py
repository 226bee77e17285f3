"""Schema changes of the consultations ETL slice (issue 6): a consultation's call attempts by
its document key (the calls ETL sums them into `con_calls`; the API lists them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_calls_cons_key_period",
        "calls",
        ["cons_key", "period"],
        unique=False,
        schema="cons",
    )


def downgrade() -> None:
    op.drop_index("ix_calls_cons_key_period", table_name="calls", schema="cons")
