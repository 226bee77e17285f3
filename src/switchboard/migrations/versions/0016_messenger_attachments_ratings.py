"""Messenger: attachments, ratings on two scales (stars 1–5, NPS 0–10) with a comment, and the
administrators' messenger-wide preferences (the default branch).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.drop_constraint(op.f("ck_conversations_rating"), "conversations", schema="messenger")
    op.create_check_constraint(
        op.f("ck_conversations_rating"),
        "conversations",
        "rating BETWEEN 0 AND 10",
        schema="messenger",
    )
    op.add_column("conversations", sa.Column("rating_scale", sa.SmallInteger()), schema="messenger")
    op.add_column("conversations", sa.Column("rating_comment", sa.Text()), schema="messenger")
    op.add_column(
        "conversations",
        sa.Column("rated_at", sa.DateTime(timezone=True)),
        schema="messenger",
    )
    op.create_check_constraint(
        op.f("ck_conversations_rating_scale"),
        "conversations",
        "rating_scale IN (5, 10)",
        schema="messenger",
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint(
            "(contact_id IS NULL) <> (staff_id IS NULL)",
            name=op.f("ck_attachments_one_uploader"),
        ),
        sa.CheckConstraint("bytes >= 0", name=op.f("ck_attachments_bytes")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["messenger.contacts.id"],
            name=op.f("fk_attachments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["messenger.staff.id"],
            name=op.f("fk_attachments_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger.conversations.id"],
            name=op.f("fk_attachments_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messenger.messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
        schema="messenger",
    )
    op.create_index("ix_attachments_message", "attachments", ["message_id"], schema="messenger")
    op.create_index(
        "ix_attachments_conversation", "attachments", ["conversation_id"], schema="messenger"
    )
    op.create_table(
        "preferences",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_preferences")),
        schema="messenger",
    )


def downgrade() -> None:
    op.drop_table("preferences", schema="messenger")
    op.drop_index("ix_attachments_conversation", table_name="attachments", schema="messenger")
    op.drop_index("ix_attachments_message", table_name="attachments", schema="messenger")
    op.drop_table("attachments", schema="messenger")
    op.drop_constraint(op.f("ck_conversations_rating_scale"), "conversations", schema="messenger")
    for column in ("rated_at", "rating_comment", "rating_scale"):
        op.drop_column("conversations", column, schema="messenger")
    op.drop_constraint(op.f("ck_conversations_rating"), "conversations", schema="messenger")
    op.create_check_constraint(
        op.f("ck_conversations_rating"),
        "conversations",
        "rating BETWEEN 1 AND 5",
        schema="messenger",
    )
