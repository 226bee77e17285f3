"""Consultations webhooks slice (issue 6): chat messages from Chatwoot in `cons.q_and_a`.

A chat row has Chatwoot's message id and no 1C line number; a 1C row has a line number. The
check keeps every row one or the other.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "q_and_a", "line_number", existing_type=sa.Integer(), nullable=True, schema="cons"
    )
    op.add_column(
        "q_and_a", sa.Column("chatwoot_message_id", sa.BigInteger(), nullable=True), schema="cons"
    )
    op.add_column("q_and_a", sa.Column("sender_type", sa.Text(), nullable=True), schema="cons")
    op.add_column("q_and_a", sa.Column("message_type", sa.Text(), nullable=True), schema="cons")
    op.add_column("q_and_a", sa.Column("content", sa.Text(), nullable=True), schema="cons")
    op.add_column(
        "q_and_a",
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        schema="cons",
    )
    op.create_unique_constraint(
        op.f("uq_q_and_a_chatwoot_message_id"), "q_and_a", ["chatwoot_message_id"], schema="cons"
    )
    op.create_check_constraint(
        op.f("ck_q_and_a_line_or_message"),
        "q_and_a",
        "line_number IS NOT NULL OR chatwoot_message_id IS NOT NULL",
        schema="cons",
    )


def downgrade() -> None:
    # Chat rows have no line number; they go before the column becomes required again.
    op.execute("DELETE FROM cons.q_and_a WHERE line_number IS NULL")
    op.drop_constraint(op.f("ck_q_and_a_line_or_message"), "q_and_a", schema="cons", type_="check")
    op.drop_constraint(
        op.f("uq_q_and_a_chatwoot_message_id"), "q_and_a", schema="cons", type_="unique"
    )
    op.drop_column("q_and_a", "created_at", schema="cons")
    op.drop_column("q_and_a", "content", schema="cons")
    op.drop_column("q_and_a", "message_type", schema="cons")
    op.drop_column("q_and_a", "sender_type", schema="cons")
    op.drop_column("q_and_a", "chatwoot_message_id", schema="cons")
    op.alter_column(
        "q_and_a", "line_number", existing_type=sa.Integer(), nullable=False, schema="cons"
    )
