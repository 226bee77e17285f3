"""Schema changes of the consultations booking slice (issue 6): idempotency reservations of
creates, the status history of consultations, and the software a consultation was booked for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cons", sa.Column("po_type_key", postgresql.UUID(), nullable=True), schema="cons")
    op.add_column(
        "cons", sa.Column("po_section_key", postgresql.UUID(), nullable=True), schema="cons"
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("cons_id", sa.Text(), nullable=True),
        sa.Column("client_id", postgresql.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cons_id"],
            ["cons.cons.cons_id"],
            name=op.f("fk_idempotency_keys_cons_id_cons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
        schema="sys",
    )
    op.create_index(
        "ix_idempotency_keys_created_at",
        "idempotency_keys",
        ["created_at"],
        unique=False,
        schema="sys",
    )
    op.create_table(
        "status_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("cons_id", sa.Text(), nullable=False),
        sa.Column("old_status", sa.Text(), nullable=True),
        sa.Column("new_status", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cons_id"],
            ["cons.cons.cons_id"],
            name=op.f("fk_status_history_cons_id_cons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
        schema="cons",
    )
    op.create_index(
        "ix_status_history_cons_id_changed_at",
        "status_history",
        ["cons_id", "changed_at"],
        unique=False,
        schema="cons",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_status_history_cons_id_changed_at", table_name="status_history", schema="cons"
    )
    op.drop_table("status_history", schema="cons")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys", schema="sys")
    op.drop_table("idempotency_keys", schema="sys")
    op.drop_column("cons", "po_section_key", schema="cons")
    op.drop_column("cons", "po_type_key", schema="cons")
