"""Telephony (issue 7, seed 003): enterprises and their PBX tokens (digests only), call events,
calls, internal numbers, what CRMs and Telegram are owed (deliveries) and the integration log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS telephony")
    op.create_table(
        "call_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_number", sa.Text(), nullable=False),
        sa.Column("unique_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("raw_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("data_source", sa.Text(), server_default=sa.text("'live'"), nullable=False),
        sa.Column("body_digest", sa.Text(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "event_type IN ('start', 'dial', 'bridge', 'hangup', 'download')",
            name=op.f("ck_call_events_event_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
        sa.UniqueConstraint("enterprise_number", "body_digest", name="uq_call_events_body"),
        schema="telephony",
    )
    op.create_index(
        "ix_call_events_call",
        "call_events",
        ["enterprise_number", "unique_id", "id"],
        unique=False,
        schema="telephony",
    )
    op.create_index(
        "ix_call_events_undispatched",
        "call_events",
        ["id"],
        unique=False,
        schema="telephony",
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_number", sa.Text(), nullable=False),
        sa.Column("unique_id", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("trunk", sa.Text(), nullable=True),
        sa.Column(
            "extensions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("answered_by", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("total_seconds", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.UUID(), nullable=True),
        sa.Column("record_path", sa.Text(), nullable=True),
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
            "result IS NULL OR result IN ('answered', 'missed', 'busy')",
            name=op.f("ck_calls_result"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("enterprise_number", "unique_id", name="uq_calls_call"),
        sa.UniqueConstraint("record_id", name=op.f("uq_calls_record_id")),
        schema="telephony",
    )
    op.create_index(
        "ix_calls_recent",
        "calls",
        ["enterprise_number", "started_at"],
        unique=False,
        schema="telephony",
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_number", sa.Text(), nullable=False),
        sa.Column("integration", sa.Text(), nullable=False),
        sa.Column("unique_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("order_key", sa.Text(), nullable=False),
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
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed', 'cancelled')",
            name=op.f("ck_deliveries_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "enterprise_number", "integration", "unique_id", "kind", name="uq_deliveries_once"
        ),
        schema="telephony",
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        schema="telephony",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_deliveries_order", "deliveries", ["order_key", "id"], unique=False, schema="telephony"
    )
    op.create_table(
        "enterprises",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_digest", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("time_zone", sa.Text(), server_default=sa.text("'Europe/Minsk'"), nullable=False),
        sa.Column(
            "integrations_config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "ami",
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
        sa.PrimaryKeyConstraint("number", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_enterprises_token_digest")),
        schema="telephony",
    )
    op.create_table(
        "integration_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_number", sa.Text(), nullable=False),
        sa.Column("integration_type", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("call_unique_id", sa.Text(), nullable=True),
        sa.Column("request_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('success', 'error')", name=op.f("ck_integration_logs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_logs")),
        schema="telephony",
    )
    op.create_index(
        "ix_integration_logs_recent",
        "integration_logs",
        ["enterprise_number", "created_at"],
        unique=False,
        schema="telephony",
    )
    op.create_table(
        "user_internal_phones",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_number", sa.Text(), nullable=False),
        sa.Column("phone_number", sa.Text(), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_internal_phones")),
        sa.UniqueConstraint("enterprise_number", "phone_number", name="uq_internal_phone"),
        schema="telephony",
    )


def downgrade() -> None:
    op.drop_table("user_internal_phones", schema="telephony")
    op.drop_index("ix_integration_logs_recent", table_name="integration_logs", schema="telephony")
    op.drop_table("integration_logs", schema="telephony")
    op.drop_table("enterprises", schema="telephony")
    op.drop_index("ix_deliveries_order", table_name="deliveries", schema="telephony")
    op.drop_index(
        "ix_deliveries_due",
        table_name="deliveries",
        schema="telephony",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("deliveries", schema="telephony")
    op.drop_index("ix_calls_recent", table_name="calls", schema="telephony")
    op.drop_table("calls", schema="telephony")
    op.drop_index(
        "ix_call_events_undispatched",
        table_name="call_events",
        schema="telephony",
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.drop_index("ix_call_events_call", table_name="call_events", schema="telephony")
    op.drop_table("call_events", schema="telephony")
    op.execute("DROP SCHEMA IF EXISTS telephony")
