"""consultations_outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 04:24:25.745157
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "etl_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'running'"), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_etl_runs")),
        schema="sys",
    )
    op.create_index(
        "ix_etl_runs_job_started_at", "etl_runs", ["job", "started_at"], unique=False, schema="sys"
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("order_key", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.Text(), nullable=True),
        sa.Column("cons_id", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed', 'cancelled')", name=op.f("ck_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["cons_id"],
            ["cons.cons.cons_id"],
            name=op.f("fk_outbox_cons_id_cons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
        schema="sys",
    )
    op.create_index("ix_outbox_cons_id", "outbox", ["cons_id"], unique=False, schema="sys")
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        schema="sys",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_order_key_id",
        "outbox",
        ["order_key", "id"],
        unique=False,
        schema="sys",
        postgresql_where=sa.text("status IN ('pending', 'failed')"),
    )
    op.create_table(
        "external_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error_kind", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("will_retry", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["sys.outbox.id"],
            name=op.f("fk_external_failures_task_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_failures")),
        schema="log",
    )
    op.create_index(
        "ix_external_failures_created_at",
        "external_failures",
        ["created_at"],
        unique=False,
        schema="log",
    )
    op.create_index(
        "ix_external_failures_task_id", "external_failures", ["task_id"], unique=False, schema="log"
    )
    op.add_column("clients", sa.Column("source", sa.Text(), nullable=True), schema="cons")
    op.add_column(
        "clients", sa.Column("telegram_user_id", sa.BigInteger(), nullable=True), schema="cons"
    )
    op.create_unique_constraint(
        op.f("uq_clients_telegram_user_id"), "clients", ["telegram_user_id"], schema="cons"
    )
    op.create_index(
        "ix_cons_client_key_start_date",
        "cons",
        ["client_key", "start_date"],
        unique=False,
        schema="cons",
    )
    op.create_index(
        "ix_cons_closed",
        "cons",
        ["manager", "end_date"],
        unique=False,
        schema="cons",
        postgresql_where=sa.text("status IN ('resolved', 'closed') AND NOT denied"),
    )
    op.create_index(
        "ix_cons_queue",
        "cons",
        ["manager", "create_date"],
        unique=False,
        schema="cons",
        postgresql_where=sa.text("status IN ('open', 'pending') AND NOT denied"),
    )
    op.add_column(
        "webhook_log", sa.Column("signature_valid", sa.Boolean(), nullable=True), schema="log"
    )
    op.add_column(
        "webhook_log",
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        schema="log",
    )
    op.add_column("webhook_log", sa.Column("outcome", sa.Text(), nullable=True), schema="log")
    op.create_index(
        "uq_webhook_log_source_delivery_id",
        "webhook_log",
        ["source", "delivery_id"],
        unique=True,
        schema="log",
        postgresql_where=sa.text("delivery_id IS NOT NULL"),
    )
    op.add_column(
        "sync_state", sa.Column("last_synced_key", sa.Text(), nullable=True), schema="sys"
    )
    op.create_check_constraint(
        "source",
        "cons",
        "source IS NULL OR source IN ('SITE', 'TELEGRAM', 'CALL_CENTER', 'ONEC')",
        schema="cons",
    )


def downgrade() -> None:
    op.drop_constraint("source", "cons", schema="cons", type_="check")
    op.drop_column("sync_state", "last_synced_key", schema="sys")
    op.drop_index(
        "uq_webhook_log_source_delivery_id",
        table_name="webhook_log",
        schema="log",
        postgresql_where=sa.text("delivery_id IS NOT NULL"),
    )
    op.drop_column("webhook_log", "outcome", schema="log")
    op.drop_column("webhook_log", "processed_at", schema="log")
    op.drop_column("webhook_log", "signature_valid", schema="log")
    op.drop_index(
        "ix_cons_queue",
        table_name="cons",
        schema="cons",
        postgresql_where=sa.text("status IN ('open', 'pending') AND NOT denied"),
    )
    op.drop_index(
        "ix_cons_closed",
        table_name="cons",
        schema="cons",
        postgresql_where=sa.text("status IN ('resolved', 'closed') AND NOT denied"),
    )
    op.drop_index("ix_cons_client_key_start_date", table_name="cons", schema="cons")
    op.drop_constraint(
        op.f("uq_clients_telegram_user_id"), "clients", schema="cons", type_="unique"
    )
    op.drop_column("clients", "telegram_user_id", schema="cons")
    op.drop_column("clients", "source", schema="cons")
    op.drop_index("ix_external_failures_task_id", table_name="external_failures", schema="log")
    op.drop_index("ix_external_failures_created_at", table_name="external_failures", schema="log")
    op.drop_table("external_failures", schema="log")
    op.drop_index(
        "ix_outbox_order_key_id",
        table_name="outbox",
        schema="sys",
        postgresql_where=sa.text("status IN ('pending', 'failed')"),
    )
    op.drop_index(
        "ix_outbox_due",
        table_name="outbox",
        schema="sys",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_outbox_cons_id", table_name="outbox", schema="sys")
    op.drop_table("outbox", schema="sys")
    op.drop_index("ix_etl_runs_job_started_at", table_name="etl_runs", schema="sys")
    op.drop_table("etl_runs", schema="sys")
