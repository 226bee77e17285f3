"""Telephony: where a call's recording comes from and how fetching it went.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("record_source", sa.Text()),
    ("record_status", sa.Text()),
    ("record_type", sa.Text()),
    ("record_bytes", sa.BigInteger()),
    ("record_error", sa.Text()),
    ("record_stored_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("calls", sa.Column(name, kind, nullable=True), schema="telephony")
    op.create_check_constraint(
        op.f("ck_calls_record_status"),
        "calls",
        "record_status IS NULL OR record_status IN ('pending', 'stored', 'failed')",
        schema="telephony",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_calls_record_status"), "calls", schema="telephony", type_="check")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("calls", name, schema="telephony")
