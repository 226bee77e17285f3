"""The durable job queue's tables (procrastinate's schema, as shipped with the locked version).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

A later procrastinate upgrade adds a revision that applies the migration files procrastinate
ships for that step (procrastinate/sql/migrations/*.sql), never by editing this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_OBJECTS = r"""
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
    procrastinate_workers CASCADE;
DO $$
DECLARE fn record;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || fn.signature || ' CASCADE';
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
    procrastinate_job_to_defer_v1 CASCADE;
"""


def upgrade() -> None:
    schema = resources.files("procrastinate.sql").joinpath("schema.sql").read_text("utf-8")
    _run_script(schema)


def downgrade() -> None:
    _run_script(PROCRASTINATE_OBJECTS)


def _run_script(script: str) -> None:
    """Send a multi-statement SQL script as it is, in the migration's transaction. The driver's
    cursor with no parameters does not read `%` as a placeholder (the script has `%` in
    RAISE messages)."""
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(script)
    finally:
        cursor.close()
