"""Messenger (issue 8, seed 004): branches, regions and their routing rules, inboxes, staff and
their sessions, contacts, conversations, messages, and the audit of assignments.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS messenger")
    op.create_table(
        "branches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branches")),
        sa.UniqueConstraint("code", name=op.f("uq_branches_code")),
        schema="messenger",
    )
    op.create_table(
        "regions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("code", name=op.f("uq_regions_code")),
        schema="messenger",
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("token_digest", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("region_id", sa.BigInteger(), nullable=True),
        sa.Column("ip_region_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ip_region_id"],
            ["messenger.regions.id"],
            name=op.f("fk_contacts_ip_region_id_regions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["messenger.regions.id"],
            name=op.f("fk_contacts_region_id_regions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_contacts_token_digest")),
        schema="messenger",
    )
    op.create_table(
        "inboxes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["messenger.branches.id"],
            name=op.f("fk_inboxes_branch_id_branches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboxes")),
        sa.UniqueConstraint("public_key", name=op.f("uq_inboxes_public_key")),
        schema="messenger",
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), server_default=sa.text("'operator'"), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=True),
        sa.Column("capacity", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column(
            "schedule",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default=sa.text("'offline'"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('operator', 'supervisor', 'admin')", name=op.f("ck_staff_role")
        ),
        sa.CheckConstraint(
            "status IN ('online', 'away', 'busy', 'offline')", name=op.f("ck_staff_status")
        ),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_staff_capacity")),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["messenger.branches.id"],
            name=op.f("fk_staff_branch_id_branches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("login", name=op.f("uq_staff_login")),
        schema="messenger",
    )
    op.create_index("ix_staff_branch", "staff", ["branch_id"], unique=False, schema="messenger")
    op.create_table(
        "conversations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_last_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("region_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'pending', 'resolved', 'closed')",
            name=op.f("ck_conversations_status"),
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_conversations_rating")),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["messenger.staff.id"],
            name=op.f("fk_conversations_assignee_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["messenger.branches.id"],
            name=op.f("fk_conversations_branch_id_branches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["messenger.contacts.id"],
            name=op.f("fk_conversations_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["messenger.inboxes.id"],
            name=op.f("fk_conversations_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["messenger.regions.id"],
            name=op.f("fk_conversations_region_id_regions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        schema="messenger",
    )
    op.create_index(
        "ix_conversations_active_assignee",
        "conversations",
        ["assignee_id"],
        unique=False,
        schema="messenger",
        postgresql_where=sa.text("status IN ('open', 'pending')"),
    )
    op.create_index(
        "ix_conversations_contact",
        "conversations",
        ["contact_id", "id"],
        unique=False,
        schema="messenger",
    )
    op.create_index(
        "ix_conversations_inbox",
        "conversations",
        ["inbox_id", "status", "id"],
        unique=False,
        schema="messenger",
    )
    op.create_table(
        "region_rules",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("region_id", sa.BigInteger(), nullable=False),
        sa.Column("branch_id", sa.BigInteger(), nullable=False),
        sa.Column("inbox_id", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["messenger.branches.id"],
            name=op.f("fk_region_rules_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["messenger.inboxes.id"],
            name=op.f("fk_region_rules_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["messenger.regions.id"],
            name=op.f("fk_region_rules_region_id_regions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_rules")),
        schema="messenger",
    )
    op.create_index(
        "ix_region_rules_region",
        "region_rules",
        ["region_id", "priority", "id"],
        unique=False,
        schema="messenger",
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("token_digest", sa.Text(), nullable=False),
        sa.Column("csrf_digest", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["messenger.staff.id"],
            name=op.f("fk_staff_sessions_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_staff_sessions_token_digest")),
        schema="messenger",
    )
    op.create_index(
        "ix_staff_sessions_expires",
        "staff_sessions",
        ["expires_at"],
        unique=False,
        schema="messenger",
    )
    op.create_index(
        "ix_staff_sessions_staff", "staff_sessions", ["staff_id"], unique=False, schema="messenger"
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("from_staff_id", sa.BigInteger(), nullable=True),
        sa.Column("to_staff_id", sa.BigInteger(), nullable=True),
        sa.Column("branch_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("branch_source", sa.Text(), nullable=True),
        sa.Column(
            "candidates",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("explanation", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("actor_staff_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "reason IN ('new', 'escalation', 'transfer_branch', 'transfer_manual', 'offline', 'no_operator', 'no_branch')",
            name=op.f("ck_assignments_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_staff_id"],
            ["messenger.staff.id"],
            name=op.f("fk_assignments_actor_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["messenger.branches.id"],
            name=op.f("fk_assignments_branch_id_branches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger.conversations.id"],
            name=op.f("fk_assignments_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_staff_id"],
            ["messenger.staff.id"],
            name=op.f("fk_assignments_from_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_staff_id"],
            ["messenger.staff.id"],
            name=op.f("fk_assignments_to_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        schema="messenger",
    )
    op.create_index(
        "ix_assignments_conversation",
        "assignments",
        ["conversation_id", "id"],
        unique=False,
        schema="messenger",
    )
    op.create_index(
        "ix_assignments_to_staff",
        "assignments",
        ["to_staff_id", "id"],
        unique=False,
        schema="messenger",
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("author_kind", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "author_kind <> 'staff' OR staff_id IS NOT NULL", name=op.f("ck_messages_staff_author")
        ),
        sa.CheckConstraint(
            "author_kind IN ('contact', 'staff', 'system')", name=op.f("ck_messages_author_kind")
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger.conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["messenger.staff.id"],
            name=op.f("fk_messages_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_messages_client_id"),
        schema="messenger",
    )
    op.create_index(
        "ix_messages_conversation",
        "messages",
        ["conversation_id", "id"],
        unique=False,
        schema="messenger",
    )


def downgrade() -> None:
    op.drop_index("ix_messages_conversation", table_name="messages", schema="messenger")
    op.drop_table("messages", schema="messenger")
    op.drop_index("ix_assignments_to_staff", table_name="assignments", schema="messenger")
    op.drop_index("ix_assignments_conversation", table_name="assignments", schema="messenger")
    op.drop_table("assignments", schema="messenger")
    op.drop_index("ix_staff_sessions_staff", table_name="staff_sessions", schema="messenger")
    op.drop_index("ix_staff_sessions_expires", table_name="staff_sessions", schema="messenger")
    op.drop_table("staff_sessions", schema="messenger")
    op.drop_index("ix_region_rules_region", table_name="region_rules", schema="messenger")
    op.drop_table("region_rules", schema="messenger")
    op.drop_index("ix_conversations_inbox", table_name="conversations", schema="messenger")
    op.drop_index("ix_conversations_contact", table_name="conversations", schema="messenger")
    op.drop_index(
        "ix_conversations_active_assignee",
        table_name="conversations",
        schema="messenger",
        postgresql_where=sa.text("status IN ('open', 'pending')"),
    )
    op.drop_table("conversations", schema="messenger")
    op.drop_index("ix_staff_branch", table_name="staff", schema="messenger")
    op.drop_table("staff", schema="messenger")
    op.drop_table("inboxes", schema="messenger")
    op.drop_table("contacts", schema="messenger")
    op.drop_table("regions", schema="messenger")
    op.drop_table("branches", schema="messenger")
    op.execute("DROP SCHEMA IF EXISTS messenger")
