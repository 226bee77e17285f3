"""Initial schemas of seed 001: cons, dict, sys and log, with the bus's event table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SCHEMAS = ("cons", "dict", "sys", "log")


def upgrade() -> None:
    for schema in SCHEMAS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    op.create_table(
        "calls",
        sa.Column("period", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cons_key", sa.UUID(), nullable=False),
        sa.Column("manager", sa.UUID(), nullable=False),
        sa.Column("client_key", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("period", "cons_key", "manager", name=op.f("pk_calls")),
        schema="cons",
    )
    op.create_table(
        "clients",
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("client_id_hash", sa.Text(), nullable=True),
        sa.Column("is_parent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("company_name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("org_inn", sa.Text(), nullable=True),
        sa.Column("code_abonent", sa.Text(), nullable=True),
        sa.Column("partner", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("cl_ref_key", sa.UUID(), nullable=True),
        sa.Column("parent_key", sa.UUID(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("chatwoot_contact_id", sa.Integer(), nullable=True),
        sa.Column("chatwoot_pubsub_token", sa.Text(), nullable=True),
        sa.Column("subs_id", sa.Text(), nullable=True),
        sa.Column("subs_start", sa.Date(), nullable=True),
        sa.Column("subs_end", sa.Date(), nullable=True),
        sa.Column("tariff_id", sa.UUID(), nullable=True),
        sa.Column("tariffperiod_id", sa.UUID(), nullable=True),
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
            "(is_parent AND parent_id IS NULL) OR (NOT is_parent AND parent_id IS NOT NULL)",
            name=op.f("ck_clients_hierarchy"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["cons.clients.client_id"],
            name=op.f("fk_clients_parent_id_clients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
        sa.UniqueConstraint("chatwoot_contact_id", name=op.f("uq_clients_chatwoot_contact_id")),
        sa.UniqueConstraint("cl_ref_key", name=op.f("uq_clients_cl_ref_key")),
        sa.UniqueConstraint("client_id_hash", name=op.f("uq_clients_client_id_hash")),
        schema="cons",
    )
    op.create_index("ix_clients_parent_id", "clients", ["parent_id"], unique=False, schema="cons")
    op.create_index(
        "uq_clients_owner_code_abonent",
        "clients",
        ["code_abonent"],
        unique=True,
        schema="cons",
        postgresql_where=sa.text("is_parent AND code_abonent IS NOT NULL"),
    )
    op.create_index(
        "uq_clients_owner_org_inn",
        "clients",
        ["org_inn"],
        unique=True,
        schema="cons",
        postgresql_where=sa.text("is_parent AND org_inn IS NOT NULL"),
    )
    op.create_table(
        "cons_rating_answers",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("cons_key", sa.UUID(), nullable=False),
        sa.Column("client_key", sa.UUID(), nullable=True),
        sa.Column("manager_key", sa.UUID(), nullable=False),
        sa.Column("question_number", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("sent_to_base", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rating_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "rating BETWEEN 1 AND 5", name=op.f("ck_cons_rating_answers_rating_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cons_rating_answers")),
        sa.UniqueConstraint(
            "cons_key",
            "manager_key",
            "question_number",
            name=op.f("uq_cons_rating_answers_cons_key_manager_key_question_number"),
        ),
        schema="cons",
    )
    op.create_table(
        "cons_redate",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("cons_key", sa.UUID(), nullable=False),
        sa.Column("clients_key", sa.UUID(), nullable=True),
        sa.Column("manager_key", sa.UUID(), nullable=True),
        sa.Column("period", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cons_redate")),
        sa.UniqueConstraint(
            "cons_key",
            "clients_key",
            "manager_key",
            "period",
            name=op.f("uq_cons_redate_cons_key_clients_key_manager_key_period"),
            postgresql_nulls_not_distinct=True,
        ),
        schema="cons",
    )
    op.create_table(
        "queue_closing",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("manager_key", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("period", "manager_key", name=op.f("pk_queue_closing")),
        schema="cons",
    )
    op.create_table(
        "users",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("cl_ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("con_limit", sa.Integer(), nullable=True),
        sa.Column("start_hour", sa.Time(), nullable=True),
        sa.Column("end_hour", sa.Time(), nullable=True),
        sa.Column("ru", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("uz", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("invalid", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("service_account", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "consultation_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("chatwoot_user_id", sa.Integer(), nullable=True),
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
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_users")),
        sa.UniqueConstraint("chatwoot_user_id", name=op.f("uq_users_chatwoot_user_id")),
        sa.UniqueConstraint("cl_ref_key", name=op.f("uq_users_cl_ref_key")),
        schema="cons",
    )
    op.create_table(
        "users_skill",
        sa.Column("user_key", sa.UUID(), nullable=False),
        sa.Column("category_key", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("user_key", "category_key", name=op.f("pk_users_skill")),
        schema="cons",
    )
    op.create_table(
        "consultation_interference",
        sa.Column("ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_consultation_interference")),
        schema="dict",
    )
    op.create_table(
        "knowledge_base",
        sa.Column("po_type_key", sa.UUID(), nullable=True),
        sa.Column("po_section_key", sa.UUID(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("author_key", sa.UUID(), nullable=True),
        sa.Column("ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_knowledge_base")),
        schema="dict",
    )
    op.create_index(
        "ix_knowledge_base_po_type_key_po_section_key",
        "knowledge_base",
        ["po_type_key", "po_section_key"],
        unique=False,
        schema="dict",
    )
    op.create_table(
        "online_question",
        sa.Column("category_key", sa.UUID(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("language_key", sa.UUID(), nullable=True),
        sa.Column("useful_info", sa.Text(), nullable=True),
        sa.Column("ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_online_question")),
        schema="dict",
    )
    op.create_index(
        "ix_online_question_category_key",
        "online_question",
        ["category_key"],
        unique=False,
        schema="dict",
    )
    op.create_index(
        "ix_online_question_language", "online_question", ["language"], unique=False, schema="dict"
    )
    op.create_table(
        "online_question_cat",
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("language_key", sa.UUID(), nullable=True),
        sa.Column("ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_online_question_cat")),
        schema="dict",
    )
    op.create_index(
        "ix_online_question_cat_language",
        "online_question_cat",
        ["language"],
        unique=False,
        schema="dict",
    )
    op.create_table(
        "po_sections",
        sa.Column("owner_key", sa.UUID(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_po_sections")),
        schema="dict",
    )
    op.create_index(
        "ix_po_sections_owner_key", "po_sections", ["owner_key"], unique=False, schema="dict"
    )
    op.create_table(
        "po_types",
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("ref_key", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("deletion_mark", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_po_types")),
        schema="dict",
    )
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("notification_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("unique_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_log")),
        sa.UniqueConstraint("unique_hash", name=op.f("uq_notification_log_unique_hash")),
        schema="log",
    )
    op.create_table(
        "webhook_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=True),
        sa.Column("delivery_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_log")),
        schema="log",
    )
    op.create_index(
        "ix_webhook_log_source_created_at",
        "webhook_log",
        ["source", "created_at"],
        unique=False,
        schema="log",
    )
    op.create_table(
        "bus_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_events")),
        schema="sys",
    )
    op.create_index(
        "ix_bus_events_channel_id", "bus_events", ["channel", "id"], unique=False, schema="sys"
    )
    op.create_index(
        "ix_bus_events_created_at", "bus_events", ["created_at"], unique=False, schema="sys"
    )
    op.create_table(
        "db_migrations",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_db_migrations")),
        sa.UniqueConstraint("version", name=op.f("uq_db_migrations_version")),
        schema="sys",
    )
    op.create_table(
        "sync_state",
        sa.Column("entity_name", sa.Text(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("entity_name", name=op.f("pk_sync_state")),
        schema="sys",
    )
    op.create_table(
        "user_mapping",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("chatwoot_user_id", sa.Integer(), nullable=False),
        sa.Column("cl_manager_key", sa.UUID(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_mapping")),
        sa.UniqueConstraint("chatwoot_user_id", name=op.f("uq_user_mapping_chatwoot_user_id")),
        sa.UniqueConstraint("cl_manager_key", name=op.f("uq_user_mapping_cl_manager_key")),
        schema="sys",
    )
    op.create_table(
        "cons",
        sa.Column("cons_id", sa.Text(), nullable=False),
        sa.Column("chatwoot_conversation_id", sa.Integer(), nullable=True),
        sa.Column("chatwoot_source_id", sa.Text(), nullable=True),
        sa.Column("cl_ref_key", sa.UUID(), nullable=True),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("client_key", sa.UUID(), nullable=True),
        sa.Column("org_inn", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'new'"), nullable=False),
        sa.Column("consultation_type", sa.Text(), nullable=True),
        sa.Column("manager", sa.UUID(), nullable=True),
        sa.Column("author", sa.UUID(), nullable=True),
        sa.Column("create_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redate", sa.Date(), nullable=True),
        sa.Column("redate_time", sa.Time(), nullable=True),
        sa.Column("denied", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("con_rates", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("con_calls", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("con_blocks", sa.UUID(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("online_question_cat", sa.UUID(), nullable=True),
        sa.Column("online_question", sa.UUID(), nullable=True),
        sa.Column("importance", sa.Integer(), nullable=True),
        sa.Column("lang", sa.Text(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("custom_attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
            "consultation_type IS NULL OR consultation_type IN ('Техническая поддержка', 'Консультация по ведению учёта')",
            name=op.f("ck_cons_consultation_type"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending', 'resolved', 'closed', 'cancelled')",
            name=op.f("ck_cons_status"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["cons.clients.client_id"],
            name=op.f("fk_cons_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("cons_id", name=op.f("pk_cons")),
        sa.UniqueConstraint(
            "chatwoot_conversation_id", name=op.f("uq_cons_chatwoot_conversation_id")
        ),
        sa.UniqueConstraint("cl_ref_key", name=op.f("uq_cons_cl_ref_key")),
        schema="cons",
    )
    op.create_index("ix_cons_client_id", "cons", ["client_id"], unique=False, schema="cons")
    op.create_index(
        "ix_cons_manager_status", "cons", ["manager", "status"], unique=False, schema="cons"
    )
    op.create_index("ix_cons_start_date", "cons", ["start_date"], unique=False, schema="cons")
    op.create_table(
        "q_and_a",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("cons_id", sa.Text(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("po_type_key", sa.UUID(), nullable=True),
        sa.Column("po_section_key", sa.UUID(), nullable=True),
        sa.Column("interference_key", sa.UUID(), nullable=True),
        sa.Column("manager_help_key", sa.UUID(), nullable=True),
        sa.Column("repeat_request", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cons_id"],
            ["cons.cons.cons_id"],
            name=op.f("fk_q_and_a_cons_id_cons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_q_and_a")),
        sa.UniqueConstraint("cons_id", "line_number", name=op.f("uq_q_and_a_cons_id_line_number")),
        schema="cons",
    )


def downgrade() -> None:
    op.drop_table("q_and_a", schema="cons")
    op.drop_index("ix_cons_start_date", table_name="cons", schema="cons")
    op.drop_index("ix_cons_manager_status", table_name="cons", schema="cons")
    op.drop_index("ix_cons_client_id", table_name="cons", schema="cons")
    op.drop_table("cons", schema="cons")
    op.drop_table("user_mapping", schema="sys")
    op.drop_table("sync_state", schema="sys")
    op.drop_table("db_migrations", schema="sys")
    op.drop_index("ix_bus_events_created_at", table_name="bus_events", schema="sys")
    op.drop_index("ix_bus_events_channel_id", table_name="bus_events", schema="sys")
    op.drop_table("bus_events", schema="sys")
    op.drop_index("ix_webhook_log_source_created_at", table_name="webhook_log", schema="log")
    op.drop_table("webhook_log", schema="log")
    op.drop_table("notification_log", schema="log")
    op.drop_table("po_types", schema="dict")
    op.drop_index("ix_po_sections_owner_key", table_name="po_sections", schema="dict")
    op.drop_table("po_sections", schema="dict")
    op.drop_index(
        "ix_online_question_cat_language", table_name="online_question_cat", schema="dict"
    )
    op.drop_table("online_question_cat", schema="dict")
    op.drop_index("ix_online_question_language", table_name="online_question", schema="dict")
    op.drop_index("ix_online_question_category_key", table_name="online_question", schema="dict")
    op.drop_table("online_question", schema="dict")
    op.drop_index(
        "ix_knowledge_base_po_type_key_po_section_key", table_name="knowledge_base", schema="dict"
    )
    op.drop_table("knowledge_base", schema="dict")
    op.drop_table("consultation_interference", schema="dict")
    op.drop_table("users_skill", schema="cons")
    op.drop_table("users", schema="cons")
    op.drop_table("queue_closing", schema="cons")
    op.drop_table("cons_redate", schema="cons")
    op.drop_table("cons_rating_answers", schema="cons")
    op.drop_index(
        "uq_clients_owner_org_inn",
        table_name="clients",
        schema="cons",
        postgresql_where=sa.text("is_parent AND org_inn IS NOT NULL"),
    )
    op.drop_index(
        "uq_clients_owner_code_abonent",
        table_name="clients",
        schema="cons",
        postgresql_where=sa.text("is_parent AND code_abonent IS NOT NULL"),
    )
    op.drop_index("ix_clients_parent_id", table_name="clients", schema="cons")
    op.drop_table("clients", schema="cons")
    op.drop_table("calls", schema="cons")
    # `sys` also holds Alembic's own version table, so it stays.
    for schema in ("cons", "dict", "log"):
        op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
